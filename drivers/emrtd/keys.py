"""Access keys from what the patient has: CAN, MRZ, document data, or the CCCD QR.

For the citizen-ID QR (DOMAIN.md §3, Law on Identification 2023 Art. 21):
document number = last 9 digits of the 12-digit ID, date of birth from the
QR, and the expiry date computed from the *issue* date by the renewal-age
rule: cards are renewed at 14, 25, 40 and 60; a card issued within two years
before a renewal age stays valid until the next one; from 60 on the card
does not expire (MRZ `991231`). The exact edges (the 2-year boundary, 29
February) are not documented, so neighbouring milestones are offered as
further candidates to try after a `6300`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from drivers.emrtd.mrz import mrz_information, parse_mrz

RENEWAL_AGES = (14, 25, 40, 60)
NO_EXPIRY = "991231"


@dataclass(frozen=True)
class CanKey:
    """Card access number (on CCCDs: the last 6 digits of the 12-digit ID). PACE only."""

    can: str

    def __post_init__(self) -> None:
        if not (self.can.isascii() and self.can.isdigit() and len(self.can) == 6):
            raise ValueError("CAN must be 6 digits 0-9")

    def describe(self) -> str:
        return "CAN"


@dataclass(frozen=True)
class MrzKey:
    """Document number, date of birth and expiry (YYMMDD): BAC or PACE with the MRZ."""

    document_number: str
    date_of_birth: str
    date_of_expiry: str

    def __post_init__(self) -> None:
        for name, value in (("date of birth", self.date_of_birth),
                            ("date of expiry", self.date_of_expiry)):
            if not _is_yymmdd(value):
                raise ValueError(f"{name} {value!r} is not a date YYMMDD")
        doc = self.document_number
        if not doc or len(doc) > 9 or not all(c.isascii() and (c.isalnum() or c == "<")
                                               for c in doc):
            raise ValueError("document number must be 1-9 letters or digits")

    @property
    def information(self) -> str:
        return mrz_information(self.document_number, self.date_of_birth, self.date_of_expiry)

    def describe(self) -> str:
        return f"MRZ(expiry {self.date_of_expiry})"


AccessKey = CanKey | MrzKey


def _is_yymmdd(value: str) -> bool:
    if not (len(value) == 6 and value.isascii() and value.isdigit()):
        return False
    try:
        dt.date(2000 + int(value[:2]), int(value[2:4]), int(value[4:]))  # 2000: a leap year
    except ValueError:
        return False
    return True


def yymmdd(date: dt.date | None) -> str:
    return NO_EXPIRY if date is None else date.strftime("%y%m%d")


def key_from_mrz_text(text: str) -> MrzKey:
    """The key in a typed or scanned MRZ; ValueError naming each field whose check digit
    is wrong (a misread character), before the card is touched."""
    m = parse_mrz(text)
    if m.bad_checks:
        raise ValueError(f"MRZ check digit wrong for: {', '.join(m.bad_checks)}")
    return MrzKey(m.document_number, m.date_of_birth, m.date_of_expiry)


def _birthday(dob: dt.date, age: int) -> dt.date:
    try:
        return dob.replace(year=dob.year + age)
    except ValueError:  # born 29 February
        return dt.date(dob.year + age, 2, 28)


def renewal_expiry(date_of_birth: dt.date, issue_date: dt.date) -> dt.date | None:
    """The printed expiry by the renewal-age rule; None means no expiry."""
    for i, age in enumerate(RENEWAL_AGES):
        milestone = _birthday(date_of_birth, age)
        if milestone <= issue_date:
            continue
        if issue_date >= _years_before(milestone, 2):
            # Issued within two years before this age: valid to the next one.
            if i + 1 < len(RENEWAL_AGES):
                return _birthday(date_of_birth, RENEWAL_AGES[i + 1])
            return None
        return milestone
    return None


def _years_before(date: dt.date, years: int) -> dt.date:
    try:
        return date.replace(year=date.year - years)
    except ValueError:
        return dt.date(date.year - years, 2, 28)


def expiry_candidates(date_of_birth: dt.date, issue_date: dt.date) -> list[dt.date | None]:
    """The rule's expiry first, then the neighbouring milestones (tried after 6300)."""
    primary = renewal_expiry(date_of_birth, issue_date)
    ladder: list[dt.date | None] = [
        _birthday(date_of_birth, a)
        for a in RENEWAL_AGES
        if _birthday(date_of_birth, a) > issue_date
    ]
    ladder.append(None)
    idx = ladder.index(primary)
    out = [primary]
    for j in (idx - 1, idx + 1):
        if 0 <= j < len(ladder):
            out.append(ladder[j])
    if date_of_birth.month == 2 and date_of_birth.day == 29 and primary is not None:
        out.append(dt.date(primary.year, 3, 1))
    return out


def keys_from_qr_values(
    id_number: str, date_of_birth: dt.date, issue_date: dt.date
) -> list[AccessKey]:
    """CAN first (needs no dates), then BAC/PACE-MRZ keys for each expiry candidate."""
    if not (id_number.isdigit() and len(id_number) == 12):
        raise ValueError("ID number must be 12 digits")
    keys: list[AccessKey] = [CanKey(id_number[-6:])]
    for expiry in expiry_candidates(date_of_birth, issue_date):
        keys.append(MrzKey(id_number[-9:], yymmdd(date_of_birth), yymmdd(expiry)))
    return keys
