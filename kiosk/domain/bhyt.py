"""BHYT (health insurance) card numbers in their three accepted forms (DOMAIN.md §6).

* `bhyt15`: 2-letter beneficiary code + benefit digit + 2-digit province +
  10-character BHXH number (``HS4010120878811``);
* `bhxh10`: the 10-digit BHXH number alone (cards since 2021);
* `cccd12`: the 12-digit personal ID (accepted as identifier since 2025).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any, Literal

from kiosk.domain.citizen_id import parse_citizen_id
from kiosk.domain.errors import InvalidBhytNumber, InvalidCitizenId
from kiosk.domain.text import has_foreign_digit, is_ascii_digits

CardFormat = Literal["bhyt15", "bhxh10", "cccd12"]

# Benefit digit -> percentage the fund pays (display only: the HIS decides the rate).
BENEFIT_PERCENT: dict[str, int] = {"1": 100, "2": 100, "3": 95, "4": 80, "5": 100}

# The vendor test card in DOMAIN.md §11 has letters in the BHXH part, so the
# 15-character form accepts alphanumerics there; the 10-digit form is digits.
_BHYT15 = re.compile(r"([A-Z]{2})([1-5])([0-9]{2})([A-Z0-9]{10})")


@dataclass(frozen=True)
class BhytNumber:
    card_number: str
    format: CardFormat
    beneficiary_code: str | None
    benefit_level: int | None
    benefit_percent: int | None
    province_code: str | None
    bhxh_number: str | None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("card_number")
        return data


def parse_bhyt_number(text: str) -> BhytNumber:
    raw = text.strip().replace(" ", "").upper()
    if has_foreign_digit(raw):
        raise InvalidBhytNumber("card number must use the digits 0-9 only")
    if len(raw) == 15:
        m = _BHYT15.fullmatch(raw)
        if not m:
            if not raw[:2].isalpha():
                raise InvalidBhytNumber("15-character card: first two characters must be letters")
            if raw[2] not in BENEFIT_PERCENT:
                raise InvalidBhytNumber("15-character card: benefit digit (3rd) must be 1–5")
            raise InvalidBhytNumber(
                "15-character card: province (4th–5th) must be digits and the "
                "last 10 characters the BHXH number"
            )
        code, level, province, bhxh = m.groups()
        if province == "00":
            raise InvalidBhytNumber("15-character card: province code 00 does not exist")
        return BhytNumber(raw, "bhyt15", code, int(level), BENEFIT_PERCENT[level], province, bhxh)
    if len(raw) == 10 and is_ascii_digits(raw):
        return BhytNumber(raw, "bhxh10", None, None, None, None, raw)
    if len(raw) == 12 and is_ascii_digits(raw):
        try:
            parse_citizen_id(raw)
        except InvalidCitizenId as exc:
            raise InvalidBhytNumber(f"12-digit card number is not a personal ID: {exc}") from None
        return BhytNumber(raw, "cccd12", None, None, None, None, None)
    raise InvalidBhytNumber(
        "card number must be 15 characters (e.g. HS4010120878811), "
        "a 10-digit BHXH number or a 12-digit personal ID"
    )
