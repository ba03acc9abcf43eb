"""FHIR R4 resources for a kiosk registration: Patient, Coverage, Encounter/Appointment.

Plain dicts (JSON as sent); the tests validate every one with `fhir.resources`.
Identifier systems default to the VN Core community guide (DOMAIN.md §9) and
are configurable, since each hospital's FHIR server may use its own.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from kiosk.domain.appointment import Appointment
from kiosk.services.his.base import HisPatient, HisVisit

_FHIR_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
V2_0203 = "http://terminology.hl7.org/CodeSystem/v2-0203"


@dataclass(frozen=True)
class Systems:
    cccd: str = "http://fhir.hl7.org.vn/core/sid/cccd"
    bhyt: str = "http://fhir.hl7.org.vn/core/sid/bhyt"
    registration: str = "urn:vn-kiosk:registration-id"
    queue_number: str = "urn:vn-kiosk:queue-number"
    service: str = "urn:vn-kiosk:service"
    insurance_extension: str = "urn:vn-kiosk:bhyt-check-outcome"
    # The HIS's own queue (order) number on an Appointment, when it gives one.
    appointment_order: str = "urn:vn-kiosk:appointment-order"
    # The face check at the kiosk (issue 29): valueCode verified / not_verified / declined
    # / skipped_child / no_photo. Absent when the kiosk does not check faces.
    biometric_extension: str = "urn:vn-kiosk:biometric-check"
    payor: str = "Bảo hiểm xã hội Việt Nam"

    @classmethod
    def from_settings(cls, settings: dict[str, Any]) -> Systems:
        given = settings.get("systems", {})
        fields = {k: str(v) for k, v in given.items() if k in cls.__dataclass_fields__}
        return cls(**fields)


def identifier_query(system: str, value: str) -> str:
    """The `If-None-Exist` / search value for one identifier."""
    return f"identifier={system}|{value}"


def primary_identifier(p: HisPatient, s: Systems) -> tuple[str, str] | None:
    if p.id_number:
        return s.cccd, p.id_number
    if p.bhyt_card:
        return s.bhyt, p.bhyt_card
    return None


def patient(p: HisPatient, s: Systems) -> dict[str, Any]:
    identifiers: list[dict[str, Any]] = []
    if p.id_number:
        identifiers.append({
            "use": "official", "system": s.cccd, "value": p.id_number,
            "type": {"coding": [{"system": V2_0203, "code": "NI"}], "text": "Căn cước"}})
    if p.bhyt_card:
        identifiers.append({"use": "secondary", "system": s.bhyt, "value": p.bhyt_card})
    words = p.full_name.split()
    resource: dict[str, Any] = {
        "resourceType": "Patient",
        "identifier": identifiers,
        # Vietnamese order: family name first, given names after.
        "name": [{"use": "official", "text": p.full_name, "family": words[0],
                  "given": words[1:]} if len(words) > 1 else
                 {"use": "official", "text": p.full_name}],
        "gender": {"Nam": "male", "Nữ": "female"}.get(p.sex or "", "unknown"),
    }
    if isinstance(p.date_of_birth, dt.date):
        resource["birthDate"] = p.date_of_birth.isoformat()
    elif isinstance(p.date_of_birth, int):
        resource["birthDate"] = f"{p.date_of_birth:04d}"
    if p.residence:
        resource["address"] = [{"use": "home", "text": p.residence, "country": "VN"}]
    return resource


def coverage(p: HisPatient, patient_ref: str, s: Systems) -> dict[str, Any] | None:
    if not p.bhyt_card:
        return None
    resource: dict[str, Any] = {
        "resourceType": "Coverage",
        "status": "active",
        "identifier": [{"system": s.bhyt, "value": p.bhyt_card}],
        "subscriberId": p.bhyt_card,
        "beneficiary": {"reference": f"Patient/{patient_ref}"},
        "payor": [{"display": s.payor}],
    }
    period = {k: d.isoformat() for k, d in (("start", p.bhyt_valid_from),
                                             ("end", p.bhyt_valid_to)) if d}
    if period:
        resource["period"] = period
    return resource


def _visit_identifiers(v: HisVisit, s: Systems) -> list[dict[str, Any]]:
    return [
        {"use": "official", "system": s.registration, "value": v.registration_id},
        {"use": "usual", "system": s.queue_number, "value": v.queue_number,
         "type": {"text": "Số thứ tự"}, "period": {"start": v.created_at.date().isoformat()}},
    ]


def _service_type(v: HisVisit, s: Systems) -> dict[str, Any]:
    return {"coding": [{"system": s.service, "code": v.service_code, "display": v.service_name}],
            "text": v.service_name}


def with_insurance_outcome(visit: dict[str, Any], outcome: str, s: Systems) -> dict[str, Any]:
    """The HIS's own copy of a visit with our check-outcome extension set to `outcome`;
    everything else (status, period, staff edits, other extensions) kept as it is."""
    others = [e for e in visit.get("extension", [])
              if not (isinstance(e, dict) and e.get("url") == s.insurance_extension)]
    mine = {"url": s.insurance_extension, "valueCode": outcome}
    return {**visit, "extension": [*others, mine]}


def _extensions(v: HisVisit, s: Systems) -> list[dict[str, Any]]:
    found = [{"url": s.insurance_extension, "valueCode": v.insurance_outcome}]
    if v.biometric is not None:
        found.append({"url": s.biometric_extension, "valueCode": v.biometric})
    return found


def encounter(v: HisVisit, patient_ref: str, s: Systems) -> dict[str, Any]:
    return {
        "resourceType": "Encounter",
        "extension": _extensions(v, s),
        "identifier": _visit_identifiers(v, s),
        "status": "planned",
        "class": {"system": ACT_CODE, "code": "AMB", "display": "ambulatory"},
        "serviceType": _service_type(v, s),
        "subject": {"reference": f"Patient/{patient_ref}"},
        "period": {"start": v.created_at.isoformat(timespec="seconds")},
        "location": [{"location": {"display": v.room}, "status": "planned"}],
        "serviceProvider": {"display": v.department},
    }


def checked_in_encounter(v: HisVisit, appointment: Appointment, patient_ref: str,
                         s: Systems) -> dict[str, Any]:
    """The visit a checked-in appointment opens: `arrived`, pointing at the appointment
    (`Encounter.appointment`), keyed on the kiosk's registration id like any visit."""
    resource = encounter(v, patient_ref, s)
    resource["status"] = "arrived"
    resource["appointment"] = [{"reference": f"Appointment/{appointment.ref}"}]
    resource["location"] = [{"location": {"display": v.room}, "status": "active"}]
    return resource


