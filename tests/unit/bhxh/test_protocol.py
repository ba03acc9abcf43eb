"""Gateway wire format: answers, tokens, card details, name/date matching (fuzzed)."""

import contextlib
import datetime as dt
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.services.bhxh.errors import GatewayProtocolError
from kiosk.services.bhxh.matching import parse_gateway_date, same_birth, same_name, same_name_exact
from kiosk.services.bhxh.protocol import (
    card_from_answer,
    check_body,
    decode_json_object,
    keep_fields,
    parse_token,
    password_md5,
    result_code,
)

ANSWER = {
    "maKetQua": "004", "ghiChu": "Thẻ cũ còn giá trị sử dụng, được cấp thẻ mới",
    "maThe": "ht3380123498765", "hoTen": "LÊ  VĂN THƯỞNG", "ngaySinh": "02/11/1958",
    "gioiTinh": "1", "diaChi": "Thanh Hóa", "maDKBD": "38 - 001", "gtTheTu": "01/01/2025",
    "gtTheDen": "31/12/2026", "maKV": "5", "ngayDu5Nam": " 01/07/2022", "maSoBHXH": "3801234987",
    "maTheMoi": "HT2380123498765", "gtTheTuMoi": "01/07/2025", "gtTheDenMoi": "30/06/2027",
    "dsLichSuKCB2018": [{"maCSKCB": "38001"}], "dsLichSuKT2018": None,
}


def test_md5_is_upper_hex():
    assert password_md5("abc") == "900150983CD24FB0D6963F7D28E17F72"  # RFC 1321 vector


def test_check_body_carries_operator_and_dmy():
    body = check_body(" ht3380123498765 ", "Lê  Văn Thưởng", dt.date(1958, 11, 2),
                      "Trần Thị Lan", "001185000123")
    assert body == {"maThe": "HT3380123498765", "hoTen": "Lê Văn Thưởng", "ngaySinh": "02/11/1958",
                    "hoTenCb": "Trần Thị Lan", "cccdCb": "001185000123"}
    assert check_body("0123456789", "A B", 1950, "x", "y")["ngaySinh"] == "1950"


def test_card_details_are_normalised():
    card = card_from_answer(ANSWER)
    assert card is not None
    assert card.card_number == "HT3380123498765" and card.full_name == "LÊ VĂN THƯỞNG"
    assert card.sex == "Nam" and card.registered_facility == "38001" and card.area_code == "K1"
    assert card.valid_to == dt.date(2026, 12, 31) and card.five_year_date == dt.date(2022, 7, 1)
    assert card.new_card_number == "HT2380123498765"
    assert card.new_valid_to == dt.date(2027, 6, 30)
    assert "dsLichSuKCB2018" not in keep_fields(ANSWER)  # no medical history kept


def test_no_card_when_answer_names_none():
    assert card_from_answer({"maKetQua": "050", "maThe": None, "hoTen": None}) is None


@pytest.mark.parametrize(("raw", "code"), [("000", "000"), (0, "000"), ("4", "004"), (401, "401"),
                                           (" 010 ", "010")])
def test_result_code_forms(raw, code):
    assert result_code({"maKetQua": raw}) == code


@pytest.mark.parametrize("raw", [None, True, "", "abc", "0000", 1.5, [], {}])
def test_bad_result_codes(raw):
    with pytest.raises(GatewayProtocolError):
        result_code({"maKetQua": raw})


@pytest.mark.parametrize(("body", "words"), [
    (b"", "empty"), (b'{"maKetQua": "000", "hoTen": "L', "truncated"),
    (b"<html><body>503</body></html>", "HTML"), (b"[1, 2]", "list"),
    (b"\xff\xfe\x00", "UTF-8"), (b"{maKetQua: 000}", "malformed"),
])
def test_garbled_answers_are_typed_errors(body, words):
    with pytest.raises(GatewayProtocolError, match=words):
        decode_json_object(body)


def test_token_answer():
    grant = parse_token({"maKetQua": "200", "APIKey": {"access_token": "a", "id_token": "b",
                                                       "expires_in": "1800"}})
    assert grant.access_token == "a" and grant.expires_in_s == 1800
    assert parse_token({"APIKey": {"access_token": "a", "id_token": "b",
                                   "expires_in": "NaN"}}).expires_in_s == 60
    with pytest.raises(GatewayProtocolError):
        parse_token({"maKetQua": "200", "APIKey": "x"})


def test_names_match_ignoring_case_spacing_and_diacritics():
    chip = "Nguyễn Thị Hồng Nhung"
    assert same_name(chip, "NGUYỄN  THỊ HỒNG NHUNG")
    assert same_name(chip, "Nguyen Thi Hong Nhung")
    nfd = "Nguye\u0302\u0303n Thi\u0323 Ho\u0302\u0300ng Nhung"
    assert same_name(chip, nfd) and same_name_exact(chip, nfd)
    assert same_name("Đặng Thị Xuân", "DANG THI XUAN")
    assert not same_name_exact(chip, "Nguyen Thi Hong Nhung")
    assert not same_name(chip, "Nguyễn Thị Hồng Nhàn") and not same_name(chip, None)


def test_dates_full_and_year_only():
    assert parse_gateway_date("02/11/1958") == dt.date(1958, 11, 2)
    assert parse_gateway_date("1950") == 1950
    assert parse_gateway_date("19581102") == dt.date(1958, 11, 2)
    assert parse_gateway_date("31/02/1958") is None and parse_gateway_date(None) is None
    assert same_birth(dt.date(1950, 5, 1), 1950) and same_birth(1950, 1950)
    assert not same_birth(dt.date(1958, 11, 2), dt.date(1958, 11, 3))
    assert not same_birth(None, 1950)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                 max_size=4),
    max_leaves=12,
)
field_names = st.sampled_from(list(ANSWER) + ["APIKey", "x"])


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=300))
def test_fuzz_decode_bytes(body):
    with contextlib.suppress(GatewayProtocolError):
        assert isinstance(decode_json_object(body), dict)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_fuzz_decode_mutated_answer(tail):
    full = json.dumps(ANSWER, ensure_ascii=False)
    cut = full[: len(tail) % len(full)] + tail
    with contextlib.suppress(GatewayProtocolError):
        decode_json_object(cut.encode("utf-8", "surrogatepass"))


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(field_names, json_values, max_size=12))
def test_fuzz_answer_fields_never_crash(data):
    card_from_answer(data)  # odd fields become None, never an exception
    keep_fields(data)
    with contextlib.suppress(GatewayProtocolError):
        assert len(result_code(data)) == 3
    with contextlib.suppress(GatewayProtocolError):
        parse_token(data)
    card = card_from_answer(data)
    if card is not None:
        json.dumps(card.to_json(), ensure_ascii=False)
