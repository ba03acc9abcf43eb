"""Follow-up appointments (giấy hẹn khám lại) over real HTTP on loopback: the FHIR
adapter against the FHIR test server (every write validated with fhir.resources), the
vendor-style HIS simulator through the generic REST adapter, the lookup budget, the
durable check-in through the outbox, and `kiosk appointment` killed mid-check-in."""

import dataclasses
import datetime as dt
import json
import os
import random
import signal
import subprocess
import time

import pytest

from kiosk.config.loader import load_file
from kiosk.journey.ports import AppointmentsUnavailable
from kiosk.services import outbox
from kiosk.services.appointments import AppointmentDesk, lookup_config
from kiosk.services.his import HisError, build_adapter
from kiosk.services.his.base import HisPatient, HisVisit
from kiosk.services.his.fhir import FhirAdapter
from kiosk.services.his.fhir.server import FhirTestServer
from kiosk.services.his.simulator import HisSimulator, SimulatorAdapter, mapping
from kiosk.services.registration import RegistrationService
from kiosk.services.sync import SyncDaemon, SyncSettings
from kiosk.store import connect
from tests.cli_helpers import KIOSK, run_kiosk
from tests.e2e.his_helpers import fhir_validate, write_config
from tests.unit.registration.helpers import insured, patient

pytestmark = pytest.mark.e2e
HANOI = dt.timezone(dt.timedelta(hours=7))
CCCD = "http://fhir.hl7.org.vn/core/sid/cccd"
PERSON = patient(7, "Trần Văn Hòa", date_of_birth=dt.date(1951, 6, 20), sex="Nam")
HIS_PERSON = HisPatient(PERSON.id_number, PERSON.full_name, PERSON.date_of_birth, "Nam", None,
                        PERSON.bhyt_card)


def fhir_booking(server, start, *, status="booked", who=None, service="Khám Nội tiết"):
    """What the hospital's own scheduling puts in its FHIR server: a Patient and an
    Appointment for them (returns the Appointment's id)."""
    number = who or PERSON.id_number
    pid = next((p["id"] for p in server.resources("Patient")
                if p["identifier"][0]["value"] == number), None)
    if pid is None:
        pid = _post(server, {"resourceType": "Patient", "identifier": [
            {"system": CCCD, "value": number}], "name": [{"text": "Trần Văn Hòa"}]})
    return _post(server, {
        "resourceType": "Appointment", "status": status,
        "serviceType": [{"text": service}],
        "specialty": [{"coding": [{"system": "urn:bv:khoa", "code": "NOITIET"}]}],
        "start": start.isoformat(timespec="seconds"),
        "end": (start + dt.timedelta(minutes=15)).isoformat(timespec="seconds"),
        "participant": [
            {"actor": {"reference": f"Patient/{pid}"}, "status": "accepted"},
            {"actor": {"reference": "Location/305", "display": "Phòng 305"},
             "status": "accepted"},
            {"actor": {"reference": "Practitioner/9", "display": "BS. Nguyễn Văn An"},
             "status": "accepted"}]})


def _post(server, resource):
    import requests

    answer = requests.post(f"{server.url}/{resource['resourceType']}", json=resource, timeout=5)
    assert answer.status_code == 201, answer.text
    return answer.json()["id"]


def visit(reg="reg-1"):
    return HisVisit(reg, "HEN", "Khám Nội tiết", "NOITIET", "Phòng 305", "H-001",
                    dt.datetime.now(HANOI), "usable", PERSON.bhyt_card)


@pytest.fixture
def fhir():
    server = FhirTestServer(validator=fhir_validate)
    server.start()
    adapter = FhirAdapter({"url": server.url, "timeout_s": 2.0})
    yield server, adapter
    adapter.close()
    server.stop()


def today(hours=0.0):
    """The last whole minute (+ `hours`): inside today's findable window at whatever
    hour the suite runs (a fixed hour of the day fell out of it in the afternoon)."""
    now = dt.datetime.now(HANOI)
    return now.replace(second=0, microsecond=0) + dt.timedelta(hours=hours)


def test_fhir_finds_today_booked_and_checks_in_once(fhir):
    server, adapter = fhir
    mine = fhir_booking(server, today())
    fhir_booking(server, today(-24))  # yesterday's
    fhir_booking(server, today(1), status="cancelled")
    fhir_booking(server, today(), who="079099007777")  # someone else's
    found = adapter.find_appointments(HIS_PERSON, today(-12), today(12))
    assert [a.ref for a in found] == [mine]
    [a] = found
    assert (a.service_name, a.room, a.doctor, a.department) == (
        "Khám Nội tiết", "Phòng 305", "BS. Nguyễn Văn An", "NOITIET")
    ref = adapter.check_in(a, visit())
    assert adapter.check_in(a, visit()) == ref  # a retried delivery writes nothing new
    [appt] = [x for x in server.resources("Appointment") if x["id"] == mine]
    assert appt["status"] == "arrived" and appt["meta"]["versionId"] == "2"
    [enc] = server.resources("Encounter")
    assert enc["id"] == ref and enc["status"] == "arrived"
    assert enc["appointment"] == [{"reference": f"Appointment/{mine}"}]
    assert enc["subject"]["reference"] == appt["participant"][0]["actor"]["reference"]
    assert server.updates["Appointment"] == 1 and server.creates["Encounter"] == 1
    assert adapter.find_appointments(HIS_PERSON, today(-12), today(12)) == []  # arrived


