"""`kiosk demo`: the kiosk's main job on embedded defaults (simulators, SQLite)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from kiosk.cli.common import EXIT_OK


def register(sub: argparse._SubParsersAction) -> None:
    demo = sub.add_parser("demo", help="run scripted patients on the built-in demo configuration")
    demo.add_argument("--out", default="demo-output",
                      help="where tickets, screenshots and the database go")
    demo.add_argument("--headless", action="store_true",
                      help="transcript only (no window)")
    demo.add_argument("--scripted", action="store_true",
                      help="play the scripted patients through the UI even with a display "
                           "(the default without one, under Xvfb)")
    demo.set_defaults(handler=_demo)


def _demo(args: argparse.Namespace) -> int:
    from kiosk.config import demo_config
    from kiosk.demo.headless import run_demo

    out = Path(args.out).resolve()
    config = demo_config(state_dir=out / "state")
    config = _with_ticket_dir(config, out / "tickets")
    if not args.headless:
        # The touchscreen UI (kiosk.demo.ui_demo): scripted under Xvfb without a
        # display, interactive with a simulator panel (F12) with one.
        from kiosk.demo.ui_demo import run_ui_demo

        return run_ui_demo(config, out, sys.stdout, scripted=True if args.scripted else None)
    run_demo(config, out, sys.stdout)
    return EXIT_OK


def _with_ticket_dir(config, tickets: Path):  # type: ignore[no-untyped-def]
    from dataclasses import replace

    return replace(config, printer=replace(config.printer, target=str(tickets)))
