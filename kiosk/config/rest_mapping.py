"""The grammar of the generic REST adapter's mapping templates: the fields a
template may name and the check that it names no other.

It lives in the configuration so `kiosk config check` validates `[his.settings]`
without importing a service; the adapter (kiosk.services.his.rest.mapping)
renders with the same rules, so the two can never disagree (docs/decisions/0180).
"""

from __future__ import annotations

import string
from typing import Any

PATIENT_FIELDS = ("id_number", "full_name", "date_of_birth", "birth_year", "sex", "sex_code",
                  "residence", "bhyt_card", "bhyt_valid_from", "bhyt_valid_to",
                  "bhyt_facility")
VISIT_FIELDS = ("registration_id", "service_code", "service_name", "department", "room",
                "queue_number", "created_at", "created_date", "insurance_outcome",
                "bhyt_card", "patient_ref")
# A later BHYT outcome for a visit the HIS has: `create_visit` answered `visit_ref`.
UPDATE_FIELDS = (*(f for f in VISIT_FIELDS if f != "patient_ref"), "visit_ref")
# An adapter's credentials: `[his.settings]` keys only the secrets file may hold
# (decision 0106); the REST adapter's login body names them, e.g. "{password}".
SECRET_FIELDS = ("password", "token", "client_secret", "api_key")


class MappingError(ValueError):
    pass


def placeholders(template: Any) -> set[str]:
    if isinstance(template, str):
        try:
            parts = list(string.Formatter().parse(template))
            names = {n for _, n, _, _ in parts if n is not None}
            for _, _, spec, _ in parts:  # "{a:>{width}}" nests a field in the spec
                if spec and "{" in spec:
                    names |= placeholders(spec)
        except ValueError as exc:
            raise MappingError(f"bad template {template!r}: {exc}") from None
        if "" in names or any(n[:1].isdigit() for n in names):
            # "{}" / "{0}" are positional: nothing fills them
            raise MappingError(f"bad template {template!r}: fields must be named")
        return names
    if isinstance(template, dict):
        return set().union(*(placeholders(v) for v in template.values())) if template else set()
    if isinstance(template, list):
        return set().union(*(placeholders(v) for v in template)) if template else set()
    return set()


def check(template: Any, allowed: tuple[str, ...], where: str) -> None:
    unknown = placeholders(template) - set(allowed)
    if unknown:
        raise MappingError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}; "
                           f"known: {', '.join(allowed)}")