def test_fhir_a_cancelled_appointment_is_not_checked_in(fhir):
    server, adapter = fhir
    ref = fhir_booking(server, today())
    [a] = adapter.find_appointments(HIS_PERSON, today(-12), today(12))
    import requests

    current = requests.get(f"{server.url}/Appointment/{ref}", timeout=5).json()
    requests.put(f"{server.url}/Appointment/{ref}", json={**current, "status": "cancelled"},
                 timeout=5)
    with pytest.raises(HisError) as err:
        adapter.check_in(a, visit())
    assert not err.value.transient and server.creates["Encounter"] == 0


def test_fhir_hostile_search_answers_are_skipped(fhir):
    server, adapter = fhir
    fhir_booking(server, today())
    bundle = {"resourceType": "Bundle", "type": "searchset", "entry": [
        {"resource": {"resourceType": "Appointment", "status": "booked", "id": "../../x",
                      "start": today().isoformat()}},
        {"resource": {"resourceType": "Appointment", "status": "booked", "id": "a1",
                      "start": "2026-13-45"}},
        {"resource": {"resourceType": "Appointment", "status": "booked", "id": "a2",
                      "start": "2026-12-06T09:30:00"}},  # no offset
        {"resource": {"resourceType": "Appointment", "status": "booked", "id": "a3",
                      "start": today().isoformat(), "participant": "x",
                      "serviceType": [{"coding": "y"}]}},
        "garbage", {"resource": []}]}
    from kiosk.services.his.loopback import Reply

    real = server.app
    server.app = lambda req: Reply(200, bundle) if req.path == "/Appointment" else real(req)
    found = adapter.find_appointments(HIS_PERSON, today(-12), today(12))
    assert [a.ref for a in found] == ["a3"]  # never a path-traversing id, a bad date


@pytest.fixture
def sim(tmp_path):
    server = HisSimulator(tmp_path / "his.sqlite3")
    server.start()
    adapter = SimulatorAdapter(mapping(server.url, timeout_s=1.0))
    yield server, adapter
    adapter.close()
    server.stop()


def test_simulator_finds_by_cccd_or_bhyt_and_checks_in_idempotently(sim):
    server, adapter = sim
    when = today()
    server.add_appointment("k1", when, so_cccd=PERSON.id_number, so_the_bhyt=PERSON.bhyt_card,
                           ten_dich_vu="Khám Nội tiết", khoa="NOITIET", phong="Phòng 305",
                           stt="NT-12")
    [a] = adapter.find_appointments(HIS_PERSON, today(-12), today(12))
    no_cccd = dataclasses.replace(HIS_PERSON, id_number=None)
    assert adapter.find_appointments(no_cccd, today(-12), today(12)) == [a]
    assert a.order_number == "NT-12" and a.start == when
    assert adapter.check_in(a, visit("r1")) == adapter.check_in(a, visit("r1"))
    with pytest.raises(HisError) as err:  # another registration for the same appointment
        adapter.check_in(a, visit("r2"))
    assert err.value.status == 409
    [row] = server.appointments()
    assert (row["trang_thai"], row["ma_dang_ky"], row["checkins"]) == ("da_den", "r1", 2)


def desk_for(tmp_path, url, budget=1.5, **settings):
    path = write_config(tmp_path, "fhir", {"url": url, "timeout_s": 5.0, **settings})
    config = load_file(path)
    config = dataclasses.replace(config, appointments=dataclasses.replace(
        config.appointments, lookup_budget_s=budget))
    db = connect(config.database_path)
    return AppointmentDesk(config, RegistrationService(db, config),
                           lambda: build_adapter(lookup_config(config))), config, db


def test_lookup_gives_up_at_its_budget_when_the_his_is_slow_or_down(fhir, tmp_path):
    server, _ = fhir
    fhir_booking(server, today())
    desk, _config, _db = desk_for(tmp_path, server.url, budget=0.5)
    try:
        assert len(desk.find(PERSON)) == 1
        server.set_faults(mode="slow", delay_s=6.0, paths=("/Appointment",))
        began = time.monotonic()
        with pytest.raises(AppointmentsUnavailable):
            desk.find(PERSON)
        assert time.monotonic() - began < 6.0  # it did not wait for the HIS's answer
        server.set_faults()
        server.pause()
        with pytest.raises(AppointmentsUnavailable):
            desk.find(PERSON)
    finally:
        server.resume()
        desk.stop()


