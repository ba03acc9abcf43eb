import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kiosk.domain.bhyt import parse_bhyt_number
from kiosk.domain.errors import InvalidBhytNumber


def test_fifteen_character_card():
    n = parse_bhyt_number("HS4010120878811")
    assert n.to_json() == {
        "format": "bhyt15", "beneficiary_code": "HS", "benefit_level": 4,
        "benefit_percent": 80, "province_code": "01", "bhxh_number": "0120878811",
    }


@pytest.mark.parametrize(("digit", "percent"), [("1", 100), ("2", 100), ("3", 95), ("4", 80),
                                                ("5", 100)])
def test_benefit_levels(digit, percent):
    assert parse_bhyt_number(f"DN{digit}790123456789").benefit_percent == percent


def test_lower_case_and_spaces_are_normalised():
    assert parse_bhyt_number(" hs4 01 0120878811 ").card_number == "HS4010120878811"


def test_ten_and_twelve_digit_forms():
    ten = parse_bhyt_number("0120878811")
    assert (ten.format, ten.bhxh_number, ten.beneficiary_code) == ("bhxh10", "0120878811", None)
    twelve = parse_bhyt_number("001185012345")
    assert twelve.format == "cccd12"
    assert twelve.to_json()["bhxh_number"] is None


@pytest.mark.parametrize(
    ("bad", "message"),
    [("HS9010120878811", "benefit digit"), ("1S4010120878811", "letters"),
     ("HS4000120878811", "province code 00"), ("HS40X0120878811", "province"),
     ("12345", "15 characters"), ("003090000001", "personal ID"), ("", "15 characters")],
)
def test_invalid_numbers_say_why(bad, message):
    with pytest.raises(InvalidBhytNumber, match=message):
        parse_bhyt_number(bad)


@given(st.text(max_size=40))
def test_never_crashes(text):
    with contextlib.suppress(InvalidBhytNumber):
        parse_bhyt_number(text)
