"""Whether a patient is at the kiosk, told through systemd rather than a file.

The UI announces "serving a patient" / "idle" as its unit's STATUS= (a datagram on
state change: no disk I/O on the UI thread); the updater reads it back with
`systemctl show` so an update never restarts the UI under a patient's hands.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable

from kiosk.runtime import sdnotify

UI_UNIT = "kiosk-ui.service"
IDLE_STATUS = "idle: waiting for a patient"
BUSY_STATUS = "serving a patient"

Runner = Callable[[list[str]], str]


def announce(busy: bool) -> bool:
    return sdnotify.notify_status(BUSY_STATUS if busy else IDLE_STATUS)


def _systemctl(cmd: list[str]) -> str:
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=10, check=False)
    return proc.stdout if proc.returncode == 0 else ""


def ui_serving_patient(unit: str = UI_UNIT, run: Runner = _systemctl) -> bool:
    """True while the UI says it is serving a patient. A UI that is stopped, not yet
    started or never said anything counts as idle: nobody can be using it."""
    try:
        text = run(["systemctl", "show", unit, "--property=StatusText", "--value"])
    except (OSError, subprocess.TimeoutExpired):
        return False
    return text.strip().startswith(BUSY_STATUS)
