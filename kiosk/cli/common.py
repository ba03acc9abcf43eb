"""Shared helpers for CLI modules: exit codes, JSON output, config loading.

The exit-code table below is the one in README.md ("Exit codes"); every command
uses it, and the entry point (`kiosk.cli.main`) maps anything a command did not
catch onto it, so no input ends in a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

# Exit codes shared by every subcommand (issue contracts depend on them).
EXIT_OK = 0
EXIT_FAILURE = 1  # the command ran and found a problem (doctor check failed, update error)
EXIT_BAD_INPUT = 2  # arguments, files or data given to the command are invalid
EXIT_ACCESS_DENIED = 3
EXIT_NO_CARD = 4
EXIT_UNAVAILABLE = 5  # a server, device or database the command needs did not answer
EXIT_MISCONFIGURED = 6  # the configuration (or secrets file) is invalid
EXIT_VERIFICATION_FAILED = 7
EXIT_UPDATE_REJECTED = 8
EXIT_INTERNAL = 70  # a bug in the kiosk (BSD EX_SOFTWARE): the message says what to report
EXIT_INTERRUPTED = 130  # Ctrl-C (128 + SIGINT)
EXIT_PIPE_CLOSED = 141  # the reader of our output went away, e.g. `| head` (128 + SIGPIPE)

# The `kind` of the JSON error object for each code (README's table).
EXIT_KINDS: dict[int, str] = {
    EXIT_FAILURE: "failure",
    EXIT_BAD_INPUT: "bad_input",
    EXIT_ACCESS_DENIED: "access_denied",
    EXIT_NO_CARD: "no_card",
    EXIT_UNAVAILABLE: "unavailable",
    EXIT_MISCONFIGURED: "misconfigured",
    EXIT_VERIFICATION_FAILED: "verification_failed",
    EXIT_UPDATE_REJECTED: "update_rejected",
    EXIT_INTERNAL: "internal_error",
    EXIT_INTERRUPTED: "interrupted",
}


class CliError(Exception):
    """Ends the command with a one-line message on stderr and an exit code."""

    def __init__(self, message: str, exit_code: int = EXIT_BAD_INPUT) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code


PAYLOAD_MAX_CHARS = 64 * 1024  # far above any QR, MRZ or card number


def add_payload_argument(parser: argparse.ArgumentParser, what: str) -> None:
    """A patient's data never on the command line (`ps`, shell history): a file or
    standard input (decision 0104)."""
    parser.add_argument("source", nargs="?", default="-", metavar="FILE",
                        help=f"file holding {what}, or - for standard input (the default)")


def read_payload(source: str, what: str) -> str:
    """The text of `source` (a path, or - for stdin) without its final newline."""
    try:
        if source == "-":
            text = sys.stdin.read(PAYLOAD_MAX_CHARS + 1)
        else:
            with open(source, encoding="utf-8") as fh:
                text = fh.read(PAYLOAD_MAX_CHARS + 1)
    except (FileNotFoundError, IsADirectoryError):
        # The name is not echoed: it may be a payload typed where a file was expected.
        raise CliError(f"{what}: no such file (the data itself goes on standard input, "
                       "never on the command line)") from None
    if len(text) > PAYLOAD_MAX_CHARS:
        raise CliError(f"{what}: longer than {PAYLOAD_MAX_CHARS} characters")
    return text.removesuffix("\n").removesuffix("\r")


def error_object(message: str, exit_code: int) -> dict[str, Any]:
    """The one shape of a failure under `--json` (printed as one line on stderr, so
    stdout holds only results): `{"error": {"kind", "exit_code", "message"}}`."""
    return {"error": {"kind": EXIT_KINDS.get(exit_code, "failure"), "exit_code": exit_code,
                      "message": message}}


def wants_json(args: argparse.Namespace | None) -> bool:
    if args is None:
        return False
    return bool(getattr(args, "json", False)) or getattr(args, "format", None) == "json"


def print_json(value: Any) -> None:
    json.dump(value, sys.stdout, ensure_ascii=False, indent=2, sort_keys=False)
    sys.stdout.write("\n")


def load_config(args: argparse.Namespace) -> Any:
    """Load and validate the configuration named by --config / $KIOSK_CONFIG."""
    from kiosk.config import load

    # A ConfigError goes up to the entry point: exit 6, one line per problem.
    return load(getattr(args, "config", None))


def add_config_argument(parser: argparse.ArgumentParser) -> None:
    """`--config` on a subcommand too (`kiosk config check --config F`), without
    overriding a value given before the subcommand."""
    parser.add_argument("--config", default=argparse.SUPPRESS, help="configuration file")


def add_json_argument(parser: argparse.ArgumentParser, help: str = "JSON output") -> None:
    parser.add_argument("--json", action="store_true", help=help)
