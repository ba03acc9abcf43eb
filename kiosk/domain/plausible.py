"""Identity data a real person can have, whatever card it came from (decision 0105).

A QR code, a BHYT card or a chip can carry a birth date in 2090, an issue date of
31/12/9999 or a name made of control, bidi-override or zero-width characters; such a
"patient" would be registered, sent to the HIS and printed as boxes. The QR, BHYT and
chip parsers all apply these rules, so the journey treats such data like an
unreadable code.
"""

from __future__ import annotations

import datetime as dt
import unicodedata

from kiosk.domain.errors import DomainError

EARLIEST_BIRTH = dt.date(1900, 1, 1)
MAX_NAME_CHARS = 100  # Vietnamese full names are far shorter; the ticket prints 2 lines
MAX_TEXT_CHARS = 300  # addresses, places of residence
# Cc: C0/C1 controls; Cf: format (bidi overrides/isolates, zero-width, BOM, soft hyphen);
# Cs/Co/Cn: surrogates, private use, unassigned; Zl/Zp: line/paragraph separators.
REFUSED_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}


class ImplausibleIdentity(DomainError):
    """Identity data no real person has."""


def check_text(text: str, what: str, limit: int = MAX_NAME_CHARS) -> str:
    """`text` if it is printable and at most `limit` characters, else refuse."""
    if len(text) > limit:
        raise ImplausibleIdentity(f"{what} is longer than {limit} characters")
    for ch in text:
        if unicodedata.category(ch) in REFUSED_CATEGORIES:
            raise ImplausibleIdentity(f"{what} holds an invisible or control character "
                                      f"(U+{ord(ch):04X})")
    return text


def check_birth(born: dt.date | int, today: dt.date | None = None) -> None:
    """Not in the future, not before 1900 (a year alone: the same, by year)."""
    today = today or dt.date.today()
    if isinstance(born, int):
        if not EARLIEST_BIRTH.year <= born <= today.year:
            raise ImplausibleIdentity(f"year of birth {born} is not between "
                                      f"{EARLIEST_BIRTH.year} and {today.year}")
        return
    if not EARLIEST_BIRTH <= born <= today:
        raise ImplausibleIdentity(f"date of birth {born.isoformat()} is not between "
                                  f"{EARLIEST_BIRTH.isoformat()} and today")


def check_issue(issued: dt.date, born: dt.date | int | None,
                today: dt.date | None = None) -> None:
    """Not in the future, not before the birth."""
    today = today or dt.date.today()
    if issued > today:
        raise ImplausibleIdentity(f"issue date {issued.isoformat()} is in the future")
    too_early = issued < born if isinstance(born, dt.date) else \
        born is not None and issued.year < born
    if too_early:
        raise ImplausibleIdentity("issue date is before the date of birth")


def check_person(full_name: str, born: dt.date | int | None, issued: dt.date | None = None,
                 texts: dict[str, str | None] | None = None,
                 today: dt.date | None = None) -> None:
    """Every rule at once: the name, the dates, and other printed texts (address…)."""
    check_text(full_name, "full name")
    if born is not None:
        check_birth(born, today)
    if issued is not None:
        check_issue(issued, born, today)
    for what, text in (texts or {}).items():
        if text:
            check_text(text, what, MAX_TEXT_CHARS)
