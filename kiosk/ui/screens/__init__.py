"""Built-in screens, one per journey step (importing registers them)."""

from kiosk.ui.screens import errors, face, finish, identity, insurance, services, start

__all__ = ["errors", "face", "finish", "identity", "insurance", "services", "start"]
