"""Date formats seen on cards, QR codes and the BHXH gateway."""

from __future__ import annotations

import datetime as dt
import re

from kiosk.domain.errors import DomainError

_DMY_SLASH = re.compile(r"([0-9]{2})/([0-9]{2})/([0-9]{4})")
_DMY_COMPACT = re.compile(r"([0-9]{2})([0-9]{2})([0-9]{4})")
_YEAR = re.compile(r"[0-9]{4}")


def _make(text: str, day: str, month: str, year: str) -> dt.date:
    try:
        return dt.date(int(year), int(month), int(day))
    except ValueError:
        raise DomainError(f"impossible date {text!r}") from None


def parse_dmy(text: str) -> dt.date:
    """`dd/MM/yyyy` (card, gateway) to a date."""
    m = _DMY_SLASH.fullmatch(text.strip())
    if not m:
        raise DomainError(f"date {text!r} is not dd/MM/yyyy")
    return _make(text, *m.groups())


def parse_dmy_compact(text: str) -> dt.date:
    """`ddMMyyyy` (CCCD QR) to a date."""
    m = _DMY_COMPACT.fullmatch(text.strip())
    if not m:
        raise DomainError(f"date {text!r} is not ddMMyyyy")
    return _make(text, *m.groups())


def parse_dmy_or_year(text: str) -> dt.date | int:
    """`dd/MM/yyyy` or a bare `yyyy` (people whose birth day is unknown)."""
    stripped = text.strip()
    if _YEAR.fullmatch(stripped):
        year = int(stripped)
        if not 1880 <= year <= 2200:
            raise DomainError(f"impossible year {text!r}")
        return year
    return parse_dmy(stripped)


def iso(value: dt.date | int | None) -> str | None:
    """ISO form for JSON: `YYYY-MM-DD`, or `YYYY` when only the year is known."""
    if value is None:
        return None
    if isinstance(value, int):
        return f"{value:04d}"
    return value.isoformat()


def to_dmy(value: dt.date | int) -> str:
    """The gateway's `dd/MM/yyyy` (or `yyyy`)."""
    if isinstance(value, int):
        return f"{value:04d}"
    return value.strftime("%d/%m/%Y")


def age_on(dob: dt.date | int, today: dt.date) -> int:
    """Completed years on `today` (year-only births count from 1 January)."""
    if isinstance(dob, int):
        return today.year - dob
    years = today.year - dob.year
    if (today.month, today.day) < (dob.month, dob.day):
        years -= 1
    return years
