"""A minimal FHIR R4 server on 127.0.0.1 for tests and benchmarks (not a simulator of
any vendor: it implements the part of the FHIR REST API the adapter uses).

* `POST /{type}` creates; with `If-None-Exist: identifier=system|value` it is a
  conditional create, atomic under one lock: 0 matches → 201, 1 → 200 with the
  existing resource, more → 412 (FHIR R4 §3.1.0.8.1).
* `PUT /{type}/{id}` updates; with `If-Match: W/"<versionId>"` only that version
  (412 otherwise). Every write gets a new `meta.versionId` and an `ETag`.
* `GET /{type}/{id}`, `GET /{type}?identifier=system|value` (a searchset Bundle),
  `GET /metadata`; for Appointment also `patient.identifier=system|value` (chained),
  `status=a,b` and `date=geINSTANT&date=ltINSTANT`.
* `validator(resource)` may reject a resource (the tests pass one built on
  `fhir.resources`): 422 with an OperationOutcome.
"""

from __future__ import annotations

import datetime as dt
import ssl
import threading
from collections.abc import Callable
from typing import Any

from kiosk.services.his.loopback import LoopbackServer, Reply, Request

TYPES = ("Patient", "Coverage", "Encounter", "Appointment", "HealthcareService")
FHIR_JSON = "application/fhir+json"


def _date_matches(start: Any, bound: str) -> bool:
    """FHIR date search prefixes ge/gt/le/lt on an instant (`start`)."""
    prefix, value = bound[:2], bound[2:]
    if not isinstance(start, str) or prefix not in ("ge", "gt", "le", "lt"):
        return False
    try:
        when = dt.datetime.fromisoformat(start)
        limit = dt.datetime.fromisoformat(value)
    except ValueError:
        return False
    return {"ge": when >= limit, "gt": when > limit, "le": when <= limit,
            "lt": when < limit}[prefix]


def _outcome(code: str, text: str) -> dict[str, Any]:
    return {"resourceType": "OperationOutcome",
            "issue": [{"severity": "error", "code": code, "diagnostics": text}]}


