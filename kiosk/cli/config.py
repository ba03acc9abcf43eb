"""`kiosk config …`: check a configuration file, print the demo one."""

from __future__ import annotations

import argparse
import sys

from kiosk.cli.common import EXIT_OK, add_config_argument, add_json_argument, print_json


def register(sub: argparse._SubParsersAction) -> None:
    config = sub.add_parser("config", help="configuration")
    config_sub = config.add_subparsers(dest="config_command", metavar="ACTION", required=True)
    check = config_sub.add_parser(
        "check", help="validate the configuration and secrets (exit 6 naming each wrong key)")
    add_config_argument(check)
    add_json_argument(check, "JSON output: {ok, config, demo, kiosk_id}")
    check.set_defaults(handler=_check)
    demo = config_sub.add_parser("demo", help="print the built-in demo configuration")
    demo.set_defaults(handler=_demo)


def _check(args: argparse.Namespace) -> int:
    """An invalid configuration raises `ConfigError`: the entry point prints one line per
    problem (English / Vietnamese, naming the key) and exits 6, as every command does."""
    from kiosk.config import DEFAULT_PATH, load

    config = load(getattr(args, "config", None))
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


def _demo(args: argparse.Namespace) -> int:
    from kiosk.config.loader import demo_config_text

    sys.stdout.write(demo_config_text())
    return EXIT_OK
