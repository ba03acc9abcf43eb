"""Card numbers, IDs and dates use the digits 0-9 only: `str.isdigit()` and regex `\\d`
also accept "²", "٣" or "３", which then fail deep inside (or convert silently)."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kiosk.domain.bhyt import parse_bhyt_number
from kiosk.domain.citizen_id import parse_citizen_id
from kiosk.domain.dates import parse_dmy, parse_dmy_compact, parse_dmy_or_year
from kiosk.domain.errors import DomainError
from kiosk.domain.qr_payload import parse_qr
from kiosk.domain.queue import opening_minutes
from kiosk.domain.text import has_foreign_digit, has_surrogate, is_ascii_digits

FOREIGN_DIGITS = st.sampled_from([chr(c) for c in range(0x80, 0x20000) if chr(c).isdigit()])
VALID = {
    "cccd": "001185012345",
    "bhyt": "HS4010120878811",
    "qr": "001185012345|012345678|Nguyễn Thị Hồng Nhung|14031985|Nữ|Hà Nội|02072021|",
    "dmy": "14/03/1985",
    "compact": "14031985",
    "hours": "07:00-16:30",
}
PARSERS = {
    "cccd": parse_citizen_id, "bhyt": parse_bhyt_number, "qr": parse_qr, "dmy": parse_dmy,
    "compact": parse_dmy_compact, "hours": opening_minutes,
}


def test_helpers():
    assert is_ascii_digits("0123") and not is_ascii_digits("01²3") and not is_ascii_digits("")
    assert has_foreign_digit("12٣") and not has_foreign_digit("123abc")
    assert has_surrogate("a\ud800") and not has_surrogate("Nguyễn")


@pytest.mark.parametrize("kind", sorted(VALID))
@given(digit=FOREIGN_DIGITS, where=st.integers(min_value=0, max_value=60))
def test_one_foreign_digit_is_refused(kind, digit, where):
    text = VALID[kind]
    positions = [i for i, c in enumerate(text) if c.isdigit()]
    i = positions[where % len(positions)]
    hostile = text[:i] + digit + text[i + 1:]
    PARSERS[kind](text)  # the untouched value parses
    with pytest.raises(DomainError):
        PARSERS[kind](hostile)


def test_year_only_births_are_ascii_too():
    assert parse_dmy_or_year("1950") == 1950
    with pytest.raises(DomainError):
        parse_dmy_or_year("195٠")