def test_check_in_is_durable_first_and_reaches_the_his_once(fhir, tmp_path):
    server, adapter = fhir
    mine = fhir_booking(server, today())
    desk, config, db = desk_for(tmp_path, server.url)
    try:
        [a] = desk.find(PERSON)
        server.pause()  # the HIS goes away right after the lookup
        reg = desk.check_in(PERSON, insured(), a)
        assert reg.queue_number == "H-001" and reg.room == "Phòng 305"
        assert reg.appointment is not None and reg.appointment.doctor == "BS. Nguyễn Văn An"
        again = desk.check_in(PERSON, insured(), a)  # checking in twice: the same ticket
        assert again == reg
        assert [r.ref for r in desk.find(PERSON)] == [mine]  # offered again, HIS still away
        assert [(i.kind, i.state) for i in outbox.list_items(db)] == [("his_checkin", "pending")]
        daemon = SyncDaemon(db, config, adapter, settings=SyncSettings(base_delay_s=0.01),
                            recheck=False, purge=False)
        assert daemon.drain().unavailable >= 1 and outbox.counts(db)["pending"] == 1
        server.resume()
        later = SyncDaemon(db, config, adapter, recheck=False, purge=False,  # past the backoff
                           now=lambda: dt.datetime.now(dt.UTC) + dt.timedelta(hours=1))
        assert later.drain().sent == 1
        assert db.execute("SELECT sync_state, his_ref FROM registrations").fetchone() == (
            "synced", server.resources("Encounter")[0]["id"])
        [appt] = [x for x in server.resources("Appointment") if x["id"] == mine]
        assert appt["status"] == "arrived"
        assert len(server.resources("Encounter")) == 1
        assert [r.ref for r in desk.find(PERSON)] == [mine]  # arrived at the HIS, ours here
        assert dataclasses.replace(desk.check_in(PERSON, insured(), a), sync_state="pending") == reg
    finally:
        desk.stop()


def test_his_order_numbers_when_configured(sim, tmp_path):
    server, _ = sim
    server.add_appointment("k1", today(), so_cccd=PERSON.id_number, ten_dich_vu="Khám Mắt",
                           khoa="MAT", phong="", stt="M-07")
    path = write_config(tmp_path, "simulator", {"url": server.url}, extra=(
        '\n[appointments]\nqueue_numbers = "his"\n[appointments.prefixes]\nMAT = "HM"\n'))
    config = load_file(path)
    db = connect(config.database_path)
    desk = AppointmentDesk(config, RegistrationService(db, config),
                           lambda: build_adapter(lookup_config(config)))
    try:
        [a] = desk.find(PERSON)
        assert a.room == "Phòng 210, tầng 2"  # the HIS named none: the configured clinic's
        assert desk.check_in(PERSON, insured(), a).queue_number == "M-07"
    finally:
        desk.stop()
    config = dataclasses.replace(config, appointments=dataclasses.replace(
        config.appointments, queue_numbers="kiosk"))
    number = RegistrationService(db, config).check_in(
        PERSON, insured(), dataclasses.replace(a, ref="other")).queue_number
    assert number == "HM-002"  # own prefix per department, its own counter


def test_kill_minus_nine_during_check_in_reaches_the_his_exactly_once(fhir, tmp_path):
    server, adapter = fhir
    mine = fhir_booking(server, today())
    config_path = write_config(tmp_path, "fhir", {"url": server.url, "timeout_s": 2.0},
                               sync={"base_delay_s": 0.05, "unavailable_max_delay_s": 0.3,
                                     "idle_poll_s": 0.05})
    who = tmp_path / "patient.json"
    who.write_text(json.dumps({"full_name": PERSON.full_name, "id_number": PERSON.id_number,
                               "date_of_birth": "1951-06-20", "sex": "Nam"},
                              ensure_ascii=False), "utf-8")
    rng = random.Random(20261206)
    for i in range(3):
        procs = [subprocess.Popen([KIOSK, "--config", str(config_path), *args],
                                  stdin=who.open("rb"), stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL, start_new_session=True)
                 for args in (["sync"], ["appointment", "checkin", mine])]
        if i % 2 == 0:  # the HIS does the work but the answer is lost
            server.set_faults(mode="drop", count=1,
                              paths=("/Encounter",) if i == 0 else ("/Appointment/",))
        time.sleep(rng.uniform(0.3, 1.2))
        for proc in rng.sample(procs, 2):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
        server.set_faults()
    done = run_kiosk("--config", str(config_path), "appointment", "checkin", mine, "--json",
                     input=who.read_text("utf-8"), timeout=60)
    assert done.returncode == 0, done.stderr
    config = load_file(config_path)
    db = connect(config.database_path)
    daemon = SyncDaemon(db, config, adapter, settings=SyncSettings(base_delay_s=0.01),
                        recheck=False, purge=False)
    for _ in range(50):
        daemon.paused_until = None
        daemon.drain()
        if outbox.counts(db)["pending"] == 0:
            break
        time.sleep(0.05)
    assert outbox.counts(db) == {"pending": 0, "done": 1, "dead": 0}
    assert db.execute("SELECT count(*) FROM registrations").fetchone()[0] == 1
    [appt] = [x for x in server.resources("Appointment") if x["id"] == mine]
    assert appt["status"] == "arrived"
    [enc] = server.resources("Encounter")
    assert enc["appointment"] == [{"reference": f"Appointment/{mine}"}]
    assert json.loads(done.stdout)["registration_id"] in json.dumps(enc)
