"""The machine's CA certificates, not the venv's copy of certifi's.

`requests` in a venv verifies servers against the bundle of the `certifi` wheel: a
hospital CA installed the Debian way (`/usr/local/share/ca-certificates/…` then
`update-ca-certificates`) is not in it, and it only changes with a kiosk release. Every
outbound client (HIS adapters, BHXH gateway, DDI) verifies against Debian's bundle
instead, which the package's `ca-certificates` dependency keeps; a CA file named in the
configuration is used as named, and `verify_tls = false` stays off.
"""

from __future__ import annotations

from pathlib import Path

SYSTEM_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")  # update-ca-certificates writes it


def tls_verify(verify: bool | str = True) -> bool | str:
    """What `requests`' `verify` gets: True becomes the system bundle where it exists."""
    if verify is True and SYSTEM_BUNDLE.is_file():
        return str(SYSTEM_BUNDLE)
    return verify
