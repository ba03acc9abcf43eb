"""Implausible identity data is refused alike from the citizen-ID QR, the BHYT QR and
the chip (decision 0105): births in the future or before 1900, issue dates in the
future or before the birth, names with control/format characters, overlong texts."""

import datetime as dt
import json
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kiosk.domain.errors import MalformedQr
from kiosk.domain.plausible import (
    EARLIEST_BIRTH,
    ImplausibleIdentity,
    check_birth,
    check_issue,
    check_text,
)
from kiosk.domain.qr_payload import parse_qr
from tests.cli_helpers import run_kiosk
from tests.unit.domain.test_qr_payload import BHYT_SAMPLE, CCCD_2021

TODAY = dt.date.today()
BAD_CHARS = ["\u0000", "\u0007", "\u001b", "\u0085", "\u009b", "\u202e", "\u202d", "\u2066",
             "\u200b", "\u200d", "\u2060", "\ufeff", "\u00ad", "\u2028", "\ue000"]


def cccd(name="Nguyễn Thị Hồng Nhung", dob="14031985", issue="02072021"):
    return f"001185012345|012345678|{name}|{dob}|Nữ|Hà Nội|{issue}"


@pytest.mark.parametrize("ch", BAD_CHARS)
def test_a_name_with_an_invisible_or_control_character_is_refused(ch):
    with pytest.raises(MalformedQr, match="invisible or control"):
        parse_qr(cccd(name=f"Nguyễn{ch} Thị Hồng Nhung"))
    fields = BHYT_SAMPLE.split("|")
    fields[1] = f"Nguyễn{ch}Văn".encode().hex()
    with pytest.raises(MalformedQr, match="BHYT QR: full name"):
        parse_qr("|".join(fields))


def test_dates_out_of_range_are_refused():
    # Century digit 0 in the ID (born 1900-1999) must match, so use 20xx for 2090.
    with pytest.raises(MalformedQr, match="date of birth 2090"):
        parse_qr("001285012345|012345678|Nguyễn Văn A|14032090|Nam|Hà Nội|02072021")
    with pytest.raises(MalformedQr, match="issue date 9999-12-31 is in the future"):
        parse_qr(cccd(issue="31129999"))
    with pytest.raises(MalformedQr, match="before the date of birth"):
        parse_qr(cccd(issue="01011980"))
    with pytest.raises(MalformedQr, match="longer than 100"):
        parse_qr(cccd(name="A" * 101))
    fields = BHYT_SAMPLE.split("|")
    fields[1] = "00"  # hex for U+0000
    with pytest.raises(MalformedQr):
        parse_qr("|".join(fields))
    assert parse_qr(CCCD_2021).to_identity().full_name == "Nguyễn Thị Hồng Nhung"


@given(st.dates(min_value=dt.date(1800, 1, 1), max_value=dt.date(2200, 12, 31)))
def test_birth_dates_are_accepted_exactly_between_1900_and_today(born):
    if EARLIEST_BIRTH <= born <= TODAY:
        check_birth(born, TODAY)
    else:
        with pytest.raises(ImplausibleIdentity):
            check_birth(born, TODAY)


@given(st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2100, 1, 1)),
       st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2100, 1, 1)))
def test_issue_dates_lie_between_the_birth_and_today(issued, born):
    if born <= issued <= TODAY:
        check_issue(issued, born, TODAY)
    else:
        with pytest.raises(ImplausibleIdentity):
            check_issue(issued, born, TODAY)


@given(st.text(max_size=120))
def test_text_is_refused_iff_it_holds_a_refused_character_or_is_too_long(text):
    bad = len(text) > 100 or any(unicodedata.category(c)[0] == "C" or
                                 unicodedata.category(c) in ("Zl", "Zp") for c in text)
    if bad:
        with pytest.raises(ImplausibleIdentity):
            check_text(text, "name")
    else:
        assert check_text(text, "name") == text


def test_the_cli_refuses_an_rlo_name_with_exit_2():
    proc = run_kiosk("qr", "parse", "--json", input=cccd(name="Nguyễn\u202eVăn A"))
    assert proc.returncode == 2 and proc.stdout == ""
    assert "invisible or control character (U+202E)" in json.loads(proc.stderr)["error"]["message"]
