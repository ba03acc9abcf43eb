"""`kiosk run`: the touchscreen kiosk on real hardware (the systemd UI unit runs this)."""

from __future__ import annotations

import argparse

from kiosk.cli.common import add_config_argument, load_config


def register(sub: argparse._SubParsersAction) -> None:
    run = sub.add_parser("run", help="start the touchscreen kiosk (real devices)")
    add_config_argument(run)
    run.add_argument("--windowed", action="store_true",
                     help="a window with a mouse cursor instead of fullscreen touch")
    run.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from kiosk.ops.journal_logging import log_to_journal

    log_to_journal("kiosk-ui")  # warnings and errors to the journal, not only the staff screen
    config = load_config(args)
    from kiosk.ui.hardening import DisplayOptions, apply

    ui = config.ui
    windowed = args.windowed or not ui.fullscreen
    apply(DisplayOptions(fullscreen=not windowed, rotation=ui.rotation, touch=not windowed),
          kivy_home=config.state_dir / "kivy")

    from kiosk.cli._devices import CameraQrSource, PcscCardSource
    from kiosk.services.wiring import build
    from kiosk.ui.app import KioskApp, UiOptions
    from kiosk.ui.devices import DeviceSource
    from kiosk.ui.staff import StaffStatus

    assembly = build(config)
    dev = config.devices
    devices: list[DeviceSource] = [PcscCardSource(),
               CameraQrSource(dev.camera, dev.camera_width, dev.camera_height, dev.camera_fps)]

    def staff_status() -> StaffStatus:
        depth = assembly.db.execute(
            "SELECT count(*) FROM outbox WHERE state = 'pending'").fetchone()[0]
        return StaffStatus(outbox_depth=int(depth))

    options = UiOptions(
        language=ui.language, facility_name=config.facility.name,
        timezone=config.facility.timezone, idle_timeout_s=ui.idle_timeout_s,
        idle_warning_s=ui.idle_warning_s, staff_pin=ui.staff_pin,
        opening_hours=ui.opening_hours,
    )
    app = KioskApp(options, assembly.ports, devices=devices, staff_status=staff_status)
    try:
        app.run()
    finally:
        assembly.close()
    return app.exit_code