def arrived(current: dict[str, Any]) -> dict[str, Any]:
    """The HIS's own Appointment with `status = arrived`, everything else kept."""
    return {**current, "status": "arrived"}


def _display(ref: Any) -> str:
    return str(ref.get("display") or "") if isinstance(ref, dict) else ""


def _text(concepts: Any) -> tuple[str, str]:
    """(code, text) of the first CodeableConcept in a list."""
    first = concepts[0] if isinstance(concepts, list) and concepts else {}
    if not isinstance(first, dict):
        return "", ""
    codings = [c for c in first.get("coding", []) if isinstance(c, dict)]
    code = str(codings[0].get("code") or "") if codings else ""
    text = first.get("text") or (codings[0].get("display") if codings else "") or code
    return code, str(text)


def appointment_from(res: dict[str, Any], s: Systems) -> Appointment | None:
    """The kiosk's view of a HIS Appointment; None when it lacks an id or a start."""
    rid, start = res.get("id"), res.get("start")
    if not isinstance(rid, str) or not _FHIR_ID.fullmatch(rid) or not isinstance(start, str):
        return None  # the id goes into a URL path: only FHIR's id characters
    try:
        when = dt.datetime.fromisoformat(start)
    except ValueError:
        return None
    if when.tzinfo is None:
        return None  # an instant without an offset means nothing reliable
    room = doctor = patient_ref = None
    for p in res.get("participant", []):
        ref = (p.get("actor") or {}) if isinstance(p, dict) else {}
        kind = str(ref.get("reference") or "").partition("/")[0]
        if kind == "Patient":
            patient_ref = str(ref["reference"]).partition("/")[2] or None
        elif kind == "Location":
            room = _display(ref)
        elif kind in ("Practitioner", "PractitionerRole"):
            doctor = _display(ref) or None
    service_code, service = _text(res.get("serviceType"))
    specialty_code, specialty = _text(res.get("specialty"))
    order = next((str(i.get("value")) for i in res.get("identifier", [])
                  if isinstance(i, dict) and i.get("system") == s.appointment_order
                  and i.get("value")), None)
    return Appointment(ref=rid, start=when, service_name=(service or specialty)[:120],
                       department=(specialty_code or service_code)[:40],
                       room=(room or "")[:80], doctor=doctor[:80] if doctor else None,
                       order_number=order[:20] if order else None,
                       patient_ref=patient_ref if patient_ref and _FHIR_ID.fullmatch(
                           patient_ref) else None,
                       status=str(res.get("status") or ""))


def appointment(v: HisVisit, patient_ref: str, s: Systems) -> dict[str, Any]:
    return {
        "resourceType": "Appointment",
        "extension": _extensions(v, s),
        "identifier": _visit_identifiers(v, s),
        "status": "booked",
        "serviceType": [_service_type(v, s)],
        "start": v.created_at.isoformat(timespec="seconds"),
        "comment": f"{v.queue_number} · {v.room}",
        "participant": [{"actor": {"reference": f"Patient/{patient_ref}"},
                         "status": "accepted"}],
    }
