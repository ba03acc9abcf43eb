"""Every BHXH result code in DOMAIN.md §5 has an outcome and patient-safe messages."""

import re
import unicodedata

import pytest

from kiosk.domain.bhxh_results import (
    RESULT_CODES,
    benefit_percent,
    for_card,
    interpret,
    registered_facility_matches,
)
from kiosk.domain.insurance import InsuranceCard

# Transcribed from DOMAIN.md §5 ("Result codes: …").
DOMAIN_CODES = ["000", "001", "002", "003", "004", "010", "050", "051", "052", "053", "054",
                "055", "060", "061", "070", "080", "090", "100", "101", "110", "120", "121",
                "122", "123", "124", "130", "205", "401", "500"]

# Written out, not derived from kiosk.domain (a table alike in shape is the point).
EXPECTED_OUTCOME = {
    "000": "usable", "001": "warning", "002": "warning", "003": "warning", "004": "warning",
    "010": "not_usable", "050": "not_usable", "051": "not_usable", "052": "not_usable",
    "053": "not_usable", "054": "misconfigured", "055": "misconfigured", "060": "not_usable",
    "061": "not_usable", "070": "not_usable", "080": "not_usable", "090": "not_usable",
    "100": "unavailable", "101": "unavailable", "110": "not_usable", "120": "not_usable",
    "121": "not_usable", "122": "not_usable", "123": "not_usable", "124": "not_usable",
    "130": "not_usable", "205": "misconfigured", "401": "misconfigured", "500": "unavailable",
}


def test_every_documented_code_is_interpreted():
    assert sorted(RESULT_CODES) == DOMAIN_CODES
    assert set(EXPECTED_OUTCOME) == set(DOMAIN_CODES)


@pytest.mark.parametrize("code", DOMAIN_CODES)
def test_outcome_and_messages(code):
    m = interpret(code)
    assert m.code == code
    assert m.outcome == EXPECTED_OUTCOME[code]
    for text in (m.message_vi, m.message_en):
        assert text.strip() and not re.search(r"\b\d{3}\b", text)  # never a raw code
    assert unicodedata.is_normalized("NFC", m.message_vi)
    assert re.search(r"[ạảãàáâậầấẩẫăắằặẳẵêệềếểễôộồốổỗơợờớởỡưựừứửữđ]", m.message_vi)
    assert m.staff_detail.startswith(code)
    assert m.message_vi != m.message_en


def test_clients_treat_000_to_004_as_usable():
    for code in DOMAIN_CODES:
        usable = EXPECTED_OUTCOME[code] in ("usable", "warning")
        assert usable == (code in {"000", "001", "002", "003", "004"})


def test_only_server_errors_are_retried():
    assert {c for c in DOMAIN_CODES if interpret(c).transient} == {"101", "500"}


def test_not_usable_messages_say_what_to_do_next():
    for code in DOMAIN_CODES:
        m = interpret(code)
        if m.outcome == "not_usable":
            assert any(w in m.message_vi for w in ("quầy tiếp đón", "dịch vụ", "BHXH"))


def test_unknown_and_missing_codes_do_not_block():
    assert interpret("999").outcome == "unavailable"
    assert interpret(None).outcome == "unavailable" and interpret(None).transient


def test_other_facility_turns_usable_into_warning():
    here = InsuranceCard(card_number="GD4010123456789", registered_facility="01824")
    there = InsuranceCard(card_number="GD4010123456789", registered_facility="48001")
    assert registered_facility_matches(here, "01824") is True
    assert registered_facility_matches(there, "01824") is False
    assert registered_facility_matches(InsuranceCard(), "01824") is None
    assert for_card(interpret("000"), here, "01824").outcome == "usable"
    warned = for_card(interpret("000"), there, "01824")
    assert warned.outcome == "warning" and "48001" in warned.staff_detail
    assert for_card(interpret("010"), there, "01824").outcome == "not_usable"


def test_benefit_estimate_from_card_code():
    assert benefit_percent(InsuranceCard(card_number="GD4010123456789")) == 80
    assert benefit_percent(InsuranceCard(card_number="GD4010123456789",
                                         new_card_number="GD3010123456789")) == 95
    assert benefit_percent(InsuranceCard(card_number="0123456789")) is None
    assert benefit_percent(None) is None
