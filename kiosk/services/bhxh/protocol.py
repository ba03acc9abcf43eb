"""The gateway's wire format (DOMAIN.md §5): request bodies, answers, card details.

Parsing is defensive: the gateway sits behind proxies that answer with HTML
error pages or cut bodies short, and fields change type between versions
(`maKetQua` as a string or a number). A malformed answer raises
`GatewayProtocolError`; an odd field becomes None, never a crash.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kiosk.domain.dates import to_dmy
from kiosk.domain.insurance import InsuranceCard
from kiosk.domain.text import nfc
from kiosk.services.bhxh.errors import GatewayProtocolError
from kiosk.services.bhxh.matching import parse_gateway_date

TOKEN_PATH = "/api/token/take"
CHECK_PATH = "/api/egw/KQNhanLichSuKCB2024"

CARD_FIELDS = (
    "maKetQua", "ghiChu", "maThe", "hoTen", "ngaySinh", "gioiTinh", "diaChi", "maDKBD",
    "cqBHXH", "gtTheTu", "gtTheDen", "maKV", "ngayDu5Nam", "maSoBHXH", "maTheCu", "maTheMoi",
    "gtTheTuMoi", "gtTheDenMoi", "maDKBDMoi", "tenDKBDMoi", "dsLichSuKCB2018", "dsLichSuKT2018",
)

_CODE = re.compile(r"\d{1,3}")
_AREA = {"4": None, "5": "K1", "6": "K2", "7": "K3"}


def password_md5(password: str) -> str:
    """The guide asks for the upper-case MD5 hex of the facility password."""
    return hashlib.md5(password.encode("utf-8")).hexdigest().upper()


def check_body(card_key: str, full_name: str, date_of_birth: dt.date | int,
               operator_name: str, operator_cccd: str) -> dict[str, str]:
    return {
        "maThe": card_key.strip().upper(),
        "hoTen": nfc(" ".join(full_name.split())),
        "ngaySinh": to_dmy(date_of_birth),
        "hoTenCb": nfc(operator_name),
        "cccdCb": operator_cccd,
    }


def decode_json_object(body: bytes) -> dict[str, Any]:
    """The body as a JSON object, or `GatewayProtocolError` saying what was wrong."""
    if not body.strip():
        raise GatewayProtocolError("empty answer")
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise GatewayProtocolError("answer is not UTF-8") from None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        cut = exc.pos >= len(text.rstrip()) or exc.msg.startswith("Unterminated string")
        kind = "truncated JSON" if cut else "malformed JSON"
        head = text.lstrip()[:1]
        if head == "<":
            kind = "an HTML page, not JSON"
        raise GatewayProtocolError(f"answer is {kind} ({len(body)} bytes)") from None
    except RecursionError:
        raise GatewayProtocolError("answer nests too deeply") from None
    except ValueError:  # an integer longer than Python's 4300-digit conversion limit
        raise GatewayProtocolError(f"answer holds an absurd number ({len(body)} bytes)") from None
    if not isinstance(value, dict):
        raise GatewayProtocolError(f"answer is a JSON {type(value).__name__}, not an object")
    return value


def result_code(data: Mapping[str, Any]) -> str:
    """`maKetQua` as the documented 3-digit string ("0" and 0 both mean "000")."""
    raw = data.get("maKetQua")
    if isinstance(raw, bool) or raw is None:
        raise GatewayProtocolError("answer has no maKetQua")
    if isinstance(raw, int):
        raw = str(raw)
    if not isinstance(raw, str) or not _CODE.fullmatch(raw.strip()):
        raise GatewayProtocolError("maKetQua is not a number")
    return raw.strip().zfill(3)


@dataclass(frozen=True)
class TokenGrant:
    access_token: str
    id_token: str
    expires_in_s: float


def parse_token(data: Mapping[str, Any]) -> TokenGrant:
    key = data.get("APIKey")
    if not isinstance(key, Mapping):
        raise GatewayProtocolError("token answer has no APIKey object")
    access, id_token = key.get("access_token"), key.get("id_token")
    if not isinstance(access, str) or not access or not isinstance(id_token, str):
        raise GatewayProtocolError("token answer lacks access_token / id_token")
    expires = key.get("expires_in")
    try:
        seconds = float(expires) if expires is not None else 3600.0
    except (TypeError, ValueError):
        seconds = 3600.0
    if not seconds > 0 or seconds != seconds:  # also rejects NaN
        seconds = 60.0
    return TokenGrant(access, id_token, min(seconds, 86400.0))


def _text(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        value = str(value)
    if not isinstance(value, str):
        return None
    cleaned = nfc(" ".join(value.split()))
    return cleaned or None


def _date(data: Mapping[str, Any], key: str) -> dt.date | None:
    value = parse_gateway_date(data.get(key))
    return value if isinstance(value, dt.date) else None


def _facility(value: str | None) -> str | None:
    """`01 - 043`, `01043` and `01-043` are all facility 01043."""
    if value is None:
        return None
    compact = re.sub(r"[\s\-./]", "", value).upper()
    return compact or None


def _sex(value: str | None) -> str | None:
    if value is None:
        return None
    return {"1": "Nam", "2": "Nữ", "nam": "Nam", "nữ": "Nữ", "nu": "Nữ"}.get(
        value.casefold(), value)


def _area(value: str | None) -> str | None:
    if value is None:
        return None
    if value in _AREA:
        return _AREA[value]
    return value.upper()


def card_from_answer(data: Mapping[str, Any]) -> InsuranceCard | None:
    """Normalised card details, or None when the answer names no card at all."""
    card_number = _text(data, "maThe")
    full_name = _text(data, "hoTen")
    if card_number is None and full_name is None:
        return None
    return InsuranceCard(
        card_number=card_number.upper() if card_number else None,
        full_name=full_name,
        date_of_birth=parse_gateway_date(data.get("ngaySinh")),
        sex=_sex(_text(data, "gioiTinh")),
        address=_text(data, "diaChi"),
        registered_facility=_facility(_text(data, "maDKBD")),
        valid_from=_date(data, "gtTheTu"),
        valid_to=_date(data, "gtTheDen"),
        area_code=_area(_text(data, "maKV")),
        five_year_date=_date(data, "ngayDu5Nam"),
        new_card_number=(_text(data, "maTheMoi") or "").upper() or None,
        new_valid_from=_date(data, "gtTheTuMoi"),
        new_valid_to=_date(data, "gtTheDenMoi"),
    )


def keep_fields(data: Mapping[str, Any]) -> dict[str, Any]:
    """The documented card fields only (what the cache keeps). The visit histories
    (`dsLichSu…`) are medical data the kiosk has no use for: dropped."""
    return {k: data[k] for k in CARD_FIELDS if k in data and not k.startswith("dsLichSu")}
