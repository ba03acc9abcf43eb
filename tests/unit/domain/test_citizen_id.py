import contextlib
import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kiosk.domain.citizen_id import parse_citizen_id
from kiosk.domain.errors import InvalidCitizenId


def test_fields_of_a_2000s_female_id():
    cid = parse_citizen_id("079302001234")
    assert cid.province == "TP Hồ Chí Minh"
    assert cid.sex == "Nữ"
    assert cid.birth_year == 2002
    assert cid.can == "001234"
    assert cid.document_number == "302001234"  # last 9 digits, not the first 9


@pytest.mark.parametrize(
    ("number", "year", "sex"),
    [("001090000001", 1990, "Nam"), ("001190000001", 1990, "Nữ"),
     ("001205000001", 2005, "Nam"), ("001305000001", 2005, "Nữ"),
     ("001400000001", 2100, "Nam"), ("001501000001", 2101, "Nữ")],
)
def test_century_and_sex_digit(number, year, sex):
    cid = parse_citizen_id(number)
    assert (cid.birth_year, cid.sex) == (year, sex)


def test_abroad_codes_are_accepted_and_unknown_provinces_rejected():
    assert parse_citizen_id("101090000001").province == "Nước ngoài"
    with pytest.raises(InvalidCitizenId, match="unknown province code 003"):
        parse_citizen_id("003090000001")
    with pytest.raises(InvalidCitizenId, match="unknown province"):
        parse_citizen_id("999090000001")


@pytest.mark.parametrize("bad", ["", "12345678901", "1234567890123", "00109000000a", "00109 000001"])
def test_shape_errors(bad):
    with pytest.raises(InvalidCitizenId, match="12 digits"):
        parse_citizen_id(bad)


def test_consistency_with_date_of_birth_and_sex():
    cid = parse_citizen_id("001185012345")
    cid.check_consistent(dt.date(1985, 3, 14), "Nữ")
    cid.check_consistent(1985, None)
    with pytest.raises(InvalidCitizenId, match="birth year 1985"):
        cid.check_consistent(dt.date(1986, 3, 14), "Nữ")
    with pytest.raises(InvalidCitizenId, match="sex"):
        cid.check_consistent(dt.date(1985, 3, 14), "Nam")


@given(st.text(max_size=30))
def test_never_crashes(text):
    with contextlib.suppress(InvalidCitizenId):
        parse_citizen_id(text)
