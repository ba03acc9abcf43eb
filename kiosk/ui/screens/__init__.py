"""Built-in screens, one per journey step (importing registers them)."""

from kiosk.ui.screens import (
    appointment,
    errors,
    face,
    finish,
    identity,
    insurance,
    services,
    start,
)

__all__ = ["appointment", "errors", "face", "finish", "identity", "insurance", "services",
           "start"]
