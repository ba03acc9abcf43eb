"""The GNU Health adapter against a real GNU Health 5 server on 127.0.0.1."""

import dataclasses
import datetime as dt

import pytest

from kiosk.services.his.base import HisError, HisPatient, HisUnavailable, HisVisit
from kiosk.services.his.gnuhealth import GnuHealthAdapter

PATIENT = HisPatient("001185012345", "Nguyễn Thị Hồng Nhung", dt.date(1985, 3, 14), "Nữ",
                     "Hà Nội", "GD4010123456789", dt.date(2026, 1, 1), dt.date(2026, 12, 31),
                     "01824")


def visit(registration_id="reg-1", queue="A-001"):
    return HisVisit(registration_id, "KB-NOI", "Khám Nội tổng quát", "NOI", "Phòng 101", queue,
                    dt.datetime(2026, 11, 23, 8, 5, tzinfo=dt.timezone(dt.timedelta(hours=7))),
                    "usable", "GD4010123456789")


def test_patient_insurance_and_checked_in_visit(gnuhealth, gnuhealth_settings):
    adapter = GnuHealthAdapter(gnuhealth_settings)
    ref = adapter.find_or_create_patient(PATIENT)
    assert adapter.find_or_create_patient(PATIENT) == ref  # found again by CCCD (PUID)
    appointment = adapter.create_visit(ref, visit())
    rpc = gnuhealth.rpc()
    [patient] = rpc("model.gnuhealth.patient.read", [int(ref)], ["puid", "party"])
    assert patient["puid"] == "001185012345"
    [party] = rpc("model.party.party.read", [patient["party"]], ["name", "lastname", "gender"])
    # Vietnamese order: the given name is the last word.
    assert (party["lastname"], party["name"], party["gender"]) == ("Nguyễn Thị Hồng", "Nhung", "f")
    insurances = rpc("model.gnuhealth.insurance.search_read",
                     [["number", "=", "GD4010123456789"]], 0, None, None, ["party"])
    assert len(insurances) == 1 and insurances[0]["party"] == patient["party"]
    [appt] = rpc("model.gnuhealth.appointment.read", [int(appointment)],
                 ["state", "patient", "insurance", "appointment_date", "comments"])
    assert appt["state"] == "checked_in" and appt["patient"] == int(ref)
    assert appt["insurance"] == insurances[0]["id"]
    assert appt["appointment_date"]["hour"] == 1  # 08:05 in Hà Nội is 01:05 UTC
    assert "A-001" in appt["comments"]


def test_repeated_delivery_does_not_duplicate(gnuhealth, gnuhealth_settings):
    adapter = GnuHealthAdapter(gnuhealth_settings)
    ref = adapter.find_or_create_patient(PATIENT)
    first = adapter.create_visit(ref, visit("reg-7"))
    fresh = GnuHealthAdapter(gnuhealth_settings)  # e.g. after a crash and restart
    assert fresh.create_visit(fresh.find_or_create_patient(PATIENT), visit("reg-7")) == first
    rpc = gnuhealth.rpc()
    assert rpc("model.gnuhealth.appointment.search_count", []) == 1
    assert rpc("model.gnuhealth.patient.search_count", []) == 1
    adapter.create_visit(ref, visit("reg-8", "A-002"))
    assert rpc("model.gnuhealth.appointment.search_count", []) == 2


def test_late_bhyt_outcome_replaces_the_line_in_the_comments(gnuhealth, gnuhealth_settings):
    adapter = GnuHealthAdapter(gnuhealth_settings)
    ref = adapter.find_or_create_patient(PATIENT)
    first = dataclasses.replace(visit("reg-9"), insurance_outcome="unavailable")
    appointment = adapter.create_visit(ref, first)
    rpc = gnuhealth.rpc()

    def comments():
        return rpc("model.gnuhealth.appointment.read", [int(appointment)],
                   ["comments"])[0]["comments"]

    assert comments().endswith("BHYT check: unavailable")
    later = dataclasses.replace(first, insurance_outcome="usable")
    assert adapter.update_insurance(appointment, later) == appointment
    assert adapter.update_insurance(appointment, later) == appointment  # a repeat: same text
    text = comments()
    assert "A-001" in text and text.count("BHYT check:") == 1
    assert text.endswith("BHYT check: usable")
    with pytest.raises(HisError) as gone:
        adapter.update_insurance("999999", later)
    assert not gone.value.transient


def test_bad_credentials_hold_the_queue(gnuhealth, gnuhealth_settings):
    """A wrong password is the kiosk's problem, not the registration's: the queue waits
    (HisUnavailable) instead of dead-lettering every patient."""
    adapter = GnuHealthAdapter({**gnuhealth_settings, "password": "wrong"})
    with pytest.raises(HisUnavailable) as err:
        adapter.find_or_create_patient(PATIENT)
    assert "password" in str(err.value)


def test_counter_made_party_is_reused(gnuhealth, gnuhealth_settings):
    rpc = gnuhealth.rpc()
    party = rpc.create("party.party", {"name": "Nhung", "lastname": "Nguyễn Thị Hồng",
                                       "ref": PATIENT.id_number, "is_person": True,
                                       "fed_country": "VNM", "gender": "f"})
    ref = GnuHealthAdapter(gnuhealth_settings).find_or_create_patient(PATIENT)
    [patient] = rpc("model.gnuhealth.patient.read", [int(ref)], ["party"])
    assert patient["party"] == party
    assert rpc("model.party.party.search_count", [["ref", "=", PATIENT.id_number]]) == 1


def test_server_down_is_unavailable(gnuhealth, gnuhealth_settings):
    gnuhealth.stop()
    with pytest.raises(HisUnavailable):
        GnuHealthAdapter(gnuhealth_settings).find_or_create_patient(PATIENT)


def test_catalogue_and_patient_without_cccd(gnuhealth, gnuhealth_settings):
    adapter = GnuHealthAdapter(gnuhealth_settings)
    assert len(adapter.catalogue()) > 10  # the specialties GNU Health ships
    with pytest.raises(HisError) as err:
        adapter.find_or_create_patient(HisPatient(None, "Lê Văn B", 1950, "Nam", None,
                                                  "HT3380123498765"))
    assert not err.value.transient
