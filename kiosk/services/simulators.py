"""Simulated adapters for the demo and tests, clearly named as simulators.

They stand in for hardware and servers that cannot exist here; each follows
the contract of the port it implements. Real adapters replace them in
`kiosk.services.wiring` as they land.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from zoneinfo import ZoneInfo

from kiosk.assets import asset_path
from kiosk.domain.identity import Identity
from kiosk.domain.insurance import InsuranceCard, InsuranceResult
from kiosk.domain.registration import PrintResult, Registration, ServiceOption
from kiosk.domain.text import mask_name
from kiosk.journey.effects import AccessKey
from kiosk.journey.events import ChipFailure
from kiosk.journey.ports import ChipReadError


@dataclass(frozen=True)
class DemoPatient:
    key: str
    identity: Identity
    insurance_case: str  # a BHXH result code, or "down"
    qr_payload: str  # what the CCCD's front QR (or VNeID wallet) shows


def load_demo_patients(path: Path | None = None) -> list[DemoPatient]:
    data = json.loads((path or asset_path("simulator", "demo_patients.json")).read_text("utf-8"))
    patients = []
    for raw in data["patients"]:
        dob = dt.date.fromisoformat(raw["date_of_birth"])
        issue = dt.date.fromisoformat(raw["issue_date"])
        identity = Identity(
            full_name=raw["full_name"], date_of_birth=dob, sex=raw["sex"], source="chip",
            verification="chip_verified", id_number=raw["id_number"],
            old_id_number=raw["old_id_number"] or None, residence=raw["residence"],
            issue_date=issue, bhyt_card=raw["bhyt_card"], nationality=raw["nationality"],
            ethnicity=raw["ethnicity"],
        )
        qr = "|".join([
            raw["id_number"], raw["old_id_number"], raw["full_name"], dob.strftime("%d%m%Y"),
            raw["sex"], raw["residence"], issue.strftime("%d%m%Y"),
        ])
        patients.append(DemoPatient(raw["key"], identity, raw["insurance_case"], qr))
    return patients


class SimulatedChipReader:
    """A reader with virtual CCCDs: opens the card whose CAN matches the key."""

    def __init__(self, patients: list[DemoPatient]) -> None:
        self.cards = {p.identity.id_number[-6:]: p for p in patients if p.identity.id_number}
        self.fail_next: ChipFailure | None = None

    def read_chip(
        self, key: AccessKey, on_photo: Callable[[bytes], None] | None = None
    ) -> Identity:
        if self.fail_next is not None:
            reason, self.fail_next = self.fail_next, None
            raise ChipReadError(reason, "simulated failure")
        patient = self.cards.get(key.can)
        if patient is None:
            raise ChipReadError("access_denied", "no virtual card answers this CAN")
        # A chip read knows the card, not the insurance number.
        return replace(patient.identity, bhyt_card=None)


class SimulatedInsurance:
    """BHXH outcomes by the patient's scripted case (minimal stand-in)."""

    def __init__(self, patients: list[DemoPatient], now: Callable[[], dt.datetime]) -> None:
        self.by_key = {}
        for p in patients:
            for key in (p.identity.id_number, p.identity.bhyt_card):
                if key:
                    self.by_key[key] = p
        self.now = now

    def check(self, identity: Identity) -> InsuranceResult:
        patient = self.by_key.get(identity.insurance_key or "")
        if patient is None or patient.insurance_case == "down":
            return InsuranceResult.not_checked(identity.insurance_key, "simulated outage",
                                               self.now())
        case = patient.insurance_case
        outcome = {"000": "usable", "004": "warning"}.get(case, "not_usable")
        card = InsuranceCard(card_number=patient.identity.bhyt_card,
                             full_name=patient.identity.full_name) if case != "050" else None
        vi = {"usable": "Thẻ BHYT còn hạn, dùng được.",
              "warning": "Thẻ BHYT dùng được; bạn đã có thẻ mới.",
              "not_usable": "Không tìm thấy thẻ BHYT. Bạn vẫn khám được theo dịch vụ."}[outcome]
        en = {"usable": "Your health insurance card is valid.",
              "warning": "Your card is valid; a new card has been issued.",
              "not_usable": "No insurance card found. You can still be seen as a paying "
                            "patient."}[outcome]
        return InsuranceResult(outcome, case, vi, en, f"simulated {case}", card,  # type: ignore[arg-type]
                               self.now(), "gateway", identity.insurance_key)


class InMemoryRegistration:
    """Numbers per department, kept in memory (minimal stand-in)."""

    def __init__(self, services: list[ServiceOption], timezone: str) -> None:
        self._services = {s.code: s for s in services}
        self._counters: dict[str, int] = {}
        self._done: dict[str, Registration] = {}
        self._lock = threading.Lock()
        self.zone = ZoneInfo(timezone)

    def services(self, now: dt.datetime) -> tuple[ServiceOption, ...]:
        return tuple(self._services.values())

    def register(self, identity: Identity, insurance: InsuranceResult, service_code: str,
                 idempotency_key: str) -> Registration:
        with self._lock:
            if idempotency_key in self._done:
                return self._done[idempotency_key]
            service = self._services[service_code]
            seq = self._counters.get(service.department, 0) + 1
            self._counters[service.department] = seq
            reg = Registration(
                id=f"sim-{len(self._done) + 1}", queue_number=f"{service.code[-1]}-{seq:03d}",
                service_code=service.code, service_name=service.name,
                service_name_en=service.name_en, room=service.room,
                created_at=dt.datetime.now(self.zone), masked_name=mask_name(identity.full_name),
                insurance_line_vi=insurance.message_vi, insurance_line_en=insurance.message_en,
                code=idempotency_key[:8],
            )
            self._done[idempotency_key] = reg
            return reg


class SimulatedPrinter:
    """Writes the ticket as JSON into a directory; can run out of paper."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.paper_out = False

    def print_ticket(self, registration: Registration) -> PrintResult:
        if self.paper_out:
            return PrintResult(False, problem="paper_out", detail="simulated paper out")
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / f"ticket-{registration.queue_number}.json"
        path.write_text(json.dumps(registration.to_json(), ensure_ascii=False, indent=2))
        return PrintResult(True, path=str(path))

