import contextlib
import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kiosk.services.patient_file import PatientFileError, identity_from_json, insurance_from_json

NOW = dt.datetime(2026, 11, 23, 2, 30, tzinfo=dt.UTC)


def test_card_read_output_becomes_a_chip_identity():
    ident = identity_from_json({"id_number": "001168000001", "full_name": "Nguyễn Văn A",
                                "date_of_birth": "1968-03-14", "sex": "Nam",
                                "authentication": {"passive": "untrusted"}})
    assert (ident.source, ident.verification) == ("chip", "chip_untrusted")
    assert ident.date_of_birth == dt.date(1968, 3, 14)
    manual = identity_from_json({"full_name": "Lò Văn Pằn", "date_of_birth": "1950"})
    assert (manual.source, manual.verification, manual.date_of_birth) == ("manual", "none", 1950)


@pytest.mark.parametrize("auth", [
    {"passive": "verified", "active": "failed", "failures": ["active authentication: …"]},
    {"passive": "verified", "active": "absent", "failures": ["DG15 is listed in EF.SOD but "
                                                              "not served"]},
    {"passive": "failed", "active": "verified"},
])
def test_a_card_that_failed_verification_is_never_registered(auth):
    """Issue 24: `kiosk card read` printed the JSON and exited 7 (a possible clone)."""
    with pytest.raises(PatientFileError, match="failed verification"):
        identity_from_json({"id_number": "001168000001", "full_name": "Nguyễn Văn A",
                            "authentication": auth})


def test_decomposed_names_are_stored_nfc():
    ident = identity_from_json({"full_name": "Nguye\u0302\u0303n"})
    assert ident.full_name == "Nguyễn"


def test_missing_insurance_means_not_checked():
    ident = identity_from_json({"full_name": "A B", "id_number": "001168000001"})
    result = insurance_from_json(None, ident, NOW)
    assert result.outcome == "unavailable" and not result.checked
    assert result.card_key == "001168000001"


@pytest.mark.parametrize("data", [
    [], "x", {"full_name": None}, {"full_name": "A", "sex": "M"},
    {"full_name": "A", "source": "telepathy"}, {"full_name": "A" * 201},
])
def test_bad_identities(data):
    with pytest.raises(PatientFileError):
        identity_from_json(data)


json_leaf = st.none() | st.booleans() | st.integers() | st.text(max_size=20)
json_value = st.recursive(json_leaf, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
    st.text(max_size=12), inner, max_size=4), max_leaves=12)
keys = st.sampled_from(["full_name", "id_number", "date_of_birth", "sex", "source",
                        "verification", "authentication", "issue_date", "bhyt_card",
                        "outcome", "card", "checked_at", "code", "message_vi"])


@given(st.dictionaries(keys, json_value, max_size=8), json_value)
def test_any_json_is_parsed_or_refused_with_a_typed_error(data, insurance):
    try:
        ident = identity_from_json(data)
        insurance_from_json(insurance, ident, NOW)
    except PatientFileError:
        pass


@given(st.dictionaries(keys, json_value, max_size=8))
def test_any_insurance_json_is_parsed_or_refused(data):
    ident = identity_from_json({"full_name": "A B"})
    with contextlib.suppress(PatientFileError):
        insurance_from_json(data, ident, NOW)
