"""`kiosk run`: the touchscreen kiosk on its configured devices (the systemd UI unit
runs this). `--script FILE` plays a patient script through the same composition
with simulated touches: a technician's acceptance test on a new kiosk with a test
card, and the test suite's end-to-end run of the production wiring.

Exit codes: 0 stopped normally / script completed; 1 the script did not complete;
2 bad script file; 6 bad configuration; 75 restart asked from the staff screen.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from kiosk.cli.common import (
    EXIT_BAD_INPUT,
    EXIT_FAILURE,
    EXIT_OK,
    EXIT_UNAVAILABLE,
    CliError,
    add_config_argument,
    load_config,
    print_json,
)

SCRIPT_DISPLAY = (1920, 1080)
NEED_KEY_HINT = ("likely cause: no card was read on need_key: no reader (kiosk doctor --only "
                 "reader), no card on it, or a number (--card) that is not the card's / thẻ "
                 "không đọc được: kiểm tra đầu đọc, thẻ và số thẻ")


def register(sub: argparse._SubParsersAction) -> None:
    run = sub.add_parser("run", help="start the touchscreen kiosk (configured devices)")
    add_config_argument(run)
    run.add_argument("--windowed", action="store_true",
                     help="a window with a mouse cursor instead of fullscreen touch")
    run.add_argument("--script", metavar="FILE",
                     help="play this patient script (JSON list of actions) and exit; "
                          "starts Xvfb when there is no display")
    run.add_argument("--card", metavar="NUMBER",
                     help="with --script: the test card's 12-digit number; its last six "
                          "(the chip's CAN) are typed where the script says "
                          "{\"type\": \"{card}\"}")
    run.add_argument("--json", action="store_true",
                     help="with --script: print the outcome as JSON")
    run.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from kiosk.ops.journal_logging import log_to_journal

    log_to_journal("kiosk-ui")  # warnings and errors to the journal, not only the staff screen
    config = load_config(args)
    script = None
    if args.script:
        from kiosk.ui.actions import ScriptError, load_script

        try:
            script = load_script(Path(args.script), card=args.card)
        except ScriptError as exc:
            raise CliError(f"Kịch bản không hợp lệ / Invalid script: {exc}",
                           EXIT_BAD_INPUT) from None
    if script is None:
        return _serve(config, windowed=args.windowed)
    from kiosk.ui.xvfb import Xvfb, XvfbError

    xvfb = None
    if not os.environ.get("DISPLAY"):
        xvfb = Xvfb(*SCRIPT_DISPLAY)
        try:
            os.environ["DISPLAY"] = xvfb.start()
        except XvfbError as exc:
            raise CliError(f"Không mở được màn hình ảo / cannot start a virtual display: "
                           f"{exc}", EXIT_UNAVAILABLE) from None
    try:
        outcome: dict[str, Any] = {}
        code = _serve(config, windowed=True, script=script, outcome=outcome)
    finally:
        if xvfb is not None:
            xvfb.stop()
    if not outcome:
        outcome = {"ok": False, "steps": [], "registration": None,
                   "failures": ["the kiosk stopped before the script finished"]}
    if any("(on need_key)" in failure for failure in outcome.get("failures", [])):
        outcome["failures"].append(NEED_KEY_HINT)
    if args.json:
        print_json(outcome)
    else:
        for row in outcome["steps"]:
            print(f"{row['at']:8.2f}s  {row['step']}")
        for failure in outcome.get("failures", []):
            print(f"!! {failure}", file=sys.stderr)
        reg = outcome["registration"]
        if reg:
            print(f"registered: {reg['queue_number']} ({reg['registration_id']})")
    if code != EXIT_OK:
        return code
    if not outcome["ok"] and args.json:
        # The --json contract (decision 0085): one error object line on stderr.
        from kiosk.cli.errors import report_error

        report_error("; ".join(outcome.get("failures", [])) or "the script did not complete",
                     EXIT_FAILURE, [], as_json=True)
    return EXIT_OK if outcome["ok"] else EXIT_FAILURE


def _serve(config: Any, windowed: bool, script: list[Any] | None = None,
           outcome: dict[str, Any] | None = None) -> int:
    from kiosk.ui.hardening import DisplayOptions, apply

    ui = config.ui
    windowed = windowed or not ui.fullscreen
    if script is not None:
        width, height = SCRIPT_DISPLAY
        apply(DisplayOptions(fullscreen=False, touch=False, width=width, height=height),
              kivy_home=config.state_dir / "kivy", audio=False)
    else:
        apply(DisplayOptions(fullscreen=not windowed, rotation=ui.rotation, touch=not windowed),
              kivy_home=config.state_dir / "kivy")

    from kiosk.cli._devices import device_sources, wire_face_check
    from kiosk.journey.face import FaceStepSettings
    from kiosk.ops.pin_attempts import STATE_NAME as PIN_STATE_NAME
    from kiosk.services.wiring import build
    from kiosk.ui.app import KioskApp, UiOptions
    from kiosk.ui.staff_status import staff_status

    assembly = build(config)
    devices = device_sources(assembly)
    wire_face_check(assembly, devices)
    bio = config.biometric

    options = UiOptions(
        language=ui.language, facility_name=config.facility.name,
        timezone=config.facility.timezone, idle_timeout_s=ui.idle_timeout_s,
        idle_warning_s=ui.idle_warning_s, staff_pin=ui.staff_pin,
        opening_hours=ui.opening_hours, sound=script is None,
        pin_state=config.state_dir / PIN_STATE_NAME,
        face=FaceStepSettings(bio.face_match, bio.skip_under_age, bio.attempts,
                          bio.on_no_match),
    )
    started = None if script is None or outcome is None else _player(script, outcome)
    app = KioskApp(options, assembly.ports, devices=devices,
                   staff_status=lambda: staff_status(assembly), on_started=started)
    try:
        app.run()
    finally:
        assembly.close()
    return int(app.exit_code)


def _player(script: list[Any], outcome: dict[str, Any]) -> Any:
    """The start-up hook that plays `script` and fills `outcome` when it ends."""
    def start(app: Any) -> None:
        from kiosk.ui.scenario import OffsetClock, Player, Report

        def done(report: Report) -> None:
            outcome.update({
                "ok": not report.failures,
                "steps": [{"step": step, "at": at} for step, at in report.timeline],
                "registration": report.registrations[-1] if report.registrations else None,
                "identity_marks": report.identity_marks,
            })
            if report.failures:
                outcome["failures"] = report.failures
            app.stop()

        app.player = Player(app, script, None, OffsetClock(), done)
        app.player.start()

    return start
