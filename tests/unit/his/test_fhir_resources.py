"""Every resource the FHIR adapter sends is valid R4 (checked with fhir.resources' R4B
models, which share these resources' R4 structure)."""

import datetime as dt

import pytest
from fhir.resources.R4B.appointment import Appointment
from fhir.resources.R4B.coverage import Coverage
from fhir.resources.R4B.encounter import Encounter
from fhir.resources.R4B.patient import Patient

from kiosk.services.his.base import HisPatient, HisVisit
from kiosk.services.his.fhir import resources as r

S = r.Systems()
HANOI = dt.timezone(dt.timedelta(hours=7))
PATIENTS = [
    HisPatient("001168000001", "Công Tằng Tôn Nữ Thị Huyền Trân", dt.date(1968, 3, 14), "Nữ",
               "Số 12 Phố Huế, Hai Bà Trưng, Hà Nội", "GD4790100000001",
               dt.date(2026, 1, 1), dt.date(2026, 12, 31), "01824"),
    HisPatient(None, "Lò Văn Pằn", 1950, "Nam", None, "HT2380123498765"),
    HisPatient("079099007777", "Mai", None, None, None, None),
]
VISIT = HisVisit("9f8e7d6c5b4a39281706f5e4d3c2b1a0", "KB-NOI", "Khám Nội tổng quát", "NOI",
                 "Phòng 101, tầng 1", "A-001", dt.datetime(2026, 11, 23, 9, 41, tzinfo=HANOI),
                 "unavailable", "GD4790100000001")


@pytest.mark.parametrize("p", PATIENTS)
def test_patient_and_coverage_validate(p):
    patient = Patient.model_validate(r.patient(p, S))
    assert patient.name[0].text == p.full_name
    cover = r.coverage(p, "17", S)
    if p.bhyt_card:
        assert Coverage.model_validate(cover).beneficiary.reference == "Patient/17"
    else:
        assert cover is None


def test_patient_details():
    res = r.patient(PATIENTS[0], S)
    assert res["identifier"][0]["system"] == "http://fhir.hl7.org.vn/core/sid/cccd"
    assert res["identifier"][1]["system"] == "http://fhir.hl7.org.vn/core/sid/bhyt"
    assert res["name"][0]["family"] == "Công" and res["gender"] == "female"
    assert r.patient(PATIENTS[1], S)["birthDate"] == "1950"
    assert r.primary_identifier(PATIENTS[1], S) == (S.bhyt, "HT2380123498765")
    assert r.primary_identifier(HisPatient(None, "X", None, None, None, None), S) is None


def test_encounter_and_appointment_validate():
    enc = Encounter.model_validate(r.encounter(VISIT, "17", S))
    assert enc.subject.reference == "Patient/17"
    assert enc.identifier[0].value == VISIT.registration_id
    assert enc.identifier[1].period.start.isoformat() == "2026-11-23"
    appt = Appointment.model_validate(r.appointment(VISIT, "17", S))
    assert appt.participant[0].actor.reference == "Patient/17"


def test_systems_are_configurable():
    s = r.Systems.from_settings({"systems": {"cccd": "https://his.bv.vn/sid/cccd",
                                             "nonsense": "x"}})
    assert s.cccd == "https://his.bv.vn/sid/cccd" and s.bhyt == S.bhyt
