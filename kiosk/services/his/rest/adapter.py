"""Generic REST/JSON HIS adapter for vendor APIs of the token + patients + bookings kind.

Configured entirely by `[his.settings]` (see `docs/his-rest.md` for an example):

    url, timeout_s, verify_tls, allow_http; password, token, client_secret, api_key
                      (secrets file only)
    [auth]            path, body ("{password}" etc. filled from the secrets above),
                      token (dotted path), header, prefix
    [[find_patient]]  method, path, params, body, results (dotted path to a list), id
    [create_patient]  method, path, body, id (dotted path in the answer)
    [create_visit]    method, path, body, id
    [update_insurance] method (PATCH), path, body: optional; a BHYT outcome learnt
                      after the visit was sent (`{visit_ref}` is create_visit's id)
    [catalogue]       path, results, fields = {code, name, room, department, fee}
    [[find_appointments]] method, path, params, body, results, fields = {ref, start,
                      service_name, department, room, doctor, order_number, patient_ref,
                      status}: today's follow-up appointments (optional)
    [check_in]        method, path, body, id: check one in (`{appointment_ref}`)

Idempotency comes from the vendor: `create_visit` must carry the registration
id (e.g. `ma_dang_ky = "{registration_id}"`) in a field the HIS deduplicates
on. A create answered 409 is retried after searching again.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from typing import Any

from kiosk.config.rest_mapping import (
    PATIENT_FIELDS,
    SECRET_FIELDS,
    UPDATE_FIELDS,
    VISIT_FIELDS,
    MappingError,
    check,
)
from kiosk.domain.appointment import Appointment
from kiosk.services.his.base import (
    NOT_RECORDED,
    HisError,
    HisPatient,
    HisService,
    HisUnavailable,
    HisVisit,
)
from kiosk.services.his.http import JsonHttp, check_base_url
from kiosk.services.his.rest import appointments
from kiosk.services.his.rest.mapping import (
    complete,
    patient_values,
    pick,
    render,
    visit_values,
)


class RestAdapter:
    name = "rest"

    def __init__(self, settings: dict[str, Any]) -> None:
        self.settings = settings
        url = settings.get("url")
        if not isinstance(url, str):
            raise MappingError("his.settings.url: required (the HIS API base URL)")
        self.http = JsonHttp(
            check_base_url(url, allow_http=bool(settings.get("allow_http", False))),
            timeout_s=float(settings.get("timeout_s", 10.0)),
            verify_tls=settings.get("verify_tls", True), proxy=settings.get("proxy"))
        self.auth = _table(settings, "auth", required=False)
        self.finds = _tables(settings, "find_patient")
        self.create_patient_spec = _table(settings, "create_patient")
        self.create_visit_spec = _table(settings, "create_visit")
        self.update_insurance_spec = _table(settings, "update_insurance", required=False)
        self.catalogue_spec = _table(settings, "catalogue", required=False)
        self.appointment_finds = _tables(settings, "find_appointments")
        self.check_in_spec = _table(settings, "check_in", required=bool(self.appointment_finds))
        self.timezone = str(settings.get("timezone", "Asia/Ho_Chi_Minh"))
        for i, spec in enumerate(self.appointment_finds):
            check(spec, appointments.SEARCH_FIELDS, f"his.settings.find_appointments[{i}]")
        check(self.check_in_spec, appointments.CHECKIN_FIELDS, "his.settings.check_in")
        for i, spec in enumerate(self.finds):
            check(spec, PATIENT_FIELDS, f"his.settings.find_patient[{i}]")
        check(self.create_patient_spec, PATIENT_FIELDS, "his.settings.create_patient")
        check(self.create_visit_spec, VISIT_FIELDS, "his.settings.create_visit")
        check(self.update_insurance_spec, UPDATE_FIELDS, "his.settings.update_insurance")
        self._token: str | None = None
        self._lock = threading.Lock()

    def close(self) -> None:
        self.http.close()

    def warm(self) -> None:
        """Fetch the token now, ahead of the first lookup that must fit its budget."""
        self._auth_headers()

    # -- HisAdapter -----------------------------------------------------------------
    def find_or_create_patient(self, patient: HisPatient) -> str:
        values = patient_values(patient)
        found = self._find(values)
        if found:
            return found
        spec = self.create_patient_spec
        try:
            answer = self._call(spec, values, default_method="POST")
        except HisError as exc:
            if "HTTP 409" not in str(exc):
                raise
            found = self._find(values)  # created meanwhile (our own lost answer, or a peer)
            if found:
                return found
            raise
        return _ref(pick(answer, str(spec.get("id", "id"))), "create_patient")

    def create_visit(self, patient_ref: str, visit: HisVisit) -> str:
        spec = self.create_visit_spec
        answer = self._call(spec, visit_values(visit, patient_ref), default_method="POST")
        return _ref(pick(answer, str(spec.get("id", "id"))), "create_visit")

    def update_insurance(self, visit_ref: str, visit: HisVisit) -> str:
        spec = self.update_insurance_spec
        if not spec:
            return NOT_RECORDED
        values = {**visit_values(visit, ""), "visit_ref": visit_ref}
        del values["patient_ref"]
        self._call(spec, values, default_method="PATCH")
        return visit_ref

    def catalogue(self) -> list[HisService]:
        spec = self.catalogue_spec
        if not spec:
            return []
        items = pick(self._call(spec, {}, default_method="GET"), str(spec.get("results", "")))
        fields = spec.get("fields", {})
        services = []
        for item in items if isinstance(items, list) else []:
            def field(name: str, item: Any = item) -> Any:
                return pick(item, str(fields.get(name, name)))
            if field("code") is None or field("name") is None:
                continue
            fee = field("fee")
            services.append(HisService(str(field("code")), str(field("name")),
                                       str(field("room") or ""), str(field("department") or ""),
                                       int(fee) if isinstance(fee, int | float) else None))
        return services

    def find_appointments(self, patient: HisPatient, start: dt.datetime, end: dt.datetime
                          ) -> list[Appointment]:
        values = appointments.search_values(patient, start, end)
        for spec, results in self._searches(self.appointment_finds, values):
            fields = spec.get("fields", {})
            found = [appointments.appointment_from(item, fields if isinstance(fields, dict)
                                                   else {}, self.timezone)
                     for item in results[:20]]
            return [a for a in found if a is not None]
        return []

    def check_in(self, appointment: Appointment, visit: HisVisit) -> str:
        spec = self.check_in_spec
        if not spec:
            raise HisError("his.settings.check_in is not configured", transient=False)
        answer = self._call(spec, appointments.checkin_values(appointment, visit),
                            default_method="POST")
        return _ref(pick(answer, str(spec.get("id", "id"))), "check_in")

    # -- plumbing -------------------------------------------------------------------
    def _searches(self, specs: list[dict[str, Any]], values: dict[str, Any]
                  ) -> Iterator[tuple[dict[str, Any], list[Any]]]:
        """Each search whose fields are all known (a search by CCCD needs a CCCD), with
        its non-empty results, in the configured order."""
        for spec in specs:
            if not complete({k: spec.get(k) for k in ("path", "params", "body")}, values):
                continue
            results = pick(self._call(spec, values, default_method="GET"),
                           str(spec.get("results", "")))
            if isinstance(results, dict):
                results = [results]
            if isinstance(results, list) and results:
                yield spec, results

    def _find(self, values: dict[str, Any]) -> str | None:
        for spec, results in self._searches(self.finds, values):
            return _ref(pick(results[0], str(spec.get("id", "id"))), "find_patient")
        return None

    def _call(self, spec: dict[str, Any], values: dict[str, Any], *,
              default_method: str) -> Any:
        method = str(spec.get("method", default_method)).upper()
        path = render(str(spec.get("path", "")), values)
        params = render(spec.get("params"), values) if spec.get("params") else None
        if params:
            params = {k: v for k, v in params.items() if v is not None}
        body = render(spec["body"], values) if "body" in spec else None
        for attempt in (1, 2):
            headers = self._auth_headers()
            try:
                return self.http.request(method, path, params=params, body=body,
                                         headers=headers).body
            except HisError as exc:
                # An expired token: log in again once, then let the error stand.
                if attempt == 1 and self.auth and "HTTP 401" in str(exc):
                    with self._lock:
                        self._token = None
                    continue
                raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _auth_headers(self) -> dict[str, str]:
        if not self.auth:
            return {}
        with self._lock:
            if self._token is None:
                try:
                    # The credentials come from the secrets file: "{password}" in the body.
                    body = render(self.auth.get("body", {}),
                                  {k: self.settings.get(k) for k in SECRET_FIELDS})
                    answer = self.http.request("POST", str(self.auth.get("path", "/auth/token")),
                                               body=body).body
                except HisError as exc:
                    if exc.transient:
                        raise
                    # Refused credentials are the kiosk's configuration, not this
                    # registration's fault: hold the whole queue, dead-letter nothing.
                    raise HisUnavailable(f"auth refused ({exc}); check his.settings.auth"
                                         ) from None
                token = pick(answer, str(self.auth.get("token", "access_token")))
                if not isinstance(token, str) or not token:
                    raise HisError("auth: the answer has no token", transient=True)
                if not (token.isascii() and token.isprintable() and len(token) <= 8192):
                    # It goes into an HTTP header: anything else fails deep in http.client.
                    raise HisError("auth: the answer's token is not printable ASCII",
                                   transient=True)
                self._token = token
            prefix = str(self.auth.get("prefix", "Bearer "))
            return {str(self.auth.get("header", "Authorization")): prefix + self._token}


def _table(settings: dict[str, Any], key: str, required: bool = True) -> dict[str, Any]:
    value = settings.get(key)
    if value is None and not required:
        return {}
    if not isinstance(value, dict):
        raise MappingError(f"his.settings.{key}: required table")
    return value


def _tables(settings: dict[str, Any], key: str) -> list[dict[str, Any]]:
    value = settings.get(key, [])
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(f, dict) for f in value):
        raise MappingError(f"his.settings.{key}: must be tables ([[...]])")
    return value


def _ref(value: Any, what: str) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int) or value == "":
        raise HisError(f"{what}: the answer has no id", transient=True)
    return str(value)
