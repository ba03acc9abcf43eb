"""`kiosk demo` with the real touchscreen UI, virtual devices and the simulators.

Without a display (or with --scripted) it starts Xvfb, plays scripted
patients through the widgets by simulated touches, saves a screenshot per
screen and the tickets under the output directory, prints the transcript
and exits 0 when every patient got through. With a display it opens the
kiosk window; F12 toggles a simulator panel (tap a card, show a QR).
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from kiosk.config import Config
from kiosk.domain.identity import Identity
from kiosk.domain.insurance import InsuranceResult
from kiosk.domain.registration import PrintResult, Registration
from kiosk.domain.text import mask_id
from kiosk.journey.effects import AccessKey
from kiosk.journey.ports import ChipChecks
from kiosk.journey.runner import Ports
from kiosk.journey.state import Step
from kiosk.services.simulators import DemoPatient

VNEID_TOKEN = "VNEID:8f3a91c2d4e5b6a7980112233445566778899aabb"


@dataclass
class Latency:
    """Simulated device and server delays (seconds), so the working screens show."""

    chip: float = 0.0
    insurance: float = 0.0
    register: float = 0.0
    printer: float = 0.0


@dataclass
class SlowPorts:
    """Wraps the simulator ports with `Latency` (runs on the worker threads)."""

    inner: Ports
    latency: Latency = field(default_factory=Latency)

    def ports(self) -> Ports:
        outer = self

        class Identity_:
            def read_chip(self, key: AccessKey,
                          on_identity: Callable[[Identity], None]) -> ChipChecks:
                time.sleep(outer.latency.chip)
                return outer.inner.identity.read_chip(key, on_identity)

        class Insurance_:
            def check(self, identity: Identity) -> InsuranceResult:
                time.sleep(outer.latency.insurance)
                return outer.inner.insurance.check(identity)

        class Registration_:
            def services(self, now: Any, date_of_birth: Any = None) -> Any:
                return outer.inner.registration.services(now, date_of_birth)

            def register(self, identity: Identity, insurance: InsuranceResult,
                         service_code: str, idempotency_key: str,
                         biometric: Any = None) -> Registration:
                time.sleep(outer.latency.register)
                return outer.inner.registration.register(identity, insurance, service_code,
                                                         idempotency_key, biometric)

        class Printer_:
            def print_ticket(self, registration: Registration) -> PrintResult:
                time.sleep(outer.latency.printer)
                return outer.inner.printer.print_ticket(registration)

        return Ports(Identity_(), Insurance_(), Registration_(), Printer_(),
                     outer.inner.statistics, outer.inner.handout, outer.inner.appointments)


ScriptFactory = Callable[..., list[Any]]  # demo_script's parameters -> actions


def run_ui_demo(config: Config, out_dir: Path, stream: TextIO, scripted: bool | None = None,
                display: tuple[int, int] = (1920, 1080), screenshots: bool = True,
                script: ScriptFactory | None = None) -> int:
    """Returns the exit code (0: every scripted patient got through)."""
    from kiosk.ui.xvfb import Xvfb

    if scripted is None:
        scripted = not os.environ.get("DISPLAY")
    xvfb = None
    if not os.environ.get("DISPLAY"):
        xvfb = Xvfb(*display)
        os.environ["DISPLAY"] = xvfb.start()
    try:
        return _run(config, out_dir, stream, scripted, display, audio=xvfb is None,
                    screenshots=screenshots, script_factory=script or demo_script)
    finally:
        if xvfb is not None:
            xvfb.stop()


def _run(config: Config, out_dir: Path, stream: TextIO, scripted: bool,
         display: tuple[int, int], audio: bool, screenshots: bool,
         script_factory: ScriptFactory) -> int:
    from kiosk.ui.hardening import DisplayOptions, apply

    apply(DisplayOptions(fullscreen=False, touch=False, width=display[0], height=display[1]),
          audio=audio and not scripted)

    from kiosk.services.wiring import build
    from kiosk.ui.app import KioskApp, UiOptions
    from kiosk.ui.devices import SimulatedReaderDevice, SimulatedScannerDevice
    from kiosk.ui.scenario import OffsetClock, Player, Report
    from kiosk.ui.staff_status import staff_status

    out_dir.mkdir(parents=True, exist_ok=True)
    assembly = build(config)
    slow = SlowPorts(assembly.ports)
    reader = SimulatedReaderDevice()
    scanner = SimulatedScannerDevice()
    clock = OffsetClock()
    ui = config.ui
    options = UiOptions(
        language=ui.language, facility_name=config.facility.name,
        timezone=config.facility.timezone, idle_timeout_s=ui.idle_timeout_s,
        idle_warning_s=ui.idle_warning_s, staff_pin=ui.staff_pin,
        opening_hours=ui.opening_hours, animations=not scripted, sound=not scripted,
    )
    printer = assembly.handles["printer"]

    chip = assembly.handles["reader"]

    def lift_card() -> None:
        chip.remove()
        reader.remove_card()

    sim_actions: list[tuple[str, str, Callable[[], None]]] = [
        ("lift", "Nhấc thẻ / lift card", lift_card),
    ]

    def place_card(key: str) -> Callable[[], None]:
        def place() -> None:
            chip.place(key)
            reader.place_card()
        return place

    def show_qr(text: str) -> Callable[[], None]:
        return lambda: scanner.show(text)

    for p in assembly.patients:
        sim_actions.append((f"card.{p.key}", f"Thẻ: {p.identity.full_name}", place_card(p.key)))
        sim_actions.append((f"qr.{p.key}", f"QR: {p.identity.full_name}",
                            show_qr(p.qr_payload)))
    sim_actions += [
        ("vneid", "Mã VNeID (sai loại)", lambda: scanner.show(VNEID_TOKEN)),
        ("unplug", "Rút đầu đọc / unplug reader", reader.unplug),
        ("paper", "Hết giấy / paper out (bật-tắt)",
         lambda: setattr(printer, "paper_out", not printer.paper_out)),
    ]
    result: dict[str, Report] = {}

    def echo(line: str) -> None:
        print(line, file=stream, flush=True)

    def started(app: KioskApp) -> None:
        if not scripted:
            return
        slow.latency = Latency(chip=1.0, insurance=0.8, register=0.6, printer=0.6)
        script = script_factory(assembly.patients, reader, scanner, printer, chip, slow, config)

        def done(report: Report) -> None:
            result["report"] = report
            report.save(out_dir / "ui-report.json")
            app.stop()

        def personal() -> list[str]:
            out = []
            for p in assembly.patients:
                out += [p.identity.full_name, p.identity.id_number or "",
                        mask_id(p.identity.id_number)]
            return out

        # Kivy's clock holds callbacks weakly: the app keeps the player alive.
        shots = out_dir / "screens" if screenshots else None
        app.player = Player(app, script, shots, clock, done, echo, personal)
        app.player.start()

    app = KioskApp(options, slow.ports(), devices=[reader, scanner],
                   staff_status=lambda: staff_status(assembly),
                   clock=clock, simulator_actions=sim_actions if not scripted else (),
                   on_started=started)
    echo(f"=== Ki-ốt tiếp đón — giao diện cảm ứng (demo): {config.facility.name} ===")
    if not scripted:
        echo("F12: bảng mô phỏng (đặt thẻ, đưa mã QR) / simulator panel")
    started_at = time.monotonic()
    try:
        app.run()
    except Exception:  # Kivy's own hook would only log it (console logging is off)
        import traceback

        traceback.print_exc()
        return 1
    finally:
        assembly.close()
    if not scripted:
        return app.exit_code
    report = result.get("report")
    if report is None:
        echo("!! the scripted demo did not finish")
        return 1
    registrations = sum(1 for p in report.patients if "ticket" in p.steps)
    echo(f"\n=== Xong sau {time.monotonic() - started_at:.1f} giây: {registrations} lượt "
         f"đăng ký; ảnh màn hình trong {out_dir / 'screens'}, phiếu trong "
         f"{config.printer.target} ===")
    problems = report.failures + [f"text does not fit: {k}" for k in report.fit_problems] + [
        f"personal data left on screen: {x}" for x in report.wipe_leaks]
    for line in problems:
        echo(f"!! {line}")
    (out_dir / "ui-transcript.txt").write_text("\n".join(report.transcript) + "\n", "utf-8")
    return 1 if report.failures or report.wipe_leaks else 0


def demo_script(patients: list[DemoPatient], reader: Any, scanner: Any, printer: Any,
                chip: Any, slow: SlowPorts, config: Config) -> list[Any]:
    from kiosk.ui.scenario import Do, Mark, Patient, Shot, Skip, Tap, Wait

    p = {x.key: x for x in patients}

    def printed(app: Any) -> bool:
        return app.session.step is Step.TICKET and app.session.print_result is not None

    def qr(key: str) -> Do:
        return Do(lambda: scanner.show(p[key].qr_payload), "đưa mã QR thẻ Căn cước trước camera")

    def digits(number: str) -> list[Any]:
        return [Tap(f"keypad.{d}") for d in number]

    def register(service: str, shots: bool = False) -> list[Any]:
        steps: list[Any] = [Wait(Step.CHOOSE_SERVICE)]
        steps += [Shot("choose-service")] if shots else []
        steps += [Tap(f"service.{service}", f"chọn {service}"), Wait(Step.CONFIRM_SERVICE)]
        steps += [Shot("confirm-service")] if shots else []
        steps += [Tap("register", "bấm “Đăng ký khám”")]
        steps += [Wait(Step.REGISTERING), Shot("registering", fit=False)] if shots else []
        steps += [Wait(until=printed)]
        return steps

    def leave(health_book: bool = False, shot_done: bool = False) -> list[Any]:
        steps: list[Any] = [
            Skip(3, "3 giây: số thứ tự ở lại trên màn hình"),
            Wait(until=lambda app: app.session.ticket_ready),
            Tap("continue", "bấm “Tiếp tục”"), Wait(Step.HEALTH_BOOK_OFFER)]
        if health_book:
            # The guide itself belongs to kiosk.ui.health_book; the patient looks at
            # its first page and walks away (a completed journey: they have a ticket).
            return steps + [
                Shot("health-book-offer"), Tap("health.yes", "bấm “Có, hướng dẫn tôi”"),
                Wait(Step.HEALTH_BOOK), Shot("health-book", fit=False),
                Skip(config.ui.idle_timeout_s + 1, "bệnh nhân cầm phiếu và đi khám"),
                Wait(Step.IDLE)]
        steps += [Tap("health.no", "bấm “Không, cảm ơn”"), Wait(Step.DONE)]
        steps += [Shot("done")] if shot_done else []
        return steps + [Skip(7, "7 giây: màn hình tự trở về đầu"), Wait(Step.IDLE)]

    def fail_next_read() -> None:
        chip.fail_next = "unreadable"

    def card(key: str) -> Callable[[], None]:
        """Put this patient's virtual CCCD on the reader (the chip is really read)."""
        def place() -> None:
            chip.place(key)
            reader.place_card()
        return place

    def lift() -> None:
        chip.remove()
        reader.remove_card()

    pin = config.ui.staff_pin
    script: list[Any] = [
        Patient("chip_insured", "Bệnh nhân 1: thẻ Căn cước gắn chip, thẻ BHYT còn hạn"),
        Wait(Step.IDLE), Shot("attract"),
        Do(card("chip_insured"), "đặt thẻ Căn cước lên đầu đọc"), Mark(),
        Wait(Step.NEED_KEY), Shot("need-key-card-on-reader"),
        qr("chip_insured"), Wait(Step.READING_CHIP), Shot("reading-chip", fit=False),
        Wait(Step.CONFIRM_IDENTITY), Shot("confirm-identity-chip"),
        Tap("confirm.yes", "bấm “Đúng, là tôi”"),
        Wait(Step.CHECKING_INSURANCE), Shot("checking-insurance", fit=False),
        Wait(Step.INSURANCE_RESULT), Shot("insurance-usable"),
        Skip(3.5, "3 giây: thẻ dùng được, tự sang bước chọn nơi khám"),
        *register("KB-NOI", shots=True), Shot("ticket-printed"),
        Do(lift, "nhấc thẻ ra"), *leave(health_book=True),

        Patient("qr_insured", "Bệnh nhân 2: tiếng Anh, mã QR trong ví VNeID, đã có thẻ BHYT mới"),
        Tap("lang", "chọn English"),
        Do(lambda: scanner.show(VNEID_TOKEN), "đưa mã xác thực VNeID (sai loại mã)"),
        Wait(until=lambda app: app.session.notice is not None), Shot("attract-notice-en"),
        qr("qr_insured"), Mark(), Wait(Step.CONFIRM_IDENTITY), Shot("confirm-identity-qr-en"),
        Tap("confirm.yes", "bấm “Yes, this is me”"),
        Wait(Step.INSURANCE_RESULT), Shot("insurance-warning-en"),
        Tap("continue", "bấm “Continue”"), *register("KB-MAT"), Shot("ticket-en"),
        *leave(shot_done=True),

        Patient("uninsured", "Bệnh nhân 3: không có thẻ BHYT, nhập 12 số định danh"),
        Tap("start", "chạm “Chạm vào đây để bắt đầu”"), Wait(Step.NEED_KEY),
        *digits(p["uninsured"].identity.id_number or ""), Shot("keypad-typed"),
        Tap("keypad.ok", "bấm “Xong”"),
        Wait(until=lambda app: app.session.key is not None), Shot("need-key-place-card"),
        Do(card("uninsured"), "đặt thẻ lên đầu đọc"), Mark(),
        Wait(Step.CONFIRM_IDENTITY), Tap("confirm.yes", "bấm “Đúng, là tôi”"),
        Wait(Step.INSURANCE_RESULT), Shot("insurance-not-usable"),
        Tap("continue", "bấm “Tiếp tục”"), Wait(Step.CHOOSE_SERVICE),
        Tap("service.KB-RHM", "chọn KB-RHM"), Wait(Step.CONFIRM_SERVICE),
        Shot("confirm-service-fee"), Tap("register", "bấm “Đăng ký khám”"),
        Wait(until=printed), Do(lift, "nhấc thẻ ra"), *leave(),

        Patient("gateway_down", "Bệnh nhân 4: cổng BHXH không trả lời — vẫn đăng ký"),
        qr("gateway_down"), Mark(), Wait(Step.CONFIRM_IDENTITY),
        Tap("confirm.yes", "bấm “Đúng, là tôi”"),
        Wait(Step.INSURANCE_RESULT), Shot("insurance-unavailable"),
        Tap("continue", "bấm “Tiếp tục”"), *register("KB-NOI"), *leave(),

        Patient("no_paper", "Bệnh nhân 5: máy in hết giấy"),
        Do(lambda: setattr(printer, "paper_out", True), "(máy in hết giấy)"),
        qr("no_paper"), Mark(), Wait(Step.CONFIRM_IDENTITY),
        Tap("confirm.yes", "bấm “Đúng, là tôi”"), Wait(Step.INSURANCE_RESULT),
        Skip(3.5), *register("KB-NGOAI"), Shot("ticket-paper-out"),
        Do(lambda: setattr(printer, "paper_out", False), "(nhân viên thay giấy)"), *leave(),

        Patient("card_unreadable", "Bệnh nhân 6: chip không đọc được"),
        Tap("start", "chạm màn hình"), Wait(Step.NEED_KEY),
        *digits(p["chip_insured"].identity.id_number or ""), Tap("keypad.ok"),
        Do(fail_next_read), Do(card("chip_insured"), "đặt thẻ lên đầu đọc"),
        Wait(Step.ERROR), Shot("error-card-unreadable"),
        Tap("error.type", "bấm “Nhập 12 số”"), Wait(Step.NEED_KEY),
        Do(lift, "nhấc thẻ ra"), Tap("cancel", "bấm “Hủy, làm lại”"),
        Wait(Step.IDLE),

        Patient("walk_away", "Bệnh nhân 7: bỏ đi giữa chừng — phiên tự xóa"),
        qr("chip_insured"), Wait(Step.CONFIRM_IDENTITY),
        Skip(config.ui.idle_timeout_s - config.ui.idle_warning_s + 1),
        Wait(until=lambda app: app.session.idle_warning), Shot("idle-warning"),
        Skip(config.ui.idle_warning_s + 1), Wait(Step.IDLE),

        Patient("follow_up", "Bệnh nhân 8: có giấy hẹn khám lại hôm nay — vào khám theo lịch hẹn"),
        Tap("start", "chạm màn hình"), Wait(Step.NEED_KEY),
        *digits(p["follow_up"].identity.id_number or ""), Tap("keypad.ok", "bấm “Xong”"),
        Do(card("follow_up"), "đặt thẻ lên đầu đọc"), Mark(),
        Wait(Step.CONFIRM_IDENTITY), Tap("confirm.yes", "bấm “Đúng, là tôi”"),
        Wait(Step.APPOINTMENT, timeout=20), Shot("appointment"),
        Tap("appointment.check_in", "bấm “Vào khám theo lịch hẹn”"),
        Wait(until=printed), Shot("ticket-appointment"), Do(lift, "nhấc thẻ ra"), *leave(),
    ]
    if pin:
        script += [
            Patient("staff", "Nhân viên: mở màn hình nhân viên bằng mã PIN"),
            *[Tap("staff") for _ in range(5)],
            *[Tap(f"keypad.{d}") for d in pin], Tap("keypad.ok"),
            Wait(until=lambda app: app.staff_layer.parent is not None), Skip(0.5),
            Wait(until=lambda app: "…" not in app.staff_layer.devices.text),
            Shot("staff"), Tap("staff.close"),
        ]
    return script


def main() -> int:  # python -m kiosk.demo.ui_demo OUT  (tests run it in a subprocess)
    from dataclasses import replace

    from kiosk.config import demo_config

    out = Path(sys.argv[1] if len(sys.argv) > 1 else "demo-output").resolve()
    config = demo_config(state_dir=out / "state")
    config = replace(config, printer=replace(config.printer, target=str(out / "tickets")))
    return run_ui_demo(config, out, sys.stdout, scripted=True)


if __name__ == "__main__":
    _ = threading  # workers are started by the app
    sys.exit(main())
