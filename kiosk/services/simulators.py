"""Simulated adapters for the demo and tests, clearly named as simulators.

They stand in for hardware and servers that cannot exist here; each follows
the contract of the port it implements. Real adapters replace them in
`kiosk.services.wiring` as they land.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from drivers.emrtd.errors import CardRemovedError, NoCardError, NoReaderError
from drivers.emrtd.passive import TrustStore
from drivers.emrtd.transport import CallableTransport, Transport
from drivers.virtual.cccd import CardOptions, VirtualCccd, build_card_image
from drivers.virtual.cccd import Identity as CardHolder
from drivers.virtual.cccd_pki import generate as generate_pki
from kiosk.assets import asset_path
from kiosk.domain.identity import Identity
from kiosk.journey.events import ChipFailure
from kiosk.journey.ports import ChipReadError


@dataclass(frozen=True)
class DemoPatient:
    key: str
    identity: Identity
    insurance_case: str  # a BHXH result code, or "down"
    qr_payload: str  # what the CCCD's front QR (or VNeID wallet) shows
    card_json: dict[str, Any]  # the chip's content (`kiosk card simulate` identity keys)


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
        patients.append(DemoPatient(raw["key"], identity, raw["insurance_case"], qr, raw))
    return patients


class VirtualCardReader:
    """A reader slot holding at most one virtual CCCD (drivers.virtual), spoken to
    in-process with the real ICAO 9303 protocol: PACE/BAC, secure messaging,
    passive and active authentication against a generated test CSCA."""

    def __init__(self, patients: list[DemoPatient]) -> None:
        self.pki = generate_pki("TEST CSCA Viet Nam (demo)")
        self.trust_store = TrustStore(anchors=[self.pki.csca_cert])
        self._cards = {p.key: p.card_json for p in patients}
        self._built: dict[str, VirtualCccd] = {}
        self.present: VirtualCccd | None = None
        self.unplugged = False
        self.fail_next: ChipFailure | None = None  # the next read fails this way (demo/tests)

    def place(self, patient_key: str) -> None:
        if patient_key not in self._built:
            holder = CardHolder.from_json(self._cards[patient_key])
            self._built[patient_key] = VirtualCccd(
                holder, image=build_card_image(holder, CardOptions(), self.pki))
        self.present = self._built[patient_key]
        self.present.reset()

    def remove(self) -> None:
        self.present = None

    def open_transport(self) -> Transport:
        failure, self.fail_next = self.fail_next, None
        if failure is not None:
            raise ChipReadError(failure, "simulated failure")
        if self.unplugged:
            raise NoReaderError("virtual reader unplugged")
        card = self.present
        if card is None:
            raise NoCardError("no card on the virtual reader")

        def transmit(apdu: bytes) -> bytes:
            if self.present is not card:
                raise CardRemovedError("card lifted from the virtual reader")
            return card.process(apdu)

        return CallableTransport(transmit, name="virtual reader")
