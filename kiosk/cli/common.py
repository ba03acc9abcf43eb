"""Shared helpers for CLI modules: exit codes, JSON output, config loading."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

# Exit codes shared by every subcommand (issue contracts depend on them).
EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_BAD_INPUT = 2
EXIT_ACCESS_DENIED = 3
EXIT_NO_CARD = 4
EXIT_UNAVAILABLE = 5
EXIT_MISCONFIGURED = 6
EXIT_VERIFICATION_FAILED = 7
EXIT_UPDATE_REJECTED = 8


class CliError(Exception):
    """Ends the command with a one-line message on stderr and an exit code."""

    def __init__(self, message: str, exit_code: int = EXIT_BAD_INPUT) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code


def print_json(value: Any) -> None:
    json.dump(value, sys.stdout, ensure_ascii=False, indent=2, sort_keys=False)
    sys.stdout.write("\n")


def load_config(args: argparse.Namespace) -> Any:
    """Load and validate the configuration named by --config / $KIOSK_CONFIG."""
    from kiosk.config import ConfigError, load

    try:
        return load(getattr(args, "config", None))
    except ConfigError as exc:
        raise CliError("\n".join(exc.problems), EXIT_MISCONFIGURED) from exc


def add_config_argument(parser: argparse.ArgumentParser) -> None:
    """`--config` on a subcommand too (`kiosk config check --config F`), without
    overriding a value given before the subcommand."""
    parser.add_argument("--config", default=argparse.SUPPRESS, help="configuration file")
