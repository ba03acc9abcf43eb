"""Queue numbering and opening-hours rules (no I/O).

Queue numbers are per department per day in the facility's local time; the
sequence itself is allocated by the store (`kiosk.services.registration`),
this module only formats it and decides which day and whether a service is
open.
"""

from __future__ import annotations

import datetime as dt
import re
import string
from zoneinfo import ZoneInfo

from kiosk.domain.errors import DomainError

DEFAULT_QUEUE_FORMAT = "{prefix}-{seq:03d}"
_HOURS = re.compile(r"([0-9]{2}):([0-9]{2})-([0-9]{2}):([0-9]{2})")
_FIELDS = {"prefix", "seq", "department"}


def check_queue_format(fmt: str) -> None:
    """Raise DomainError unless `fmt` is a str.format template over prefix/seq/department
    that includes the sequence (a number without it would not be unique)."""
    try:
        names = {name for _, name, _, _ in string.Formatter().parse(fmt) if name is not None}
    except ValueError as exc:
        raise DomainError(f"queue number format {fmt!r} is not valid: {exc}") from None
    if not names <= _FIELDS:
        raise DomainError(f"queue number format {fmt!r} may only use {{prefix}}, {{seq}}, "
                          "{department}")
    if "seq" not in names:
        raise DomainError(f"queue number format {fmt!r} must contain {{seq}}")
    try:
        format_queue_number(fmt, "A", 1, "X")
    except (ValueError, TypeError, KeyError) as exc:
        raise DomainError(f"queue number format {fmt!r} is not valid: {exc}") from None


def format_queue_number(fmt: str, prefix: str, seq: int, department: str = "") -> str:
    """`{prefix}-{seq:03d}` with prefix B and seq 23 gives `B-023`."""
    return fmt.format(prefix=prefix, seq=seq, department=department)


def format_offline_number(prefix: str, kiosk_id: str, seq: int) -> str:
    """A number a kiosk issues on its own while the lobby database is away: `A-K3-007`.

    The kiosk id sits between the prefix and the sequence, so it can equal neither a
    shared number (the facility's format has no kiosk id in it) nor another kiosk's
    offline number (kiosk ids are unique in a facility; the lobby database binds each
    to one database role). Decision 0071.
    """
    if not kiosk_id:
        raise ValueError("an offline number needs the kiosk id")
    return f"{prefix}-{kiosk_id}-{seq:03d}"


def local_now(now: dt.datetime, timezone: str) -> dt.datetime:
    if now.tzinfo is None:
        raise ValueError("a timezone-aware time is required")
    return now.astimezone(ZoneInfo(timezone))


def queue_day(now: dt.datetime, timezone: str) -> str:
    """The facility-local day a registration at `now` belongs to (numbers reset daily)."""
    return local_now(now, timezone).date().isoformat()


def _minutes(hours: str) -> tuple[int, int]:
    m = _HOURS.fullmatch(hours.strip())
    if not m:
        raise DomainError(f"opening hours {hours!r} must look like 07:00-16:30")
    h1, m1, h2, m2 = (int(x) for x in m.groups())
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if h1 > 23 or m1 > 59 or m2 > 59 or end > 24 * 60:
        raise DomainError(f"impossible opening hours {hours!r}")
    return start, end


def opening_minutes(hours: str) -> tuple[int, int]:
    """(start, end) minutes of the day for `07:00-16:30`; DomainError when impossible
    (the configuration checks hours with this, so what it accepts never fails later)."""
    return _minutes(hours)


def is_open(hours: str, local: dt.datetime) -> bool:
    """Is a service with `hours` open at facility-local time `local`?
    `22:00-06:00` spans midnight; `00:00-24:00` is around the clock."""
    start, end = _minutes(hours)
    minute = local.hour * 60 + local.minute
    if start == end:
        return False
    if start < end:
        return start <= minute < end
    return minute >= start or minute < end
