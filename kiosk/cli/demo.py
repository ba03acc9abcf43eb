"""`kiosk demo`: the kiosk's main job on embedded defaults (simulators, SQLite)."""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from kiosk.cli.common import EXIT_BAD_INPUT, EXIT_OK, CliError

# Marks a state folder this command made, so that only such a folder is ever removed.
DEMO_MARK = ".made-by-kiosk-demo"
DEFAULT_OUT = "demo-output"  # the demo's own folder (older runs made it without the mark)


def register(sub: argparse._SubParsersAction) -> None:
    demo = sub.add_parser("demo", help="run scripted patients on the built-in demo configuration")
    demo.add_argument("--out", default=DEFAULT_OUT,
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
    _fresh_state(out / "state", ours=args.out == DEFAULT_OUT)
    config = demo_config(state_dir=out / "state")
    config = _with_ticket_dir(config, out / "tickets")
    if not args.headless:
        # The touchscreen UI (kiosk.demo.ui_demo): scripted under Xvfb without a
        # display, interactive with a simulator panel (F12) with one.
        from kiosk.demo.ui_demo import run_ui_demo

        return run_ui_demo(config, out, sys.stdout, scripted=True if args.scripted else None)
    run_demo(config, out, sys.stdout)
    return EXIT_OK


def _fresh_state(state: Path, ours: bool) -> None:
    """Each demo is a fresh morning: the scripted patients a run earlier today registered
    already hold their numbers (one number per patient, service and day) and would print
    nothing. Only a folder an earlier `kiosk demo` made (`ours`: the default one) is
    removed."""
    if state.exists():
        if not (ours or (state / DEMO_MARK).is_file()):
            raise CliError(f"{state} exists and was not made by `kiosk demo`: choose another "
                           "--out (nothing was removed)", EXIT_BAD_INPUT)
        shutil.rmtree(state)
    state.mkdir(parents=True)
    (state / DEMO_MARK).write_text("made by `kiosk demo`; its next run starts afresh\n",
                                   "utf-8")


def _with_ticket_dir(config, tickets: Path):  # type: ignore[no-untyped-def]
    from dataclasses import replace

    return replace(config, printer=replace(config.printer, target=str(tickets)))
