"""`kiosk metrics`: Prometheus textfile metrics (no personal data)."""

from __future__ import annotations

import argparse
from pathlib import Path

from kiosk.cli.common import (
    EXIT_OK,
    add_config_argument,
    add_json_argument,
    load_config,
    print_json,
)


def register(sub: argparse._SubParsersAction) -> None:
    m = sub.add_parser("metrics", help="write Prometheus textfile metrics for node_exporter")
    add_config_argument(m)
    m.add_argument("--out", type=Path, help="textfile path (default: node_exporter's collector)")
    m.add_argument("--stdout", action="store_true", help="print instead of writing")
    add_json_argument(m, "JSON output: {path} of the file written")
    m.set_defaults(handler=_metrics)


def _metrics(args: argparse.Namespace) -> int:
    from kiosk.ops.telemetry import DEFAULT_TEXTFILE, prometheus_text, write_textfile

    config = load_config(args)
    if args.stdout:
        print(prometheus_text(config), end="")
    else:
        path = write_textfile(config, args.out or DEFAULT_TEXTFILE)
        if args.json:
            print_json({"path": str(path)})
        else:
            print(path)
    return EXIT_OK
