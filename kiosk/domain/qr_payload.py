"""QR payloads the kiosk is shown (DOMAIN.md §4, §11).

* citizen-ID QR (CCCD 2021 front, Thẻ Căn cước 2024, the card in VNeID's
  wallet): ``ID12|CMND|Name|ddMMyyyy|Nam/Nữ|Residence|IssueddMMyyyy[|extra…]``
* BHYT card / VssID QR: ``|``-separated, ``$``-terminated, name and address
  as hex of UTF-8.
* anything else is `UnknownQr` with a plain message saying what to show instead.

A payload with the *shape* of a known kind that breaks its rules raises
`MalformedQr` (distinct from unknown: the patient showed the right thing but
it is damaged or forged, and staff may need to look).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any, Literal

from kiosk.domain.bhyt import parse_bhyt_number
from kiosk.domain.citizen_id import parse_citizen_id
from kiosk.domain.dates import iso, parse_dmy, parse_dmy_compact, parse_dmy_or_year
from kiosk.domain.errors import DomainError, MalformedQr
from kiosk.domain.identity import Identity
from kiosk.domain.plausible import check_person
from kiosk.domain.text import is_ascii_digits, nfc

MAX_PAYLOAD = 4096  # a QR holds < 3 kB; anything longer is not a card
UnknownReason = Literal["vneid_token", "url", "payment", "empty", "other"]


@dataclass(frozen=True)
class CccdQr:
    id_number: str
    old_id_number: str | None
    full_name: str
    date_of_birth: dt.date
    sex: str
    residence: str
    issue_date: dt.date
    extra_fields: tuple[str, ...]

    kind: Literal["cccd"] = "cccd"

    @property
    def can(self) -> str:
        return self.id_number[-6:]

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": "cccd",
            "id_number": self.id_number,
            "old_id_number": self.old_id_number,
            "full_name": self.full_name,
            "date_of_birth": iso(self.date_of_birth),
            "sex": self.sex,
            "residence": self.residence,
            "issue_date": iso(self.issue_date),
            "extra_fields": list(self.extra_fields),
        }

    def to_identity(self) -> Identity:
        return Identity(
            full_name=self.full_name,
            date_of_birth=self.date_of_birth,
            sex=self.sex,
            source="qr_cccd",
            id_number=self.id_number,
            old_id_number=self.old_id_number,
            residence=self.residence,
            issue_date=self.issue_date,
        )


@dataclass(frozen=True)
class BhytQr:
    card_number: str
    full_name: str
    date_of_birth: dt.date | int
    sex: str
    address: str
    registered_facility: str
    valid_from: dt.date
    valid_to: dt.date | None
    issue_date: dt.date | None
    manager_code: str
    guardian_name: str | None
    area_code: str | None
    five_year_date: dt.date | None
    check_value: str
    extra_fields: tuple[str, ...]

    kind: Literal["bhyt"] = "bhyt"

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": "bhyt",
            "card_number": self.card_number,
            "full_name": self.full_name,
            "date_of_birth": iso(self.date_of_birth),
            "sex": self.sex,
            "address": self.address,
            "registered_facility": self.registered_facility,
            "valid_from": iso(self.valid_from),
            "valid_to": iso(self.valid_to),
            "five_year_date": iso(self.five_year_date),
            "issue_date": iso(self.issue_date),
            "area_code": self.area_code,
            "guardian_name": self.guardian_name,
            "extra_fields": list(self.extra_fields),
        }

    def to_identity(self) -> Identity:
        return Identity(
            full_name=self.full_name,
            date_of_birth=self.date_of_birth,
            sex=self.sex,
            source="qr_bhyt",
            residence=self.address,
            bhyt_card=self.card_number,
        )


_UNKNOWN_MESSAGES: dict[UnknownReason, tuple[str, str]] = {
    "vneid_token": (
        "Đây là mã xác thực của ứng dụng VNeID, máy không đọc được mã này. "
        "Xin mở Ví giấy tờ trong VNeID và đưa mã QR của thẻ Căn cước, hoặc đặt thẻ lên đầu đọc.",
        "This is a VNeID verification code, which the kiosk cannot use. Open the document "
        "wallet in VNeID and show the citizen ID card's QR code, or place the card on the reader.",
    ),
    "url": (
        "Mã QR này là một đường dẫn, không phải thẻ. Xin đưa mã QR trên thẻ Căn cước "
        "hoặc thẻ Bảo hiểm y tế, hoặc đặt thẻ lên đầu đọc.",
        "This QR code is a web link, not a card. Show the QR code on your citizen ID or "
        "health insurance card, or place the card on the reader.",
    ),
    "payment": (
        "Đây là mã QR thanh toán, không phải thẻ. Xin đưa mã QR trên thẻ Căn cước "
        "hoặc thẻ Bảo hiểm y tế, hoặc đặt thẻ lên đầu đọc.",
        "This is a payment QR code, not a card. Show the QR code on your citizen ID or "
        "health insurance card, or place the card on the reader.",
    ),
    "empty": (
        "Máy chưa đọc được mã. Xin giữ thẻ yên trước camera.",
        "The code could not be read. Please hold the card still in front of the camera.",
    ),
    "other": (
        "Máy không dùng được mã QR này. Xin đưa mã QR trên thẻ Căn cước hoặc thẻ Bảo hiểm y tế, "
        "hoặc đặt thẻ Căn cước lên đầu đọc.",
        "The kiosk cannot use this QR code. Show the QR code on your citizen ID or health "
        "insurance card, or place the citizen ID card on the reader.",
    ),
}


@dataclass(frozen=True)
class UnknownQr:
    reason: UnknownReason
    message_vi: str
    message_en: str

    kind: Literal["unknown"] = "unknown"

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": "unknown",
            "reason": self.reason,
            "message_vi": self.message_vi,
            "message_en": self.message_en,
        }


QrPayload = CccdQr | BhytQr | UnknownQr

_BHYT_CODE_SHAPE = re.compile(r"[A-Z]{2}[0-9][A-Z0-9]{12}|[0-9]{10}")
_HEX = re.compile(r"(?:[0-9a-fA-F]{2})+")


def _unknown(reason: UnknownReason) -> UnknownQr:
    vi, en = _UNKNOWN_MESSAGES[reason]
    return UnknownQr(reason, vi, en)


def parse_qr(text: str) -> QrPayload:
    """Classify and parse a decoded QR text. Raises `MalformedQr` for damaged cards."""
    if len(text) > MAX_PAYLOAD:
        return _unknown("other")
    payload = nfc(text.strip().lstrip("\ufeff"))
    if not payload:
        return _unknown("empty")
    fields = payload.split("|")
    if _looks_like_bhyt(payload, fields):
        return _parse_bhyt(payload)
    # isdigit(), not an ASCII check: an ID with a "²" in it is a damaged citizen-ID
    # card (MalformedQr from parse_citizen_id), not some other kind of code.
    if len(fields) >= 6 and fields[0].strip().isdigit():
        return _parse_cccd(fields)
    return _unknown(_classify_other(payload))


def _classify_other(payload: str) -> UnknownReason:
    lowered = payload.lower()
    if lowered.startswith(("http://", "https://", "www.")):
        return "url"
    # EMVCo merchant-presented QR (VietQR and other payment codes).
    if payload.startswith("000201") and "6304" in payload[-8:]:
        return "payment"
    # VNeID's one-minute app-verification code: not pipe-delimited, mentions
    # VNeID or is an opaque token; only an officer's app can verify it.
    if "vneid" in lowered or re.fullmatch(r"[A-Za-z0-9+/=_\-.:]{24,}", payload):
        return "vneid_token"
    return "other"


def _looks_like_bhyt(payload: str, fields: list[str]) -> bool:
    if len(fields) < 10:
        return False
    return payload.endswith("$") or bool(_BHYT_CODE_SHAPE.fullmatch(fields[0].strip().upper()))


def _date(text: str, what: str, compact: bool = False) -> dt.date:
    try:
        return parse_dmy_compact(text) if compact else parse_dmy(text)
    except DomainError as exc:
        raise MalformedQr(f"{what}: {exc}") from None


def _parse_cccd(fields: list[str]) -> CccdQr:
    if len(fields) < 7:
        raise MalformedQr(f"citizen-ID QR needs 7 fields, found {len(fields)}")
    id_raw, old_raw, name, dob_raw, sex, residence, issue_raw, *extra = (f.strip() for f in fields)
    try:
        citizen = parse_citizen_id(id_raw)
    except DomainError as exc:
        raise MalformedQr(f"citizen-ID QR: {exc}") from None
    if old_raw and not (is_ascii_digits(old_raw) and len(old_raw) in (9, 12)):
        raise MalformedQr("citizen-ID QR: old ID number must be 9 or 12 digits or empty")
    if not name:
        raise MalformedQr("citizen-ID QR: full name is empty")
    if sex not in ("Nam", "Nữ"):
        raise MalformedQr(f"citizen-ID QR: sex must be Nam or Nữ, found {sex!r}")
    dob = _date(dob_raw, "citizen-ID QR date of birth", compact=True)
    issue = _date(issue_raw, "citizen-ID QR issue date", compact=True)
    try:
        check_person(name, dob, issue, {"place of residence": residence})
        citizen.check_consistent(dob, sex)
    except DomainError as exc:
        raise MalformedQr(f"citizen-ID QR: {exc}") from None
    return CccdQr(
        id_number=citizen.number,
        old_id_number=old_raw or None,
        full_name=" ".join(name.split()),
        date_of_birth=dob,
        sex=sex,
        residence=residence,
        issue_date=issue,
        extra_fields=tuple(extra),
    )


def _hex_text(value: str, what: str) -> str:
    value = value.strip()
    if not _HEX.fullmatch(value):
        raise MalformedQr(f"BHYT QR: {what} is not hex-encoded text")
    try:
        return nfc(bytes.fromhex(value).decode("utf-8")).strip()
    except UnicodeDecodeError:
        raise MalformedQr(f"BHYT QR: {what} is not valid UTF-8") from None


def _parse_bhyt(payload: str) -> BhytQr:
    body = payload[:-1] if payload.endswith("$") else payload
    fields = [f.strip() for f in body.split("|")]
    if fields and fields[-1] == "":
        fields.pop()  # the separator before the terminating `$`
    if len(fields) < 14:
        raise MalformedQr(f"BHYT QR needs at least 14 fields, found {len(fields)}")
    try:
        card = parse_bhyt_number(fields[0])
    except DomainError as exc:
        raise MalformedQr(f"BHYT QR: {exc}") from None
    name = _hex_text(fields[1], "name")
    if not name:
        raise MalformedQr("BHYT QR: name is empty")
    try:
        dob = parse_dmy_or_year(fields[2])
    except DomainError as exc:
        raise MalformedQr(f"BHYT QR date of birth: {exc}") from None
    sex = {"1": "Nam", "2": "Nữ"}.get(fields[3])
    if sex is None:
        raise MalformedQr(f"BHYT QR: sex must be 1 or 2, found {fields[3]!r}")
    address = _hex_text(fields[4], "address")
    facility = re.sub(r"[^0-9A-Za-z]", "", fields[5])
    if len(facility) != 5:
        raise MalformedQr(f"BHYT QR: registered facility {fields[5]!r} is not a 5-character code")
    valid_from = _date(fields[6], "BHYT QR valid-from")
    valid_to = None if fields[7] in ("-", "") else _date(fields[7], "BHYT QR valid-to")
    if valid_to is not None and valid_to < valid_from:
        raise MalformedQr("BHYT QR: validity ends before it starts")
    issue = _date(fields[8], "BHYT QR issue date") if fields[8] not in ("", "-") else None
    guardian = None if fields[10] in ("-", "") else _hex_or_plain(fields[10])
    area = {"4": None, "5": "K1", "6": "K2", "7": "K3"}.get(fields[11], fields[11] or None)
    five_year = _date(fields[12], "BHYT QR 5-year date") if fields[12] not in ("", "-") else None
    try:
        check_person(name, dob, issue, {"address": address, "guardian name": guardian})
    except DomainError as exc:
        raise MalformedQr(f"BHYT QR: {exc}") from None
    return BhytQr(
        card_number=card.card_number,
        full_name=name,
        date_of_birth=dob,
        sex=sex,
        address=address,
        registered_facility=facility.upper(),
        valid_from=valid_from,
        valid_to=valid_to,
        issue_date=issue,
        manager_code=fields[9],
        guardian_name=guardian,
        area_code=area,
        five_year_date=five_year,
        check_value=fields[13],
        extra_fields=tuple(fields[14:]),
    )


def _hex_or_plain(value: str) -> str:
    """Guardian names are hex on some cards and plain on others."""
    if _HEX.fullmatch(value):
        try:
            return nfc(bytes.fromhex(value).decode("utf-8"))
        except UnicodeDecodeError:
            pass
    return nfc(value)
