"""Follow-up appointments (giấy hẹn khám lại): what the kiosk knows of one, the
facility-local window "today" means, and the slip's QR. No I/O.

An appointment lives in the HIS; the kiosk only finds today's and checks one in.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

FINDABLE = ("booked", "pending")  # FHIR statuses a patient may still check in for


@dataclass(frozen=True)
class Appointment:
    ref: str  # the HIS's own id (the check-in names it)
    start: dt.datetime  # timezone-aware
    service_name: str  # "Khám Nội tiết"
    department: str  # the department code or name the queue belongs to
    room: str = ""
    doctor: str | None = None
    order_number: str | None = None  # the HIS's own queue number for it, when it gives one
    patient_ref: str | None = None  # the HIS's patient, when the search named it
    status: str = "booked"

    def to_json(self) -> dict[str, Any]:
        return {"ref": self.ref, "start": self.start.isoformat(timespec="minutes"),
                "service_name": self.service_name, "department": self.department,
                "room": self.room, "doctor": self.doctor, "order_number": self.order_number,
                "patient_ref": self.patient_ref, "status": self.status}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Appointment:
        return cls(ref=str(data["ref"]), start=dt.datetime.fromisoformat(data["start"]),
                   service_name=str(data.get("service_name") or ""),
                   department=str(data.get("department") or ""),
                   room=str(data.get("room") or ""), doctor=data.get("doctor"),
                   order_number=data.get("order_number"), patient_ref=data.get("patient_ref"),
                   status=str(data.get("status") or "booked"))

    def local_time(self, timezone: str) -> str:
        """"9:30": how a slip and the screen say the time."""
        local = self.start.astimezone(ZoneInfo(timezone))
        return f"{local.hour}:{local.minute:02d}"


def window(now: dt.datetime, timezone: str, before_h: float) -> tuple[dt.datetime, dt.datetime]:
    """Today's findable appointments: from `before_h` hours ago (a patient early or a
    little late) to the end of the facility-local day, as aware datetimes."""
    if now.tzinfo is None:
        raise ValueError("a timezone-aware time is required")
    local = now.astimezone(ZoneInfo(timezone))
    day_end = dt.datetime.combine(local.date() + dt.timedelta(days=1), dt.time(),
                                  tzinfo=local.tzinfo)
    start = max(now - dt.timedelta(hours=before_h),
                dt.datetime.combine(local.date(), dt.time(), tzinfo=local.tzinfo))
    return start, day_end


def todays(found: list[Appointment] | tuple[Appointment, ...], start: dt.datetime,
           end: dt.datetime) -> tuple[Appointment, ...]:
    """Those in the window, earliest first (a HIS that ignores the date filter is not
    trusted with it); one appointment listed twice counts once."""
    seen: dict[str, Appointment] = {}
    for a in found:
        if start <= a.start < end and a.ref not in seen:
            seen[a.ref] = a
    return tuple(sorted(seen.values(), key=lambda a: (a.start, a.ref)))


class SlipQr:
    """The hospital's appointment-slip QR: a prefix (`HEN:`) or a regular expression
    with one group (the appointment id). Ids are short and plain: never a whole
    payload (a slip may carry the patient's name)."""

    _ID = re.compile(r"[A-Za-z0-9._\-]{1,64}")

    def __init__(self, prefix: str = "", pattern: str = "") -> None:
        self.prefix = prefix
        self.pattern = re.compile(pattern) if pattern else None
        if self.pattern is not None and self.pattern.groups != 1:
            raise ValueError("the slip QR pattern needs exactly one (group): the id")

    @property
    def configured(self) -> bool:
        return bool(self.prefix or self.pattern)

    def appointment_ref(self, text: str) -> str | None:
        value: str | None = None
        if self.pattern is not None:
            m = self.pattern.fullmatch(text.strip())
            value = m.group(1) if m else None
        elif self.prefix and text.startswith(self.prefix):
            value = text[len(self.prefix):].strip()
        return value if value and self._ID.fullmatch(value) else None
