"""Comparing the patient's name and birth date with what the BHXH portal holds.

The chip gives the name with diacritics (NFC); the portal's record may be
upper case, have doubled spaces, decomposed accents, or lack accents
altogether. Dates may be `dd/MM/yyyy` or a bare year for people whose birth
day is unknown.
"""

from __future__ import annotations

import datetime as dt

from kiosk.domain.dates import parse_dmy_or_year
from kiosk.domain.errors import DomainError
from kiosk.domain.text import fold, is_ascii_digits, nfc


def same_name(a: str | None, b: str | None) -> bool:
    """Equal ignoring case, spacing and diacritics ("NGUYỄN  VĂN A" == "Nguyen Van A")."""
    if not a or not b:
        return False
    return fold(a) == fold(b)


def same_name_exact(a: str | None, b: str | None) -> bool:
    """Equal ignoring case and spacing only: diacritics count (as the portal compares)."""
    if not a or not b:
        return False
    return " ".join(nfc(a).casefold().split()) == " ".join(nfc(b).casefold().split())


def parse_gateway_date(text: object) -> dt.date | int | None:
    """A date from the gateway (`dd/MM/yyyy`, `yyyy`, or compact `yyyyMMdd`); None if
    absent or unreadable: a bad field must not lose the whole answer."""
    if not isinstance(text, str) or not text.strip():
        return None
    value = text.strip()
    if len(value) == 8 and is_ascii_digits(value):
        try:
            return dt.date(int(value[:4]), int(value[4:6]), int(value[6:]))
        except ValueError:
            return None
    try:
        return parse_dmy_or_year(value)
    except DomainError:
        return None


def same_birth(a: dt.date | int | None, b: dt.date | int | None) -> bool:
    """Equal dates; when either side knows only the year, the years must agree."""
    if a is None or b is None:
        return False
    if isinstance(a, int) or isinstance(b, int):
        year_a = a if isinstance(a, int) else a.year
        year_b = b if isinstance(b, int) else b.year
        return year_a == year_b
    return a == b
