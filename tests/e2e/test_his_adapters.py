"""HIS adapters over real HTTP on loopback: the FHIR test server (validating every
resource with fhir.resources) and the vendor-style HIS simulator via the generic REST
adapter. Idempotency, error classes for 4xx/5xx/garbage/slow/down, lost answers."""

import dataclasses
import datetime as dt

import pytest

from kiosk.config.loader import demo_config
from kiosk.services.his import HisError, HisUnavailable, build_adapter
from kiosk.services.his.base import HisPatient, HisVisit
from kiosk.services.his.fhir import FhirAdapter
from kiosk.services.his.simulator import HisSimulator, SimulatorAdapter, mapping

pytestmark = pytest.mark.e2e
HANOI = dt.timezone(dt.timedelta(hours=7))
PATIENT = HisPatient("001168000001", "Nguyễn Thị Minh Khai", dt.date(1968, 3, 14), "Nữ",
                     "Số 12 Phố Huế, Hà Nội", "GD4790100000001", dt.date(2026, 1, 1),
                     dt.date(2026, 12, 31), "01824")


def visit(n=1):
    return HisVisit(f"reg-{n:04d}", "KB-NOI", "Khám Nội tổng quát", "NOI", "Phòng 101",
                    f"A-{n:03d}", dt.datetime(2026, 11, 23, 9, 30, tzinfo=HANOI), "usable",
                    PATIENT.bhyt_card)


@pytest.fixture
def sim(tmp_path):
    server = HisSimulator(tmp_path / "his.sqlite3", services=[
        {"ma": "KB-NOI", "ten": "Khám Nội", "khoa": "NOI", "phong": "P101", "gia": 39000}])
    server.start()
    adapter = SimulatorAdapter(mapping(server.url, timeout_s=1.0))
    yield server, adapter
    adapter.close()
    server.stop()


def test_fhir_conditional_creates_are_idempotent(fhir):
    server, adapter = fhir
    ref = adapter.find_or_create_patient(PATIENT)
    assert adapter.find_or_create_patient(PATIENT) == ref
    first = adapter.create_visit(ref, visit())
    assert adapter.create_visit(ref, visit()) == first
    assert server.creates == {"Patient": 1, "Coverage": 1, "Encounter": 1, "Appointment": 0,
                              "HealthcareService": 0}
    enc = server.resources("Encounter")[0]
    assert enc["subject"]["reference"] == f"Patient/{ref}"
    patient = server.resources("Patient")[0]
    assert patient["name"][0]["text"] == "Nguyễn Thị Minh Khai"  # NFC, exact


def test_fhir_appointment_and_bhyt_only_patient(fhir):
    server, _ = fhir
    adapter = FhirAdapter({"url": server.url, "visit_resource": "Appointment"})
    p = dataclasses.replace(PATIENT, id_number=None)
    ref = adapter.find_or_create_patient(p)
    adapter.create_visit(ref, visit())
    assert server.creates["Appointment"] == 1
    with pytest.raises(HisError) as err:
        adapter.find_or_create_patient(dataclasses.replace(p, bhyt_card=None))
    assert not err.value.transient


def test_fhir_rejected_resource_is_permanent(fhir):
    _server, adapter = fhir
    with pytest.raises(HisError) as err:  # a dd/MM/yyyy birth date: the server says 422
        adapter._create({"resourceType": "Patient", "birthDate": "14/03/1968"}, "identifier=x|1")
    assert not err.value.transient and "HTTP 422" in str(err.value)
    assert "(invalid)" in str(err.value)


def test_fhir_ambiguous_condition_is_permanent(fhir):
    _server, adapter = fhir
    for _ in range(2):  # two patients with the same CCCD made without a condition
        adapter.http.request("POST", "/Patient", body={"resourceType": "Patient", "identifier": [
            {"system": "http://fhir.hl7.org.vn/core/sid/cccd", "value": "001168000001"}]})
    with pytest.raises(HisError) as err:
        adapter.find_or_create_patient(PATIENT)
    assert not err.value.transient and "412" in str(err.value)


