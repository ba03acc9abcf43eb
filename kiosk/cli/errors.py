"""What the entry point does with an exception no command caught: the documented
exit code and a one-line message (a JSON error object under `--json`)."""

from __future__ import annotations

import json
import sys
from typing import Any

from kiosk.cli.common import (
    EXIT_ACCESS_DENIED,
    EXIT_BAD_INPUT,
    EXIT_FAILURE,
    EXIT_INTERNAL,
    EXIT_MISCONFIGURED,
    CliError,
    error_object,
)


def _printable(text: str) -> str:
    """A lone surrogate cannot be written to a UTF-8 stream; show it escaped instead."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def classify(exc: Exception) -> tuple[int, str, list[Any]]:
    """(exit code, message, problems) for an exception that reached the entry point."""
    from kiosk.config import ConfigError
    from kiosk.domain.errors import DomainError
    from kiosk.runtime.safe_paths import UnsafePathError

    if isinstance(exc, CliError):
        return exc.exit_code, exc.message, []
    if isinstance(exc, ConfigError):
        lines = [f"{p.key}: {p.en} / {p.vi}" if p.vi != p.en else str(p) for p in exc.details]
        return EXIT_MISCONFIGURED, "\n".join(lines), [p.to_json() for p in exc.details]
    if isinstance(exc, DomainError):
        return EXIT_BAD_INPUT, str(exc), []
    if isinstance(exc, UnsafePathError):
        return EXIT_ACCESS_DENIED, str(exc), []
    if isinstance(exc, (FileNotFoundError, IsADirectoryError, NotADirectoryError,
                        PermissionError)):
        name = exc.filename if exc.filename is not None else "?"
        return (EXIT_BAD_INPUT,
                f"Không đọc/ghi được / cannot use {name}: {exc.strerror or type(exc).__name__}",
                [])
    if isinstance(exc, UnicodeError):
        return (EXIT_BAD_INPUT, "Văn bản không hợp lệ / text is not valid UTF-8 or holds a "
                f"lone surrogate ({type(exc).__name__})", [])
    if isinstance(exc, RecursionError):
        return EXIT_BAD_INPUT, "Dữ liệu lồng quá sâu / input nests too deeply", []
    if isinstance(exc, OSError):  # disk full, device gone…: the machine, not the input
        return EXIT_FAILURE, f"system error: {exc.strerror or exc}", []
    return (EXIT_INTERNAL,
            f"Lỗi nội bộ / internal error (a bug, please report it with `KIOSK_DEBUG=1` "
            f"output): {type(exc).__name__}: {exc}", [])


def report_error(message: str, exit_code: int, problems: list[Any], as_json: bool) -> None:
    """Print the failure on stderr: plain lines, or one JSON line under `--json` so
    stdout only ever holds results."""
    if as_json:
        obj = error_object(_printable(message), exit_code)
        if problems:
            obj["error"]["problems"] = json.loads(_printable(json.dumps(problems,
                                                                      ensure_ascii=False)))
        sys.stderr.write(json.dumps(obj, ensure_ascii=False) + "\n")
    else:
        sys.stderr.write(_printable(message) + "\n")
    sys.stderr.flush()
