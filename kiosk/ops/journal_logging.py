"""Warnings and errors of the UI process into the systemd journal.

Under systemd the records go to journald's native socket with their priority,
logger name and SYSLOG_IDENTIFIER, so `journalctl -u kiosk-ui -p warning` finds
them; elsewhere (a developer's terminal) they go to stderr with the `<N>` syslog
prefix systemd would also understand. Identity numbers that slipped into a
message are masked the way the other services log them (`0011****2345`): CCCD
(12 digits), BHYT card codes (2 letters + 13 digits), BHXH numbers (10 digits).
"""

from __future__ import annotations

import logging
import os
import re
import socket
import sys
from pathlib import Path
from typing import TextIO

from kiosk.domain.text import mask_id

JOURNAL_SOCKET = Path("/run/systemd/journal/socket")
# Longest first, so a 15-character card code is not masked as a 10-digit number inside it.
_IDS = re.compile(r"(?<![A-Za-z0-9])(?:[A-Z]{2}\d{13}|\d{12}|\d{10})(?![A-Za-z0-9])")
_PRIORITY = {logging.CRITICAL: 2, logging.ERROR: 3, logging.WARNING: 4, logging.INFO: 6,
             logging.DEBUG: 7}


def mask_ids(text: str) -> str:
    return _IDS.sub(lambda m: mask_id(m.group(0)), text)


def priority(levelno: int) -> int:
    for level, prio in sorted(_PRIORITY.items(), reverse=True):
        if levelno >= level:
            return prio
    return 7


class JournalHandler(logging.Handler):
    """journald's native protocol over its datagram socket (no python-systemd needed)."""

    def __init__(self, identifier: str, path: Path = JOURNAL_SOCKET,
                 level: int = logging.WARNING) -> None:
        super().__init__(level)
        self.identifier = identifier
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            fields = {
                "MESSAGE": mask_ids(self.format(record)),
                "PRIORITY": str(priority(record.levelno)),
                "SYSLOG_IDENTIFIER": self.identifier,
                "LOGGER": record.name,
                "CODE_FUNC": record.funcName,
            }
            self.sock.sendto(_encode(fields), str(self.path))
        except Exception:  # a full or absent journal must never stop the UI
            self.handleError(record)

    def close(self) -> None:
        self.sock.close()
        super().close()


class SyslogPrefixHandler(logging.StreamHandler[TextIO]):
    """stderr lines with `<N>` priority prefixes (systemd reads them from a unit's
    stderr as well), for a kiosk run outside systemd."""

    def __init__(self, stream: TextIO | None = None, level: int = logging.WARNING) -> None:
        super().__init__(stream or sys.stderr)
        self.setLevel(level)

    def format(self, record: logging.LogRecord) -> str:
        return f"<{priority(record.levelno)}>{mask_ids(super().format(record))}"


def _encode(fields: dict[str, str]) -> bytes:
    out = bytearray()
    for key, value in fields.items():
        data = value.encode("utf-8", "replace")
        if b"\n" in data:  # multi-line values: name, newline, 64-bit LE length, data
            out += key.encode() + b"\n" + len(data).to_bytes(8, "little") + data + b"\n"
        else:
            out += key.encode() + b"=" + data + b"\n"
    return bytes(out)


def log_to_journal(identifier: str = "kiosk-ui", level: int = logging.WARNING) -> logging.Handler:
    """Send this process's warnings and errors to the journal (or stderr); returns the
    handler, attached to the root logger."""
    handler: logging.Handler
    if os.environ.get("JOURNAL_STREAM") or os.environ.get("INVOCATION_ID"):
        handler = JournalHandler(identifier, level=level) if JOURNAL_SOCKET.exists() \
            else SyslogPrefixHandler(level=level)
    else:
        handler = SyslogPrefixHandler(level=level)
    handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
    logging.getLogger().addHandler(handler)
    return handler