@pytest.mark.parametrize(("faults", "expected"), [
    (dict(mode="status", status=500), "transient"),
    (dict(mode="status", status=429), "transient"),
    (dict(mode="status", status=503), "unavailable"),
    (dict(mode="status", status=502), "unavailable"),
    (dict(mode="status", status=400), "permanent"),
    (dict(mode="status", status=404), "permanent"),
    (dict(mode="garbage"), "transient"),
    (dict(mode="slow", delay_s=1.5), "unavailable"),
    (dict(mode="drop"), "unavailable"),
])
@pytest.mark.parametrize("which", ["fhir", "sim"])
def test_error_classes(request, which, faults, expected):
    server, adapter = request.getfixturevalue(which)
    if which == "sim":
        adapter.find_or_create_patient(PATIENT)  # logged in: faults hit the data calls
    server.set_faults(**faults)
    with pytest.raises(HisError) as err:
        ref = adapter.find_or_create_patient(PATIENT)
        adapter.create_visit(ref, visit())
    kind = ("unavailable" if isinstance(err.value, HisUnavailable)
            else "transient" if err.value.transient else "permanent")
    assert kind == expected, str(err.value)
    assert "001168000001" not in str(err.value) and "Nguyễn" not in str(err.value)


@pytest.mark.parametrize("which", ["fhir", "sim"])
def test_down_then_up(request, which):
    server, adapter = request.getfixturevalue(which)
    server.pause()
    with pytest.raises(HisUnavailable, match="cannot connect"):
        adapter.find_or_create_patient(PATIENT)
    server.resume()
    assert adapter.find_or_create_patient(PATIENT)


@pytest.mark.parametrize("which", ["fhir", "sim"])
def test_lost_answer_then_retry_creates_nothing_twice(request, which):
    server, adapter = request.getfixturevalue(which)
    ref = adapter.find_or_create_patient(PATIENT)
    server.set_faults(mode="drop", count=1)
    with pytest.raises(HisUnavailable):
        adapter.create_visit(ref, visit())
    adapter.create_visit(ref, visit())
    if which == "fhir":
        assert len(server.resources("Encounter")) == 1
    else:
        bookings = server.bookings()
        assert len(bookings) == 1 and bookings[0]["posts"] == 2


def test_simulator_patient_create_race_is_resolved_by_search(sim):
    server, adapter = sim
    server.set_faults(mode="drop", count=1, paths=("/api/patients",))
    with pytest.raises(HisUnavailable):  # the first search's answer is lost
        adapter.find_or_create_patient(PATIENT)
    ref = adapter.find_or_create_patient(PATIENT)
    assert adapter.find_or_create_patient(PATIENT) == ref and server.patient_count() == 1


def test_rest_token_expiry_logs_in_again(sim):
    server, adapter = sim
    ref = adapter.find_or_create_patient(PATIENT)
    server.tokens.clear()  # the HIS restarted and forgot its sessions
    assert adapter.create_visit(ref, visit())


def test_rest_refused_credentials_hold_the_queue(sim):
    server, _ = sim
    settings = mapping(server.url)
    settings["password"] = "wrong"  # what the secrets file holds; the body names it
    adapter = SimulatorAdapter(settings)
    with pytest.raises(HisUnavailable, match="auth refused"):
        adapter.find_or_create_patient(PATIENT)


def test_catalogues(sim, fhir):
    assert [s.code for s in sim[1].catalogue()] == ["KB-NOI"]
    assert sim[1].catalogue()[0].fee == 39000
    assert fhir[1].catalogue() == []


def test_factory_builds_each_adapter(tmp_path, fhir):
    config = demo_config(tmp_path / "state")
    embedded = build_adapter(config)  # simulator without url: starts its own server
    try:
        assert embedded.name == "simulator" and embedded.catalogue()
    finally:
        embedded.close()
    config = dataclasses.replace(config, his=dataclasses.replace(
        config.his, adapter="fhir", settings={"url": fhir[0].url}))
    assert build_adapter(config).name == "fhir"
    config = dataclasses.replace(config, his=dataclasses.replace(
        config.his, adapter="rest", settings=mapping(fhir[0].url)))
    assert build_adapter(config).name == "rest"
    config = dataclasses.replace(config, his=dataclasses.replace(config.his, adapter="nope"))
    with pytest.raises(ValueError, match="unknown adapter"):
        build_adapter(config)
