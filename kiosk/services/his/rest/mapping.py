"""The declarative field mapping of the generic REST adapter.

Templates are JSON-like values (tables, arrays, strings) in the configuration.
A string that is exactly one placeholder, `"{queue_number}"`, becomes the
value itself (a number stays a number, a missing value becomes null); other
strings are formatted (`"BN-{id_number}"`). Placeholders are the fields of
kiosk.config.rest_mapping; a misspelt one is a configuration error when the kiosk starts.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from kiosk.config.rest_mapping import placeholders
from kiosk.domain.text import is_ascii_digits
from kiosk.services.his.base import HisPatient, HisVisit

_WHOLE = re.compile(r"\{([a-z_]+)\}")


def patient_values(p: HisPatient) -> dict[str, Any]:
    dob = p.date_of_birth
    return {
        "id_number": p.id_number,
        "full_name": p.full_name,
        "date_of_birth": dob.isoformat() if isinstance(dob, dt.date) else dob,
        "birth_year": dob.year if isinstance(dob, dt.date) else dob,
        "sex": p.sex,
        "sex_code": {"Nam": 1, "Nữ": 2}.get(p.sex or "", 3),  # QĐ 130 GIOI_TINH
        "residence": p.residence,
        "bhyt_card": p.bhyt_card,
        "bhyt_valid_from": p.bhyt_valid_from.isoformat() if p.bhyt_valid_from else None,
        "bhyt_valid_to": p.bhyt_valid_to.isoformat() if p.bhyt_valid_to else None,
        "bhyt_facility": p.bhyt_facility,
    }


def visit_values(v: HisVisit, patient_ref: str) -> dict[str, Any]:
    return {
        "registration_id": v.registration_id,
        "service_code": v.service_code,
        "service_name": v.service_name,
        "department": v.department,
        "room": v.room,
        "queue_number": v.queue_number,
        "created_at": v.created_at.isoformat(timespec="seconds"),
        "created_date": v.created_at.date().isoformat(),
        "insurance_outcome": v.insurance_outcome,
        "bhyt_card": v.bhyt_card,
        "biometric": v.biometric,
        "patient_ref": patient_ref,
    }


def render(template: Any, values: dict[str, Any]) -> Any:
    if isinstance(template, str):
        whole = _WHOLE.fullmatch(template)
        if whole:
            return values.get(whole[1])
        return template.format(**{k: "" if v is None else v for k, v in values.items()})
    if isinstance(template, dict):
        return {k: render(v, values) for k, v in template.items()}
    if isinstance(template, list):
        return [render(v, values) for v in template]
    return template


def complete(template: Any, values: dict[str, Any]) -> bool:
    """Are all the template's fields known (a search by CCCD needs a CCCD)?"""
    return all(values.get(name) not in (None, "") for name in placeholders(template))


def pick(data: Any, path: str) -> Any:
    """A dotted path into a JSON answer: `data.items.0.id`; "" is the answer itself."""
    for part in filter(None, path.split(".")):
        if isinstance(data, list) and is_ascii_digits(part):
            data = data[int(part)] if int(part) < len(data) else None
        elif isinstance(data, dict):
            data = data.get(part)
        else:
            return None
    return data
