"""`kiosk config …`: check a configuration file, print the demo one."""

from __future__ import annotations

import argparse
import sys

from kiosk.cli.common import EXIT_BAD_INPUT, EXIT_OK, add_config_argument


def register(sub: argparse._SubParsersAction) -> None:
    config = sub.add_parser("config", help="configuration")
    config_sub = config.add_subparsers(dest="config_command", metavar="ACTION", required=True)
    check = config_sub.add_parser("check", help="validate the configuration and secrets")
    add_config_argument(check)
    check.set_defaults(handler=_check)
    demo = config_sub.add_parser("demo", help="print the built-in demo configuration")
    demo.set_defaults(handler=_demo)


def _check(args: argparse.Namespace) -> int:
    from kiosk.config import ConfigError, load

    try:
        load(args.config)
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return EXIT_BAD_INPUT
    print("OK")
    return EXIT_OK


def _demo(args: argparse.Namespace) -> int:
    from kiosk.config.loader import demo_config_text

    sys.stdout.write(demo_config_text())
    return EXIT_OK
