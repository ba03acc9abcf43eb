"""`kiosk` command line.

Each subcommand group lives in its own module in this package and exposes
``register(subparsers)``; modules are discovered, so adding a command group
is adding a file. Handlers return the process exit code. Heavy imports
belong inside handlers so `kiosk --help` stays fast.

`main` is the one place where anything a handler did not catch becomes a
documented exit code and a one-line message (`kiosk.cli.errors`): no input
ends in a traceback. `KIOSK_DEBUG=1` prints the traceback of an internal error.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import pkgutil
import sys
from collections.abc import Sequence

from kiosk import __version__
from kiosk.cli.common import (
    EXIT_BAD_INPUT,
    EXIT_INTERRUPTED,
    EXIT_PIPE_CLOSED,
    CliError,
    wants_json,
)
from kiosk.cli.errors import classify, report_error

_HELPERS = {"common", "errors"}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kiosk", description="Hospital lobby self-service kiosk (CCCD, BHYT, registration).",
        epilog="exit codes: 0 ok, 1 a check or step failed, 2 bad input, 3 card access denied, "
        "4 no card/reader, 5 server or device unavailable, 6 misconfigured, 7 verification "
        "failed, 8 update rejected, 70 internal error (a bug), 130 interrupted, 141 output "
        "closed. With --json a failure is one JSON line on stderr: {\"error\": {\"kind\", "
        "\"exit_code\", \"message\"}}. See README.md, \"Exit codes\".",
    )
    parser.add_argument("--version", action="version", version=f"kiosk {__version__}")
    parser.add_argument(
        "--config",
        help="configuration file (default: $KIOSK_CONFIG or /etc/kiosk/kiosk.toml; "
        "the built-in demo configuration when neither exists)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_") or info.name in _HELPERS:
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(sub)
    return parser


def _check_argv(argv: Sequence[str]) -> None:
    """Bytes that are not UTF-8 reach Python as lone surrogates, which no file, database
    or terminal accepts later: refuse them here, naming the argument."""
    for index, arg in enumerate(argv, start=1):
        if any("\ud800" <= ch <= "\udfff" for ch in arg):
            raise CliError(f"Tham số {index} không phải văn bản UTF-8 hợp lệ / "
                           f"argument {index} is not valid UTF-8 text", EXIT_BAD_INPUT)


def _dispatch(argv: Sequence[str] | None, seen: list[argparse.Namespace]) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    _check_argv(arguments)
    parser = build_parser()
    args = parser.parse_args(arguments)
    seen.append(args)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        sys.stdout.flush()
        return EXIT_BAD_INPUT
    code: int = handler(args)
    # Flush here, inside the handler below: a reader that went away (`| head`) would
    # otherwise break the interpreter's own flush at exit, past any handler.
    sys.stdout.flush()
    return code


def _silence_stdout() -> None:
    """After a broken pipe: point stdout at /dev/null so the exit flush stays quiet."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass


def main(argv: Sequence[str] | None = None) -> int:
    seen: list[argparse.Namespace] = []
    try:
        return _dispatch(argv, seen)
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_PIPE_CLOSED
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except Exception as exc:  # the one top-level handler: see kiosk.cli.errors
        code, message, problems = classify(exc)
        if os.environ.get("KIOSK_DEBUG"):
            import traceback

            traceback.print_exc()
        with contextlib.suppress(BrokenPipeError):
            report_error(message, code, problems, wants_json(seen[0] if seen else None))
        return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
