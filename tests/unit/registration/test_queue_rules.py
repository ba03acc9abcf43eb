import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kiosk.domain.errors import DomainError
from kiosk.domain.queue import (
    check_queue_format,
    format_queue_number,
    is_open,
    queue_day,
)


def test_default_format_gives_b_023():
    assert format_queue_number("{prefix}-{seq:03d}", "B", 23) == "B-023"
    assert format_queue_number("{department}{seq:04d}", "B", 7, "NOI") == "NOI0007"


@pytest.mark.parametrize("fmt", ["{prefix}", "{seq:03d}{name}", "{seq:zz}", "{", "{0}"])
def test_bad_formats_are_refused(fmt):
    with pytest.raises(DomainError):
        check_queue_format(fmt)


@given(st.text(max_size=30))
def test_any_format_text_is_either_accepted_or_a_domain_error(fmt):
    try:
        check_queue_format(fmt)
    except DomainError:
        return
    # an accepted format keeps numbers apart
    assert format_queue_number(fmt, "A", 5, "D") != format_queue_number(fmt, "A", 6, "D")


def test_queue_day_is_facility_local():
    # 23:30 UTC on the 22nd is 06:30 on the 23rd in Hà Nội: numbers already reset.
    late = dt.datetime(2026, 11, 22, 23, 30, tzinfo=dt.UTC)
    assert queue_day(late, "Asia/Ho_Chi_Minh") == "2026-11-23"
    assert queue_day(late, "UTC") == "2026-11-22"
    with pytest.raises(ValueError):
        queue_day(dt.datetime(2026, 11, 22), "UTC")


@pytest.mark.parametrize(("hours", "hhmm", "expected"), [
    ("07:00-16:30", "06:59", False), ("07:00-16:30", "07:00", True),
    ("07:00-16:30", "16:29", True), ("07:00-16:30", "16:30", False),
    ("00:00-24:00", "00:00", True), ("00:00-24:00", "23:59", True),
    ("22:00-06:00", "23:00", True), ("22:00-06:00", "05:59", True),
    ("22:00-06:00", "12:00", False), ("08:00-08:00", "08:00", False),
])
def test_opening_hours(hours, hhmm, expected):
    h, m = map(int, hhmm.split(":"))
    assert is_open(hours, dt.datetime(2026, 11, 23, h, m)) is expected


@pytest.mark.parametrize("hours", ["7-16", "25:00-26:00", "07:00-24:30", "07:61-08:00"])
def test_bad_hours_are_domain_errors(hours):
    with pytest.raises(DomainError):
        is_open(hours, dt.datetime(2026, 11, 23, 9, 0))