class FhirTestServer(LoopbackServer):
    def __init__(self, *, validator: Callable[[dict[str, Any]], None] | None = None,
                 port: int = 0, ssl_context: ssl.SSLContext | None = None) -> None:
        super().__init__(self._route, port=port, name="fhir", ssl_context=ssl_context)
        self.validator = validator
        self.store: dict[str, dict[str, dict[str, Any]]] = {t: {} for t in TYPES}
        self.creates: dict[str, int] = dict.fromkeys(TYPES, 0)
        self.updates: dict[str, int] = dict.fromkeys(TYPES, 0)
        self._ids = 0
        # (type, system, value) → ids: conditional creates stay O(1) with 10 000s stored
        self._by_identifier: dict[tuple[str, str, str], list[str]] = {}
        self._data_lock = threading.Lock()

    def resources(self, kind: str) -> list[dict[str, Any]]:
        with self._data_lock:
            return list(self.store[kind].values())

    def _route(self, req: Request) -> Reply:
        parts = [p for p in req.path.split("/") if p]
        if parts == ["metadata"]:
            return self._reply(200, {"resourceType": "CapabilityStatement", "status": "active",
                                     "fhirVersion": "4.0.1", "kind": "instance",
                                     "format": ["json"], "date": "2026-01-01"})
        if not parts or parts[0] not in TYPES or len(parts) > 2:
            return self._reply(404, _outcome("not-found", "unknown resource type"))
        kind = parts[0]
        with self._data_lock:
            if req.method == "POST" and len(parts) == 1:
                return self._create(kind, req)
            if req.method == "PUT" and len(parts) == 2:
                return self._update(kind, parts[1], req)
            if req.method == "GET" and len(parts) == 2:
                found = self.store[kind].get(parts[1])
                return self._reply(200, found) if found else self._reply(
                    404, _outcome("not-found", "no such resource"))
            if req.method == "GET":
                return self._search(kind, req)
        return self._reply(405, _outcome("not-supported", "method not supported"))

    def _rejected(self, body: Any, kind: str, rid: str | None = None) -> Reply | None:
        """400 for a body that is not this resource, 422 for one the validator refuses."""
        if not isinstance(body, dict) or body.get("resourceType") != kind or (
                rid is not None and body.get("id") != rid):
            want = f"{kind}/{rid}" if rid is not None else f"a {kind}"
            return self._reply(400, _outcome("invalid", f"body is not {want}"))
        if self.validator is not None:
            try:
                self.validator(body)
            except Exception as exc:
                return self._reply(422, _outcome("invalid", str(exc)[:500]))
        return None

    def _create(self, kind: str, req: Request) -> Reply:
        body = req.body
        rejected = self._rejected(body, kind)
        if rejected is not None:
            return rejected
        condition = req.headers.get("if-none-exist")
        if condition:
            matches = self._matches(kind, condition)
            if matches is None:
                return self._reply(400, _outcome("not-supported", "only identifier= searches"))
            if len(matches) > 1:
                return self._reply(412, _outcome("multiple-matches", "ambiguous condition"))
            if matches:
                return self._reply(200, matches[0])
        self._ids += 1
        resource = self._store(kind, str(self._ids), body, version=1)
        self.creates[kind] += 1
        return self._reply(201, resource, {"Location": f"{kind}/{resource['id']}/_history/1",
                                           "ETag": 'W/"1"'})

    def _update(self, kind: str, rid: str, req: Request) -> Reply:
        body = req.body
        rejected = self._rejected(body, kind, rid)
        if rejected is not None:
            return rejected
        current = self.store[kind].get(rid)
        if current is None:  # no update-as-create: the kiosk only updates what it made
            return self._reply(404, _outcome("not-found", "no such resource"))
        version = int(current["meta"]["versionId"])
        wanted = req.headers.get("if-match")
        if wanted is not None and wanted != f'W/"{version}"':
            return self._reply(412, _outcome("conflict", "version changed"))
        for ident in current.get("identifier", []):
            ids = self._by_identifier.get(self._identifier_key(kind, ident), [])
            if rid in ids:
                ids.remove(rid)
        resource = self._store(kind, rid, body, version=version + 1)
        self.updates[kind] += 1
        return self._reply(200, resource, {"ETag": f'W/"{version + 1}"'})

    def _store(self, kind: str, rid: str, body: dict[str, Any], *,
               version: int) -> dict[str, Any]:
        resource = {**body, "id": rid, "meta": {
            "versionId": str(version), "lastUpdated": dt.datetime.now(dt.UTC).isoformat()}}
        self.store[kind][rid] = resource
        for ident in resource.get("identifier", []):
            if isinstance(ident, dict):
                self._by_identifier.setdefault(self._identifier_key(kind, ident),
                                               []).append(rid)
        return resource

    @staticmethod
    def _identifier_key(kind: str, ident: Any) -> tuple[str, str, str]:
        ident = ident if isinstance(ident, dict) else {}
        return (kind, str(ident.get("system", "")), str(ident.get("value", "")))

    def _matches(self, kind: str, query: str) -> list[dict[str, Any]] | None:
        name, _, value = query.partition("=")
        if name != "identifier" or not value:
            return None
        system, _, code = value.rpartition("|")
        if system:
            return [self.store[kind][i] for i in self._by_identifier.get((kind, system, code), [])]
        return [res for res in self.store[kind].values()
                if any(i.get("value") == code for i in res.get("identifier", []))]

    def _search(self, kind: str, req: Request) -> Reply:
        identifier = req.param("identifier")
        if identifier:
            found = self._matches(kind, f"identifier={identifier}") or []
        else:
            found = list(self.store[kind].values())
        chained = req.param("patient.identifier")
        if chained is not None:  # Appointment?patient.identifier=system|value
            patients = {f"Patient/{p['id']}" for p in self._matches(
                "Patient", f"identifier={chained}") or []}
            found = [res for res in found if any(
                (p.get("actor") or {}).get("reference") in patients
                for p in res.get("participant", []))]
        statuses = req.param("status")
        if statuses:
            found = [res for res in found if res.get("status") in statuses.split(",")]
        for bound in req.query.get("date", []):
            found = [res for res in found if _date_matches(res.get("start"), bound)]
        return self._reply(200, {"resourceType": "Bundle", "type": "searchset",
                                 "total": len(found),
                                 "entry": [{"resource": res} for res in found]})

    @staticmethod
    def _reply(status: int, body: Any, headers: dict[str, str] | None = None) -> Reply:
        return Reply(status, body, headers or {}, content_type=FHIR_JSON)
