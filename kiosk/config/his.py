"""`[his.settings]`: the keys each HIS adapter understands, checked at load.

The adapters read their settings when the sync daemon builds them; checking
the same keys here means a typo or a missing URL is a `kiosk config check`
error, not a failure the first time a patient registers. The generic REST
templates are checked with the adapter's own placeholder rules (which live
here in `kiosk.config.rest_mapping`, the adapter imports them), so the two can
never disagree: see docs/decisions/0086 and 0180.
"""

from __future__ import annotations

from typing import Any

from kiosk.config.rest_appointments import CHECKIN_FIELDS, RESULT_FIELDS, SEARCH_FIELDS
from kiosk.config.rest_mapping import (
    PATIENT_FIELDS,
    SECRET_FIELDS,
    UPDATE_FIELDS,
    VISIT_FIELDS,
    MappingError,
    placeholders,
)
from kiosk.config.rest_mapping import check as check_template
from kiosk.config.table import Table

# kiosk.services.sync.SyncSettings; a test keeps the two lists equal.
SYNC_INTEGERS = ("max_attempts",)
SYNC_NUMBERS = ("base_delay_s", "max_delay_s", "unavailable_max_delay_s", "idle_poll_s",
                "recheck_every_s", "purge_every_s", "catalogue_every_s", "lobby_every_s")
# kiosk.services.his.fhir.resources.Systems
FHIR_SYSTEMS = ("cccd", "bhyt", "registration", "queue_number", "service",
                "insurance_extension", "appointment_order", "biometric_extension", "payor")
FHIR_VISIT_RESOURCES = ("Encounter", "Appointment")
_SPEC_KEYS = ("method", "path", "params", "body", "results", "id")
_METHODS = ("GET", "POST", "PUT", "PATCH")


def _common(s: Table, url_required: bool) -> None:
    allow_http = s.flag("allow_http", False)
    s.url("url", required=url_required, allow_http=allow_http)
    s.number("timeout_s", 10.0, 0.1, 300.0)
    s.flag("verify_tls", True)
    proxy = s.opt_str("proxy")
    if proxy:
        s.url("proxy", allow_http=True)
    sync = s.sub("sync")
    for key in SYNC_INTEGERS:
        sync.integer(key, 8, 1, 1000)
    for key in SYNC_NUMBERS:
        sync.number(key, 5.0, 0.01, 86_400.0)


def _template(t: Table, key: str, allowed: tuple[str, ...]) -> None:
    value = t.get(key)
    if value is None:
        return
    try:
        check_template(value, allowed, t.path(key))
    except MappingError as exc:
        t.problem(key, str(exc).removeprefix(f"{t.path(key)}: "),
                  "mẫu có trường không hợp lệ (xem docs/his-rest.md)")


def _spec(t: Table, allowed: tuple[str, ...], extra: tuple[str, ...] = ()) -> None:
    method = t.opt_str("method")
    if method and method.upper() not in _METHODS:
        t.problem("method", f"must be one of {', '.join(_METHODS)}",
                  f"phải là một trong: {', '.join(_METHODS)}")
    t.text("path", required=True)
    for key in ("params", "body"):
        _template(t, key, allowed)
    _template(t, "path", allowed)
    t.text("results")
    t.text("id")
    t.known(*extra)


def _rest(s: Table, url_required: bool) -> None:
    _common(s, url_required)
    for key in SECRET_FIELDS:  # from the secrets file; the login body names them
        s.text(key)
    auth = s.sub("auth")
    auth.text("path")
    _template(auth, "body", SECRET_FIELDS)
    body = auth.get("body")
    for key, value in (body.items() if isinstance(body, dict) else ()):
        if key in SECRET_FIELDS and isinstance(value, str) and value \
                and not placeholders(value):  # never echo the value itself
            auth.problem("body", f"{key} is a secret: write \"{{{key}}}\" and put "
                         f"his.settings.{key} in the secrets file (decision 0106)",
                         f"{key} là bí mật: ghi \"{{{key}}}\" và đặt his.settings.{key} "
                         "trong tệp bí mật")
    for key in ("token", "header", "prefix"):
        auth.text(key)
    for find in s.tables("find_patient"):
        _spec(find, PATIENT_FIELDS)
    required = url_required  # the simulator fills in its own mapping
    for key, allowed in (("create_patient", PATIENT_FIELDS), ("create_visit", VISIT_FIELDS)):
        if required or key in s.raw:
            _spec(s.sub(key, required=required), allowed)
    if "update_insurance" in s.raw:
        _spec(s.sub("update_insurance"), UPDATE_FIELDS)
    s.text("timezone")  # read a vendor's times without an offset in this zone
    for find in s.tables("find_appointments"):
        _spec(find, SEARCH_FIELDS)
        columns = find.sub("fields")
        for key in RESULT_FIELDS:
            columns.text(key)
    if "check_in" in s.raw or ("find_appointments" in s.raw and url_required):
        _spec(s.sub("check_in", required=True), CHECKIN_FIELDS)
    if "catalogue" in s.raw:
        catalogue = s.sub("catalogue")
        _spec(catalogue, (), extra=())
        columns = catalogue.sub("fields")
        for key in ("code", "name", "room", "department", "fee"):
            columns.text(key)


def _fhir(s: Table) -> None:
    _common(s, url_required=True)
    s.text("token")
    s.choice("visit_resource", FHIR_VISIT_RESOURCES, "Encounter")
    systems = s.sub("systems")
    for key in FHIR_SYSTEMS:
        systems.text(key)


def _gnuhealth(s: Table) -> None:
    _common(s, url_required=True)
    for key in ("database", "username", "password"):
        s.text(key, required=True)
    s.text("institution_code")
    s.text("insurer_name")


def check_his_settings(adapter: str, settings: Table) -> None:
    """Read every key `adapter` understands; the rest are reported as unknown."""
    checks: dict[str, Any] = {
        "simulator": lambda s: _rest(s, url_required=False),
        "rest": lambda s: _rest(s, url_required=True),
        "fhir": _fhir,
        "gnuhealth": _gnuhealth,
    }
    check = checks.get(adapter)
    if check is not None:
        check(settings)
    else:  # the adapter itself is already reported; do not pile on its settings
        settings.known(*settings.raw)
