"""Access keys: MRZ check digits, TD1/TD3, the renewal-age rule for QR-derived BAC keys."""

from __future__ import annotations

import datetime as dt

import pytest

from drivers.emrtd.errors import ParseError
from drivers.emrtd.keys import (
    CanKey,
    MrzKey,
    expiry_candidates,
    key_from_mrz_text,
    keys_from_qr_values,
    renewal_expiry,
)
from drivers.emrtd.mrz import parse_mrz

D = dt.date
TD3 = "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\nL898902C36UTO7408122F1204159ZE184226B<<<<<10"
TD1 = (
    "IDVNM0901234562001090123456<<<\n9001011M3001019VNM<<<<<<<<<<<3\nNGUYEN<<VAN<A<<<<<<<<<<<<<<<<<"
)


def test_td3_icao_specimen() -> None:
    m = parse_mrz(TD3)
    assert (m.kind, m.document_number, m.date_of_birth, m.date_of_expiry) == (
        "TD3", "L898902C3", "740812", "120415",
    )  # fmt: skip
    assert m.valid and m.primary_name == "ERIKSSON" and m.secondary_name == "ANNA MARIA"


def test_td1_synthetic_cccd_information() -> None:
    m = parse_mrz(TD1)
    assert m.information == "090123456290010113001019"
    assert m.optional_data == "001090123456"
    assert key_from_mrz_text(TD1) == MrzKey("090123456", "900101", "300101")


def test_bad_mrz_is_typed_error() -> None:
    with pytest.raises(ParseError):
        parse_mrz("IDVNM123")
    with pytest.raises(ParseError):
        parse_mrz("A!" * 45)


@pytest.mark.parametrize(
    ("dob", "issue", "expected"),
    [
        (D(1990, 1, 1), D(2021, 5, 10), D(2030, 1, 1)),  # 31 -> 40
        (D(2000, 5, 10), D(2024, 5, 10), D(2040, 5, 10)),  # 1 year before 25 -> 40
        (D(2000, 5, 10), D(2021, 5, 10), D(2025, 5, 10)),  # 21 -> 25
        (D(1985, 3, 14), D(2023, 9, 1), D(2045, 3, 14)),  # 1.5 y before 40 -> 60
        (D(1962, 5, 10), D(2021, 5, 10), None),  # 59, within 2 y of 60 -> none
        (D(1950, 5, 10), D(2021, 5, 10), None),  # after 60 -> none
        (D(2010, 2, 1), D(2023, 1, 1), D(2035, 2, 1)),  # 12.9, within 2 y of 14 -> 25
    ],
)
def test_renewal_age_rule(dob: dt.date, issue: dt.date, expected: dt.date | None) -> None:
    assert renewal_expiry(dob, issue) == expected


def test_neighbouring_milestones_are_candidates() -> None:
    assert expiry_candidates(D(2000, 5, 10), D(2024, 5, 10)) == [
        D(2040, 5, 10), D(2025, 5, 10), D(2060, 5, 10),
    ]  # fmt: skip
    assert expiry_candidates(D(1962, 5, 10), D(2021, 5, 10)) == [None, D(2022, 5, 10)]


def test_qr_keys_can_first_then_mrz() -> None:
    keys = keys_from_qr_values("001300123456", D(2000, 5, 10), D(2024, 5, 10))
    assert keys[0] == CanKey("123456")
    assert keys[1] == MrzKey("300123456", "000510", "400510")
    keys = keys_from_qr_values("001050123456", D(1950, 5, 10), D(2021, 5, 10))
    assert keys[1] == MrzKey("050123456", "500510", "991231")


@pytest.mark.parametrize(("line", "at", "field"), [
    (0, 14, "document number"), (1, 6, "date of birth"), (1, 14, "date of expiry"),
    (1, 29, "composite"),
])
def test_a_wrong_check_digit_names_its_field_before_the_card_is_touched(
        line: int, at: int, field: str) -> None:
    lines = TD1.split("\n")
    digit = str((int(lines[line][at]) + 1) % 10)
    lines[line] = lines[line][:at] + digit + lines[line][at + 1:]
    # The composite covers the other check digits: a wrong one is named first.
    assert parse_mrz("\n".join(lines)).bad_checks[0] == field
    with pytest.raises(ValueError, match=f"check digit wrong for: {field}"):
        key_from_mrz_text("\n".join(lines))


@pytest.mark.parametrize(("doc", "dob", "expiry", "named"), [
    ("090123456", "901301", "300101", "date of birth"),
    ("090123456", "900101", "300230", "date of expiry"),
    ("090123456", "9001O1", "300101", "date of birth"),
    ("0901234567", "900101", "300101", "document number"),
    ("０90123456", "900101", "300101", "document number"),
])
def test_document_data_is_checked_field_by_field(doc: str, dob: str, expiry: str,
                                                 named: str) -> None:
    with pytest.raises(ValueError, match=named):
        MrzKey(doc, dob, expiry)


@pytest.mark.parametrize("can", ["12345", "1234567", "12345a", "１２３４５６", ""])
def test_a_can_is_six_ascii_digits(can: str) -> None:
    with pytest.raises(ValueError, match="CAN must be 6 digits"):
        CanKey(can)
