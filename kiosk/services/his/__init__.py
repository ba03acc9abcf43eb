"""HIS adapters: one folder per vendor behind the `HisAdapter` interface in `base`."""
