import datetime as dt

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from kiosk.config.rest_mapping import PATIENT_FIELDS, check
from kiosk.services.his.base import NOT_RECORDED, HisPatient, HisVisit
from kiosk.services.his.rest import MappingError, RestAdapter
from kiosk.services.his.rest.mapping import (
    complete,
    patient_values,
    pick,
    render,
    visit_values,
)
from kiosk.services.his.simulator import mapping

PATIENT = HisPatient("001168000001", "Nguyễn Thị Minh Khai", dt.date(1968, 3, 14), "Nữ",
                     "Hà Nội", "GD4790100000001", dt.date(2026, 1, 1), None, "01824")


def test_whole_placeholders_keep_their_type_and_mixed_ones_format():
    values = {"patient_ref": "42", "queue_number": "B-023", "sex_code": 2, "bhyt_card": None}
    tpl = {"bn": "{patient_ref}", "stt": "STT {queue_number}", "gt": "{sex_code}",
           "the": "{bhyt_card}", "list": ["{sex_code}", 7], "fixed": True}
    assert render(tpl, values) == {"bn": "42", "stt": "STT B-023", "gt": 2, "the": None,
                                   "list": [2, 7], "fixed": True}


def test_patient_values():
    v = patient_values(PATIENT)
    assert v["date_of_birth"] == "1968-03-14" and v["birth_year"] == 1968
    assert v["sex_code"] == 2 and v["bhyt_valid_to"] is None
    year_only = patient_values(HisPatient(None, "A B", 1950, None, None, None))
    assert year_only["date_of_birth"] == 1950 and year_only["sex_code"] == 3


def test_visit_values_use_local_date():
    hanoi = dt.timezone(dt.timedelta(hours=7))
    visit = HisVisit("r1", "KB", "Khám", "NOI", "P1", "A-001",
                     dt.datetime(2026, 11, 24, 0, 30, tzinfo=hanoi), "usable", None)
    assert visit_values(visit, "9")["created_date"] == "2026-11-24"


def test_unknown_fields_are_configuration_errors():
    with pytest.raises(MappingError, match="full_nam"):
        check({"ho_ten": "{full_nam}"}, PATIENT_FIELDS, "x")
    settings = mapping("http://127.0.0.1:1")
    settings["create_visit"] = {"path": "/b", "body": {"x": "{queue}"}}
    with pytest.raises(MappingError, match="create_visit"):
        RestAdapter(settings)
    with pytest.raises(ValueError, match="plain http"):
        RestAdapter(mapping("http://his.example.vn"))
    RestAdapter(mapping("http://his.example.vn", allow_http=True)).close()


def test_update_insurance_names_the_visit_not_the_patient():
    settings = mapping("http://127.0.0.1:1")
    settings["update_insurance"] = {"path": "/b/{patient_ref}", "body": {}}
    with pytest.raises(MappingError, match="update_insurance.*patient_ref"):
        RestAdapter(settings)
    del settings["update_insurance"]  # a vendor API without the field: nothing is sent
    adapter = RestAdapter(settings)
    visit = HisVisit("r1", "KB", "Khám", "NOI", "P1", "A-001",
                     dt.datetime(2026, 11, 24, 8, 0, tzinfo=dt.UTC), "usable", None)
    assert adapter.update_insurance("17", visit) == NOT_RECORDED
    adapter.close()


def test_complete_and_pick():
    assert complete({"cccd": "{id_number}"}, {"id_number": "1"})
    assert not complete({"cccd": "{id_number}"}, {"id_number": None})
    assert pick({"data": [{"id": 5}]}, "data.0.id") == 5
    assert pick({"data": []}, "data.0.id") is None
    assert pick([1, 2], "") == [1, 2]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner,
                                                               max_size=4),
    max_leaves=20)


@given(json_values, st.text(max_size=20))
def test_pick_never_crashes(data, path):
    pick(data, path)


@example("{}")
@example("BN-{0}")
@given(st.text(max_size=40))
def test_templates_are_checked_or_rejected(template):
    try:
        check(template, PATIENT_FIELDS, "t")
    except MappingError:
        return
    render(template, patient_values(PATIENT))  # an accepted template renders
