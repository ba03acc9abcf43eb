"""systemd notification protocol (sd_notify) without extra dependencies.

Every call is a no-op when the process was not started by systemd with
`Type=notify` (no $NOTIFY_SOCKET), so the same code runs in tests and demos.
"""

from __future__ import annotations

import os
import socket


def _send(message: str) -> bool:
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):  # abstract namespace socket
        address = "\0" + address[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.connect(address)
            sock.sendall(message.encode("utf-8"))
    except OSError:
        return False  # a lost notification must never take the kiosk down
    return True


def notify_ready(status: str | None = None) -> bool:
    return _send("READY=1" + (f"\nSTATUS={status}" if status else ""))


def notify_watchdog() -> bool:
    return _send("WATCHDOG=1")


def notify_status(text: str) -> bool:
    return _send(f"STATUS={text}")


def notify_stopping() -> bool:
    return _send("STOPPING=1")


def watchdog_interval() -> float | None:
    """Seconds between pings (half of WatchdogSec), or None when no watchdog is set
    for this process."""
    usec = os.environ.get("WATCHDOG_USEC")
    pid = os.environ.get("WATCHDOG_PID")
    if not usec or (pid and pid != str(os.getpid())):
        return None
    try:
        return int(usec) / 1_000_000 / 2
    except ValueError:
        return None
