"""Built-in screens, one per journey step (importing registers them)."""

from kiosk.ui.screens import errors, finish, identity, insurance, services, start

__all__ = ["errors", "finish", "identity", "insurance", "services", "start"]
