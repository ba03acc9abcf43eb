import contextlib
import datetime as dt
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kiosk.domain.errors import MalformedQr
from kiosk.domain.qr_payload import BhytQr, CccdQr, UnknownQr, parse_qr

CCCD_2021 = "001185012345|012345678|Nguyễn Thị Hồng Nhung|14031985|Nữ|Số 12 Hàng Bột, Đống Đa, Hà Nội|02072021"
# Căn cước 2024: empty CMND, extra trailing fields (cancelled numbers, parents).
CAN_CUOC_2024 = "038058004321||Lê Văn Thưởng|02111958|Nam|Thôn Đông, Quảng Xương, Thanh Hóa|20012024||Lê Văn A|Trần Thị B|"
BHYT_SAMPLE = (  # DOMAIN.md §11, the vendor's public test card
    "DN401AA31900313|4cc3aa205669e1bb87742048c6b06e67|04/09/1985|1|"
    + "Hà Nội".encode().hex()
    + "|01 - 043|01/07/2017|31/12/2017|21/07/2017|01059710639215|-|4| 01/07/2022|1f2fa22c47f0bd18-7102|$"
)


def test_cccd_2021():
    qr = parse_qr(CCCD_2021)
    assert isinstance(qr, CccdQr)
    assert qr.to_json() == {
        "kind": "cccd", "id_number": "001185012345", "old_id_number": "012345678",
        "full_name": "Nguyễn Thị Hồng Nhung", "date_of_birth": "1985-03-14", "sex": "Nữ",
        "residence": "Số 12 Hàng Bột, Đống Đa, Hà Nội", "issue_date": "2021-07-02",
        "extra_fields": [],
    }
    assert qr.can == "012345"


def test_can_cuoc_2024_with_trailing_fields():
    qr = parse_qr(CAN_CUOC_2024)
    assert isinstance(qr, CccdQr)
    assert qr.old_id_number is None
    assert qr.extra_fields == ("", "Lê Văn A", "Trần Thị B", "")


def test_decomposed_unicode_is_normalised_to_nfc():
    qr = parse_qr(unicodedata.normalize("NFD", CCCD_2021))
    assert isinstance(qr, CccdQr)
    assert qr.full_name == unicodedata.normalize("NFC", "Nguyễn Thị Hồng Nhung")
    assert qr.sex == "Nữ"


def test_bhyt_card_qr_sample():
    qr = parse_qr(BHYT_SAMPLE)
    assert isinstance(qr, BhytQr)
    j = qr.to_json()
    assert j["card_number"] == "DN401AA31900313"
    assert j["full_name"] == "Lê Việt Hưng"
    assert j["date_of_birth"] == "1985-09-04"
    assert j["sex"] == "Nam"
    assert j["address"] == "Hà Nội"
    assert j["registered_facility"] == "01043"
    assert (j["valid_from"], j["valid_to"]) == ("2017-07-01", "2017-12-31")
    assert j["five_year_date"] == "2022-07-01"  # leading space tolerated


def test_bhyt_open_ended_validity_and_year_only_birth():
    payload = BHYT_SAMPLE.replace("31/12/2017", "-").replace("04/09/1985", "1985")
    qr = parse_qr(payload)
    assert isinstance(qr, BhytQr)
    assert qr.valid_to is None
    assert qr.to_json()["date_of_birth"] == "1985"


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (CCCD_2021.replace("14031985", "31021985"), "impossible date"),
        (CCCD_2021.replace("14031985", "14031986"), "birth year"),  # ID says 1985
        (CCCD_2021.replace("|Nữ|", "|Nam|"), "sex"),  # ID digit says female
        (CCCD_2021.replace("|Nữ|", "|X|"), "Nam or Nữ"),
        (CCCD_2021.rsplit("|", 1)[0], "7 fields"),
        (CCCD_2021.replace("001185012345", "003185012345"), "province"),
        (CCCD_2021.replace("02072021", "02071980"), "before the date of birth"),
        (BHYT_SAMPLE.replace("4cc3aa205669", "zzc3aa205669"), "hex"),
        (BHYT_SAMPLE.replace("4cc3aa205669", "ffc3aa205669"), "UTF-8"),
        (BHYT_SAMPLE.replace("|1|", "|7|", 1), "sex"),
        (BHYT_SAMPLE.replace("|01 - 043|", "|01 - 0434|"), "5-character"),
        (BHYT_SAMPLE.replace("01/07/2017|31/12/2017", "01/07/2017|31/12/2016"), "ends before"),
        ("|".join(BHYT_SAMPLE.split("|")[:9]) + "|x|y|$", "at least 14 fields"),
    ],
)
def test_malformed_payloads_are_rejected_with_a_reason(payload, message):
    with pytest.raises(MalformedQr, match=message):
        parse_qr(payload)


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ("https://vneid.gov.vn/", "url"),
        ("00020101021238570010A000000727012700069704220113VQRQ0001234560208QRIBFTTA53037045802VN6304ABCD", "payment"),
        ("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ2bmVpZCJ9.c2lnbmF0dXJl", "vneid_token"),
        ("hello", "other"),
        ("   ", "empty"),
    ],
)
def test_unknown_codes_tell_the_patient_what_to_show(payload, reason):
    qr = parse_qr(payload)
    assert isinstance(qr, UnknownQr)
    assert qr.reason == reason
    if reason != "empty":
        assert "Căn cước" in qr.message_vi and "citizen ID" in qr.message_en
    assert not any(ch.isdigit() for ch in qr.message_vi)  # no raw codes for patients


def test_identity_from_qr_keeps_source():
    qr = parse_qr(CCCD_2021)
    assert isinstance(qr, CccdQr)
    identity = qr.to_identity()
    assert identity.source == "qr_cccd" and identity.verification == "none"
    assert identity.date_of_birth == dt.date(1985, 3, 14)


@given(st.text(max_size=300))
def test_arbitrary_text_never_crashes(text):
    with contextlib.suppress(MalformedQr):
        parse_qr(text)


@given(st.lists(st.text(alphabet=st.characters(blacklist_characters="|"), max_size=20),
                min_size=6, max_size=20), st.booleans())
def test_pipe_delimited_garbage_never_crashes(fields, dollar):
    text = "|".join(fields) + ("|$" if dollar else "")
    with contextlib.suppress(MalformedQr):
        parse_qr(text)
