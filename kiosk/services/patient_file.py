"""The `kiosk register --patient FILE` input: `kiosk card read` output plus an optional
`"insurance"` (`kiosk bhyt check` output), turned into what the journey carries.

Every malformed input raises `PatientFileError` naming the key; nothing else.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, get_args

from kiosk.domain.citizen_id import parse_citizen_id
from kiosk.domain.errors import DomainError
from kiosk.domain.identity import Identity, Source, Verification
from kiosk.domain.insurance import InsuranceCard, InsuranceResult, Outcome, ResultSource
from kiosk.domain.text import has_surrogate, is_ascii_digits, nfc

_PASSIVE: dict[str, Verification] = {
    "verified": "chip_verified", "untrusted": "chip_untrusted", "absent": "chip_unverified"}


class PatientFileError(ValueError):
    pass


def _text(data: dict[str, Any], key: str, required: bool = False) -> str | None:
    value = data.get(key)
    if value is None or value == "":
        if required:
            raise PatientFileError(f"{key}: required")
        return None
    if not isinstance(value, str):
        raise PatientFileError(f"{key}: must be text")
    return nfc(value.strip())


def _date(data: dict[str, Any], key: str, year_ok: bool = False) -> dt.date | int | None:
    text = _text(data, key)
    if text is None:
        return None
    if year_ok and len(text) == 4 and is_ascii_digits(text):
        return int(text)
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise PatientFileError(f"{key}: must be a date YYYY-MM-DD") from None


def _plain_date(data: dict[str, Any], key: str) -> dt.date | None:
    value = _date(data, key)
    return value if isinstance(value, dt.date) else None


def _check_text(value: Any, where: str, depth: int = 0) -> None:
    """Refuse lone surrogates anywhere in the file before anything is stored: SQLite
    and the ticket printer would fail on them half-way through a registration."""
    if depth > 32:
        raise PatientFileError(f"{where or 'file'}: nested too deeply")
    if isinstance(value, str):
        if has_surrogate(value):
            raise PatientFileError(f"{where or 'file'}: holds an invalid character "
                                   "(a lone surrogate)")
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_text(key, where, depth + 1)
            _check_text(item, f"{where}.{key}" if where else str(key), depth + 1)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_text(item, f"{where}[{index}]", depth + 1)


def identity_from_json(data: Any) -> Identity:
    if not isinstance(data, dict):
        raise PatientFileError("the patient file must hold a JSON object")
    _check_text(data, "")
    name = _text(data, "full_name", required=True)
    assert name is not None
    if len(name) > 200:
        raise PatientFileError("full_name: too long")
    id_number = _text(data, "id_number")
    if id_number is not None:
        try:
            parse_citizen_id(id_number)
        except DomainError as exc:
            raise PatientFileError(f"id_number: {exc}") from None
    source: Source = "manual"
    verification: Verification = "none"
    auth = data.get("authentication")
    if isinstance(auth, dict) and isinstance(auth.get("passive"), str):
        failures = auth.get("failures") or []
        if auth["passive"] == "failed" or auth.get("active") == "failed" or failures:
            # `kiosk card read` exited 7: a possible clone, never registered (decision 0110)
            raise PatientFileError("authentication: the card failed verification"
                                   + (f" ({str(failures[0])[:120]})" if isinstance(
                                       failures, list) and failures else ""))
        source = "chip"
        verification = _PASSIVE.get(auth["passive"], "chip_unverified")
    elif data.get("source") is not None:
        given = data["source"]
        if given not in get_args(Source):
            raise PatientFileError(f"source: must be one of {', '.join(get_args(Source))}")
        source = given
        level = data.get("verification", "none")
        if level not in get_args(Verification):
            raise PatientFileError("verification: unknown level")
        verification = level
    sex = _text(data, "sex")
    if sex not in (None, "Nam", "Nữ"):
        raise PatientFileError("sex: must be Nam or Nữ")
    bhyt = _text(data, "bhyt_card")
    return Identity(
        full_name=name, date_of_birth=_date(data, "date_of_birth", year_ok=True), sex=sex,
        source=source, verification=verification, id_number=id_number,
        old_id_number=_text(data, "old_id_number"), residence=_text(data, "residence"),
        issue_date=_plain_date(data, "issue_date"),
        expiry_date=_plain_date(data, "expiry_date"), bhyt_card=bhyt,
        nationality=_text(data, "nationality"), ethnicity=_text(data, "ethnicity"),
    )


def insurance_from_json(data: Any, identity: Identity, now: dt.datetime) -> InsuranceResult:
    """The `kiosk bhyt check` output; absent (None): "not checked", re-checked later."""
    if data is None:
        return InsuranceResult.not_checked(identity.insurance_key, "not checked at registration",
                                           now)
    if not isinstance(data, dict):
        raise PatientFileError("insurance: must be the JSON of `kiosk bhyt check`")
    outcome: Outcome = data.get("outcome")  # type: ignore[assignment]  # checked next
    if outcome not in get_args(Outcome):
        raise PatientFileError(f"insurance.outcome: must be one of {', '.join(get_args(Outcome))}")
    source = data.get("source", "gateway")
    if source not in get_args(ResultSource):
        raise PatientFileError("insurance.source: unknown")
    card_data = data.get("card")
    card = None
    if card_data is not None:
        if not isinstance(card_data, dict):
            raise PatientFileError("insurance.card: must be an object")
        card = _card(card_data)
    checked_text = data.get("checked_at")
    try:
        checked = dt.datetime.fromisoformat(checked_text) if isinstance(checked_text, str) \
            else now
    except ValueError:
        raise PatientFileError("insurance.checked_at: must be an ISO time") from None
    if checked.tzinfo is None:
        raise PatientFileError("insurance.checked_at: needs a time zone")
    texts = {k: _text(data, k) or "" for k in ("message_vi", "message_en", "staff_detail")}
    code = data.get("code")
    return InsuranceResult(
        outcome=outcome, code=code if isinstance(code, str) else None,
        message_vi=texts["message_vi"], message_en=texts["message_en"],
        staff_detail=texts["staff_detail"], card=card, checked_at=checked, source=source,
        card_key=(card.card_number if card else None) or identity.insurance_key,
    )


def _card(d: dict[str, Any]) -> InsuranceCard:
    try:
        return InsuranceCard(
            card_number=_text(d, "card_number"), full_name=_text(d, "full_name"),
            date_of_birth=_date(d, "date_of_birth", year_ok=True), sex=_text(d, "sex"),
            address=_text(d, "address"), registered_facility=_text(d, "registered_facility"),
            valid_from=_plain_date(d, "valid_from"), valid_to=_plain_date(d, "valid_to"),
            area_code=_text(d, "area_code"), five_year_date=_plain_date(d, "five_year_date"),
            new_card_number=_text(d, "new_card_number"),
            new_valid_from=_plain_date(d, "new_valid_from"),
            new_valid_to=_plain_date(d, "new_valid_to"),
        )
    except PatientFileError as exc:
        raise PatientFileError(f"insurance.card.{exc}") from None
