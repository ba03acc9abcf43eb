"""`kiosk config …`: check a configuration file, print a new kiosk's or the demo's."""

from __future__ import annotations

import argparse
import sys

from kiosk.cli.common import (
    EXIT_BAD_INPUT,
    EXIT_OK,
    CliError,
    add_config_argument,
    add_json_argument,
    print_json,
)


def register(sub: argparse._SubParsersAction) -> None:
    config = sub.add_parser("config", help="configuration")
    config_sub = config.add_subparsers(dest="config_command", metavar="ACTION", required=True)
    check = config_sub.add_parser(
        "check", help="validate the configuration and secrets (exit 6 naming each wrong key)")
    add_config_argument(check)
    check.add_argument("--production", action="store_true",
                       help="check a provisioning file exactly as `kiosk provision` does "
                       "(secrets may be in it; the demo's values are refused)")
    add_json_argument(check, "JSON output: {ok, config, demo, kiosk_id}")
    check.set_defaults(handler=_check)
    new = config_sub.add_parser(
        "new", help="print a commented provisioning file for a new kiosk (no demo values)")
    new.set_defaults(handler=_print, resource="new.toml")
    demo = config_sub.add_parser(
        "demo", help="print the built-in demo configuration (simulators: not for patients)")
    demo.set_defaults(handler=_print, resource="demo.toml")


def _check(args: argparse.Namespace) -> int:
    """An invalid configuration raises `ConfigError`: the entry point prints one line per
    problem (English / Vietnamese, naming the key) and exits 6, as every command does."""
    from kiosk.config import DEFAULT_PATH, load
    from kiosk.config.loader import chosen_path, load_provisioning

    chosen = chosen_path(getattr(args, "config", None))
    if args.production and chosen is None:
        raise CliError("--production: name the provisioning file with --config FILE",
                       EXIT_BAD_INPUT)
    # --production: a provisioning file (it may hold the secrets), as `kiosk provision`
    # reads it; otherwise what the kiosk itself loads.
    config = load_provisioning(chosen)[1] if args.production and chosen else load(chosen)
    if args.json:
        print_json({"ok": True, "config": config.source, "demo": config.demo,
                    "kiosk_id": config.kiosk_id})
        return EXIT_OK
    print("OK")
    if config.demo:
        print(f"checked: the built-in demo configuration (no --config, no $KIOSK_CONFIG and no "
              f"{DEFAULT_PATH}): simulators only, not for patients.\n"
              "Đã kiểm tra cấu hình mẫu có sẵn: chỉ dùng để thử, không dùng cho bệnh nhân.")
    else:
        print(f"checked: {config.source} (kiosk {config.kiosk_id})")
    return EXIT_OK


def _print(args: argparse.Namespace) -> int:
    from kiosk.config.loader import config_text

    sys.stdout.write(config_text(args.resource))
    return EXIT_OK
