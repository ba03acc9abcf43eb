"""Self-service hospital lobby kiosk for Vietnamese hospitals."""

__version__ = "0.1.0"
