"""Virtual devices (CCCD chip, camera, printer) for the demo and tests."""
