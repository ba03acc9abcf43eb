"""FHIR R4 resources for a kiosk registration: Patient, Coverage, Encounter/Appointment.

Plain dicts (JSON as sent); the tests validate every one with `fhir.resources`.
Identifier systems default to the VN Core community guide (DOMAIN.md §9) and
are configurable, since each hospital's FHIR server may use its own.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from kiosk.services.his.base import HisPatient, HisVisit

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
