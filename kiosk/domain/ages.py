"""Age limits of a service ("0-15": children's clinic; "60-": geriatrics)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from kiosk.domain.dates import age_on
from kiosk.domain.errors import DomainError

_RANGE = re.compile(r"([0-9]{1,3})?-([0-9]{1,3})?")


@dataclass(frozen=True)
class AgeRange:
    """Completed years, both ends included; None: open-ended."""

    low: int | None = None
    high: int | None = None

    @classmethod
    def parse(cls, text: str) -> AgeRange:
        m = _RANGE.fullmatch(text.strip())
        if m is None or not text.strip().strip("-"):
            raise DomainError(f"age range {text!r} must look like 0-15, 16- or -5")
        low, high = (int(g) if g is not None else None for g in m.groups())
        if low is not None and high is not None and low > high:
            raise DomainError(f"age range {text!r} ends before it starts")
        return cls(low, high)

    def admits(self, date_of_birth: dt.date | int | None, today: dt.date) -> bool:
        """An unknown birth date is admitted: staff check at the room, the kiosk must
        not turn away a patient whose card carries no date."""
        if date_of_birth is None:
            return True
        age = age_on(date_of_birth, today)
        return (self.low is None or age >= self.low) and (self.high is None or age <= self.high)

    def __str__(self) -> str:
        return f"{'' if self.low is None else self.low}-{'' if self.high is None else self.high}"


CHILD_UNDER = 16  # Luật Trẻ em 2016: a child is a person under 16


def is_child(date_of_birth: dt.date | int | None, today: dt.date) -> bool:
    """Registered by a parent or guardian (the kiosk asks about "cháu", not "bạn")."""
    return date_of_birth is not None and age_on(date_of_birth, today) < CHILD_UNDER
