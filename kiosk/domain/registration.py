"""What a finished registration looks like to the journey, the ticket and the HIS."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Literal

from kiosk.domain.ages import AgeRange
from kiosk.domain.appointment import Appointment

SyncState = Literal["pending", "synced", "failed"]


@dataclass(frozen=True)
class ServiceOption:
    code: str
    name: str
    name_en: str
    room: str
    department: str
    fee: int
    icon: str | None
    open: bool
    ages: AgeRange | None = None  # who may register here (None: anyone)
    room_en: str = ""

    def room_in(self, lang: str) -> str:
        return self.room_en if lang == "en" and self.room_en else self.room


@dataclass(frozen=True)
class Registration:
    id: str
    queue_number: str
    service_code: str
    service_name: str
    service_name_en: str
    room: str
    created_at: dt.datetime  # facility local time
    masked_name: str
    insurance_line_vi: str
    insurance_line_en: str
    code: str  # short registration code printed as the ticket's QR
    sync_state: SyncState = "pending"
    room_en: str = ""
    appointment: Appointment | None = None  # a follow-up checked in (its time, doctor)

    def room_in(self, lang: str) -> str:
        return self.room_en if lang == "en" and self.room_en else self.room

    def to_json(self) -> dict[str, Any]:
        extra = {"appointment": self.appointment.to_json()} if self.appointment else {}
        return {**extra,
            "registration_id": self.id,
            "queue_number": self.queue_number,
            "service": self.service_code,
            "service_name": self.service_name,
            "room": self.room,
            "created_at": self.created_at.isoformat(timespec="seconds"),
            "code": self.code,
            "sync_state": self.sync_state,
        }


@dataclass(frozen=True)
class PrintResult:
    printed: bool
    path: str | None = None  # a file printer's output
    problem: Literal["paper_out", "offline", "error"] | None = None
    detail: str = ""
