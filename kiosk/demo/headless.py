"""Scripted patients through the real journey with simulated devices and services.

A simulated clock drives timeouts so the whole demo runs in seconds. Each
registration leaves its ticket (from the configured printer) and a JSON
record in the output directory.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from kiosk.config import Config
from kiosk.demo.transcript import describe
from kiosk.domain.qr_payload import parse_qr
from kiosk.domain.text import mask_id
from kiosk.journey import Journey, JourneySettings, Step
from kiosk.journey import events as ev
from kiosk.journey.runner import Runner
from kiosk.services.simulators import DemoPatient
from kiosk.services.wiring import Assembly, build

Action = tuple[str, Callable[[], None]]


@dataclass
class DemoResult:
    registrations: list[dict[str, object]]
    transcript: list[str]


class _Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def run_demo(config: Config, out_dir: Path, stream: TextIO) -> DemoResult:
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "registrations").mkdir(exist_ok=True)
    assembly = build(config)
    try:
        return _Demo(assembly, out_dir, stream).play()
    finally:
        assembly.close()


class _Demo:
    def __init__(self, assembly: Assembly, out_dir: Path, stream: TextIO) -> None:
        self.assembly = assembly
        self.out_dir = out_dir
        self.stream = stream
        self.clock = _Clock()
        ui = assembly.config.ui
        self.journey = Journey(JourneySettings(
            idle_timeout_s=ui.idle_timeout_s, idle_warning_s=ui.idle_warning_s,
            find_appointments=assembly.ports.appointments is not None))
        self.runner = Runner(self.journey, assembly.ports, clock=self.clock,
                             on_change=self._changed)
        self.lines: list[str] = []
        self.registrations: list[dict[str, object]] = []
        self._last = ""
        self.patients = {p.key: p for p in assembly.patients}

    # -- output ---------------------------------------------------------------
    def say(self, line: str) -> None:
        self.lines.append(line)
        print(line, file=self.stream)

    def _changed(self, journey: Journey) -> None:
        line = describe(journey.session)
        if line != self._last:
            self._last = line
            self.say(f"    [màn hình] {line}")
        s = journey.session
        if s.step is Step.TICKET and s.print_result is not None and s.registration:
            self._record(s.registration.id)

    def _record(self, registration_id: str) -> None:
        if any(r["registration_id"] == registration_id for r in self.registrations):
            return
        s = self.journey.session
        assert s.registration and s.identity and s.insurance and s.print_result
        record = {
            **s.registration.to_json(),
            "patient": {
                "full_name": s.identity.full_name,
                "id_number": mask_id(s.identity.id_number),
                "source": s.identity.source,
                "verification": s.identity.verification,
            },
            "insurance": s.insurance.to_json(),
            "printed": s.print_result.printed,
            "ticket": s.print_result.path,
        }
        self.registrations.append(record)
        path = self.out_dir / "registrations" / f"{s.registration.id}.json"
        path.write_text(json.dumps(record, ensure_ascii=False, indent=2), encoding="utf-8")

    # -- actions --------------------------------------------------------------
    def act(self, what: str, event: ev.Event, seconds: float = 2.0) -> None:
        self.clock.t += seconds
        self.say(f"  [bệnh nhân] {what}")
        self.runner.dispatch(event)

    def wait(self, seconds: float, step: float = 1.0) -> None:
        self.say(f"  [thời gian] {seconds:.0f} giây trôi qua")
        end = self.clock.t + seconds
        while self.clock.t < end:
            self.clock.t += step
            self.runner.dispatch(ev.Tick())

    def qr(self, patient: DemoPatient) -> ev.QrScanned:
        return ev.QrScanned(parse_qr(patient.qr_payload))

    def finish_ticket(self, health_book: bool) -> None:
        self.wait(3)  # the number stays on screen before "Tiếp tục" appears
        self.act("bấm “Tiếp tục”", ev.Continue())
        if health_book:
            self.act("bấm “Có, hướng dẫn tôi”", ev.HealthBookStarted())
            self.act("làm theo hướng dẫn và bấm “Tôi đã kích hoạt”",
                     ev.HealthBookFinished(completed=True), seconds=30)
        else:
            self.act("bấm “Bỏ qua”", ev.HealthBookSkipped())
        self.wait(7)

    def register(self, service: str) -> None:
        self.act(f"chọn {service}", ev.ServiceChosen(service))
        self.act("bấm “Đăng ký”", ev.RegistrationConfirmed())

    def _sync_his(self) -> None:
        """What the sync daemon does next: one pass into the configured HIS."""
        from kiosk.services import outbox
        from kiosk.services.his import build_adapter
        from kiosk.services.sync import SyncDaemon

        config = self.assembly.config
        try:
            adapter = build_adapter(config)
        except Exception as exc:  # a misconfigured HIS must not spoil the demo
            self.say(f"\n── Gửi sang HIS: không kết nối được ({type(exc).__name__})")
            return
        try:
            report = SyncDaemon(self.assembly.db, config, adapter, recheck=False,
                                purge=False).drain()
        finally:
            close = getattr(adapter, "close", None)
            if callable(close):
                close()
        waiting = outbox.counts(self.assembly.db)["pending"]
        self.say(f"\n── Gửi sang HIS ({adapter.name}): {report.sent} lượt đăng ký đã gửi, "
                 f"{waiting} đang chờ gửi lại")

    def play(self) -> DemoResult:
        printer = self.assembly.handles["printer"]
        reader = self.assembly.handles["reader"]
        p = self.patients
        self.say("=== Ki-ốt tiếp đón (demo): "
                 f"{self.assembly.config.facility.name} — thiết bị và máy chủ mô phỏng ===")

        self.say("\n── Bệnh nhân 1: thẻ Căn cước gắn chip, thẻ BHYT còn hạn")
        self.runner.dispatch(ev.Tick())
        reader.place("chip_insured")
        self.act("đặt thẻ Căn cước lên đầu đọc", ev.CardPlaced())
        self.act("camera đọc mã QR mặt trước thẻ", self.qr(p["chip_insured"]), seconds=1)
        self.act("bấm “Đúng, là tôi”", ev.IdentityConfirmed())
        self.wait(3)
        self.register("KB-NOI")
        reader.remove()
        self.act("nhấc thẻ ra", ev.CardRemoved(), seconds=1)
        self.finish_ticket(health_book=True)

        self.say("\n── Bệnh nhân 2: mã QR Căn cước trong ví VNeID, đã có thẻ BHYT mới")
        self.act("đưa mã xác thực VNeID (sai loại mã)",
                 ev.QrScanned(parse_qr("VNEID:8f3a91c2d4e5b6a7980112233445566778899aabb")))
        self.act("mở Ví giấy tờ, đưa mã QR thẻ Căn cước", self.qr(p["qr_insured"]))
        self.act("bấm “Đúng, là tôi”", ev.IdentityConfirmed())
        self.act("bấm “Tiếp tục”", ev.Continue(), seconds=4)
        self.register("KB-MAT")
        self.finish_ticket(health_book=False)

        self.say("\n── Bệnh nhân 3: không có thẻ BHYT (khám dịch vụ), nhập số định danh")
        self.act("chạm màn hình", ev.Touched())
        reader.place("uninsured")
        self.act("đặt thẻ lên đầu đọc", ev.CardPlaced())
        self.act("nhập 12 số định danh",
                 ev.IdNumberTyped(p["uninsured"].identity.id_number or ""), seconds=15)
        self.act("bấm “Đúng, là tôi”", ev.IdentityConfirmed())
        self.act("bấm “Tiếp tục”", ev.Continue(), seconds=5)
        self.register("KB-RHM")
        reader.remove()
        self.act("nhấc thẻ ra", ev.CardRemoved(), seconds=1)
        self.finish_ticket(health_book=False)

        self.say("\n── Bệnh nhân 4: cổng BHXH không trả lời — vẫn đăng ký, kiểm tra lại sau")
        self.act("đưa mã QR thẻ Căn cước", self.qr(p["gateway_down"]))
        self.act("bấm “Đúng, là tôi”", ev.IdentityConfirmed())
        self.act("bấm “Tiếp tục”", ev.Continue(), seconds=4)
        self.register("KB-NOI")
        self.finish_ticket(health_book=False)

        self.say("\n── Bệnh nhân 5: máy in hết giấy")
        printer.paper_out = True
        self.act("đưa mã QR thẻ Căn cước", self.qr(p["no_paper"]))
        self.act("bấm “Đúng, là tôi”", ev.IdentityConfirmed())
        self.wait(3)
        self.register("KB-NGOAI")
        printer.paper_out = False
        self.finish_ticket(health_book=False)

        self.say("\n── Bệnh nhân 6: có giấy hẹn khám lại hôm nay — vào khám theo lịch hẹn")
        reader.place("follow_up")
        self.act("đặt thẻ Căn cước lên đầu đọc", ev.CardPlaced())
        self.act("nhập 6 số CAN (12 số định danh)",
                 ev.IdNumberTyped(p["follow_up"].identity.id_number or ""), seconds=10)
        self.act("bấm “Đúng, là tôi”", ev.IdentityConfirmed())
        self.wait(3)
        self.act("bấm “Vào khám theo lịch hẹn”", ev.AppointmentChosen())
        reader.remove()
        self.act("nhấc thẻ ra", ev.CardRemoved(), seconds=1)
        self.finish_ticket(health_book=False)

        self.say("\n── Bệnh nhân 7: bỏ đi giữa chừng — phiên tự xóa")
        self.act("đưa mã QR thẻ Căn cước", self.qr(p["chip_insured"]))
        self.wait(self.assembly.config.ui.idle_timeout_s + 1)

        self._sync_his()
        self.say(f"\n=== Xong: {len(self.registrations)} lượt đăng ký; phiếu và hồ sơ JSON "
                 f"trong {self.out_dir} ===")
        return DemoResult(self.registrations, self.lines)
