"""FHIR R4 HIS adapter: conditional creates keep every write idempotent.

`[his.settings]`: url, timeout_s, verify_tls, allow_http, token (bearer),
visit_resource ("Encounter" or "Appointment"), [systems] (identifier systems).

Patient: `POST /Patient` with `If-None-Exist: identifier=<cccd system>|<CCCD>`
(the BHYT identifier when there is no CCCD); Coverage likewise keyed on the
BHYT card; the visit keyed on the registration id. A server answers 201
(created) or 200 (already there): a retry after a lost answer finds the first
write instead of making a second.

A BHYT outcome learnt after the visit was sent is a read-modify-write of that
visit (`GET`, then `PUT` with `If-Match` on its version), so a status the
hospital's staff changed meanwhile is never overwritten.

Follow-up appointments: a chained search `Appointment?patient.identifier=…`
for today's `booked`/`pending` ones; check-in is the same versioned update
(`status = arrived`) plus an `arrived` Encounter with `Encounter.appointment`
(decision 0150).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any

from kiosk.domain.appointment import FINDABLE, Appointment
from kiosk.services.his.base import HisError, HisPatient, HisService, HisVisit
from kiosk.services.his.fhir import resources as r
from kiosk.services.his.http import Answer, JsonHttp, check_base_url

FHIR_JSON = "application/fhir+json"
_EDIT_RACES = 3
_LOCATION = re.compile(r"(?:^|/)(?P<type>[A-Za-z]+)/(?P<id>[A-Za-z0-9\-.]{1,64})"
                       r"(?:/_history/[^/]+)?/?$")


class FhirAdapter:
    name = "fhir"

    def __init__(self, settings: dict[str, Any]) -> None:
        url = settings.get("url")
        if not isinstance(url, str):
            raise ValueError("his.settings.url: required (the FHIR server base URL)")
        headers = {"Accept": FHIR_JSON}
        if settings.get("token"):
            headers["Authorization"] = f"Bearer {settings['token']}"
        self.http = JsonHttp(check_base_url(url, allow_http=bool(settings.get("allow_http"))),
                             timeout_s=float(settings.get("timeout_s", 10.0)),
                             verify_tls=settings.get("verify_tls", True), headers=headers,
                             proxy=settings.get("proxy"))
        self.systems = r.Systems.from_settings(settings)
        self.visit_resource = str(settings.get("visit_resource", "Encounter"))
        if self.visit_resource not in ("Encounter", "Appointment"):
            raise ValueError("his.settings.visit_resource: must be Encounter or Appointment")

    def close(self) -> None:
        self.http.close()

    def find_or_create_patient(self, patient: HisPatient) -> str:
        key = r.primary_identifier(patient, self.systems)
        if key is None:
            raise HisError("patient has neither a CCCD nor a BHYT number: register at the "
                           "counter", transient=False)
        ref = self._create(r.patient(patient, self.systems), r.identifier_query(*key))
        cover = r.coverage(patient, ref, self.systems)
        if cover is not None:
            self._create(cover, r.identifier_query(self.systems.bhyt, patient.bhyt_card or ""))
        return ref

    def create_visit(self, patient_ref: str, visit: HisVisit) -> str:
        build = r.encounter if self.visit_resource == "Encounter" else r.appointment
        resource = build(visit, patient_ref, self.systems)
        return self._create(resource, r.identifier_query(self.systems.registration,
                                                         visit.registration_id))

    def update_insurance(self, visit_ref: str, visit: HisVisit) -> str:
        self._edit(self.visit_resource, visit_ref, lambda current: r.with_insurance_outcome(
            current, visit.insurance_outcome, self.systems))
        return visit_ref

    def find_appointments(self, patient: HisPatient, start: dt.datetime, end: dt.datetime
                          ) -> list[Appointment]:
        """`GET /Appointment?patient.identifier=…&date=ge…&date=lt…&status=booked,pending`
        (a chained search: one round trip, no Patient read first)."""
        key = r.primary_identifier(patient, self.systems)
        if key is None:
            return []
        params = {"patient.identifier": f"{key[0]}|{key[1]}",
                  "date": [f"ge{start.isoformat(timespec='seconds')}",
                           f"lt{end.isoformat(timespec='seconds')}"],
                  "status": ",".join(FINDABLE), "_count": "20"}
        bundle = self.http.request("GET", "/Appointment", params=params).body
        found = []
        for res in _entries(bundle):
            if res.get("resourceType") != "Appointment" or res.get("status") not in FINDABLE:
                continue
            try:
                appointment = r.appointment_from(res, self.systems)
            except (AttributeError, TypeError, KeyError, IndexError):
                continue  # one malformed resource does not hide the others
            if appointment is not None:
                found.append(appointment)
        return found

    def check_in(self, appointment: Appointment, visit: HisVisit) -> str:
        """`status = arrived` on the Appointment (versioned update), then the visit
        Encounter referencing it (conditional create on the registration id)."""
        def arrive(current: dict[str, Any]) -> dict[str, Any]:
            status = current.get("status")
            if status in ("arrived", "checked-in", "fulfilled"):
                return current  # ours, answered but lost; or staff were quicker
            if status not in FINDABLE:
                raise HisError(f"appointment is {str(status)[:20]}: check in at the counter",
                               transient=False)
            return r.arrived(current)

        current = self._edit("Appointment", appointment.ref, arrive)
        patient_ref = appointment.patient_ref or _patient_of(current)
        if patient_ref is None:
            raise HisError("the appointment names no patient", transient=False)
        resource = r.checked_in_encounter(visit, appointment, patient_ref, self.systems)
        return self._create(resource, r.identifier_query(self.systems.registration,
                                                         visit.registration_id))

    def _edit(self, kind: str, rid: str, change: Callable[[dict[str, Any]], dict[str, Any]]
              ) -> dict[str, Any]:
        """Read-modify-write with `If-Match` on the version read: a change made by staff
        meanwhile (412) is read again, never overwritten. Returns the resource as left."""
        path = f"/{kind}/{rid}"
        for _ in range(_EDIT_RACES):
            current = self.http.request("GET", path).body
            if not isinstance(current, dict) or current.get("resourceType") != kind:
                raise HisError(f"GET {path}: the answer is not a {kind}", transient=True)
            updated = change(current)
            if updated == current:
                return current  # nothing to do (e.g. a retry after our own lost answer)
            version = (current.get("meta") or {}).get("versionId")
            headers = {"If-Match": f'W/"{version}"'} if version else {}
            try:
                self.http.request("PUT", path, body=updated, content_type=FHIR_JSON,
                                  headers=headers)
                return updated
            except HisError as exc:
                if exc.status != 412:  # 412: edited since our GET; read again
                    raise
        raise HisError(f"PUT {path}: the resource kept changing under us", transient=True)

    def catalogue(self) -> list[HisService]:
        try:
            bundle = self.http.request("GET", "/HealthcareService",
                                       params={"active": "true"}).body
        except HisError as exc:
            if not exc.transient:  # the server does not offer it: configuration rules
                return []
            raise
        services = []
        for res in _entries(bundle):
            try:
                codings = [c for t in res.get("type", []) for c in t.get("coding", [])]
                code = codings[0].get("code") if codings else res.get("id")
                name = res.get("name")
                if not code or not name:
                    continue
                location = (res.get("location") or [{}])[0].get("display", "")
                services.append(HisService(str(code), str(name), str(location),
                                           str(res.get("providedBy", {}).get("display", ""))))
            except (AttributeError, TypeError, KeyError, IndexError):
                continue  # one malformed resource does not hide the others
        return services

    def _create(self, resource: dict[str, Any], if_none_exist: str) -> str:
        kind = resource["resourceType"]
        answer = self.http.request("POST", f"/{kind}", body=resource, content_type=FHIR_JSON,
                                   headers={"If-None-Exist": if_none_exist,
                                            "Prefer": "return=representation"})
        return _id_of(answer, kind)


def _entries(bundle: Any) -> list[dict[str, Any]]:
    """The resources of a searchset Bundle (anything malformed left out)."""
    entries = bundle.get("entry") if isinstance(bundle, dict) else None
    resources = [e.get("resource") for e in entries if isinstance(e, dict)] \
        if isinstance(entries, list) else []
    return [res for res in resources if isinstance(res, dict)]


def _patient_of(appointment: dict[str, Any]) -> str | None:
    for p in appointment.get("participant", []):
        ref = str(((p or {}).get("actor") or {}).get("reference") or "") \
            if isinstance(p, dict) else ""
        if ref.startswith("Patient/") and len(ref) > 8:
            return ref[8:]
    return None


def _id_of(answer: Answer, kind: str) -> str:
    body = answer.body
    if isinstance(body, dict) and body.get("resourceType") == kind and body.get("id"):
        return str(body["id"])
    location = answer.headers.get("Location") or answer.headers.get("Content-Location") or ""
    m = _LOCATION.search(location)
    if m and m["type"] == kind:
        return m["id"]
    raise HisError(f"POST /{kind}: HTTP {answer.status} without the {kind} id",
                   transient=True)
