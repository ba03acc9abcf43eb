"""Follow-up appointments in the generic REST adapter: the values its two templates
(`find_appointments`, `check_in`) are filled with and how a found item becomes an
`Appointment`. The fields they may name: kiosk.config.rest_appointments.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from kiosk.config.rest_appointments import CHECKIN_FIELDS, SEARCH_FIELDS
from kiosk.domain.appointment import Appointment
from kiosk.services.his.base import HisPatient, HisVisit
from kiosk.services.his.rest.mapping import patient_values, pick, visit_values

__all__ = ["CHECKIN_FIELDS", "SEARCH_FIELDS", "appointment_from", "checkin_values",
           "search_values"]


def search_values(patient: HisPatient, start: dt.datetime, end: dt.datetime
                  ) -> dict[str, Any]:
    return {**patient_values(patient), "window_start": start.isoformat(timespec="seconds"),
            "window_end": end.isoformat(timespec="seconds"),
            "date": start.date().isoformat()}


def checkin_values(appointment: Appointment, visit: HisVisit) -> dict[str, Any]:
    return {**visit_values(visit, appointment.patient_ref or ""),
            "appointment_ref": appointment.ref}


def appointment_from(item: Any, fields: dict[str, Any], timezone: str) -> Appointment | None:
    """One found item; None when it has no id or no readable start. A start without an
    offset is read in `timezone` (the hospital's)."""
    def field(name: str) -> Any:
        value = pick(item, str(fields.get(name, name)))
        return None if value is None or isinstance(value, dict | list) else value

    ref, start = field("ref"), field("start")
    if isinstance(ref, bool) or not isinstance(ref, str | int) or not str(ref).strip():
        return None
    try:
        when = dt.datetime.fromisoformat(str(start))
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=ZoneInfo(timezone))

    def text(name: str, cap: int) -> str | None:
        value = field(name)
        return str(value)[:cap] if value not in (None, "") else None

    return Appointment(ref=str(ref)[:64], start=when,
                       service_name=text("service_name", 120) or "",
                       department=text("department", 40) or "", room=text("room", 80) or "",
                       doctor=text("doctor", 80), order_number=text("order_number", 20),
                       patient_ref=text("patient_ref", 64), status=text("status", 20) or "")
