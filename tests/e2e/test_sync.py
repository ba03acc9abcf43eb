"""The sync daemon against real HTTP HIS servers on loopback: drain, a day-long outage
on a simulated clock, 4xx/5xx/garbage/slow answers, dead letters, per-patient order."""

import dataclasses
import datetime as dt
import random
from collections import Counter

import pytest
import requests

from kiosk.domain.identity import Identity
from kiosk.services import outbox
from kiosk.services.bhxh import BhxhClient
from kiosk.services.bhxh.simulator import BhxhGatewaySimulator
from kiosk.services.his.base import HisPatient, HisVisit
from kiosk.services.his.simulator import HisSimulator, SimulatorAdapter, mapping
from kiosk.services.registration import RegistrationService
from kiosk.services.sync import SyncDaemon, SyncSettings, backoff, his_patient
from kiosk.store import connect
from tests.unit.registration.helpers import NOW, insured, make_config, not_checked, patient

pytestmark = pytest.mark.e2e
REG_SYSTEM = "urn:vn-kiosk:registration-id"


class Clock:
    def __init__(self) -> None:
        self.t = NOW

    def __call__(self) -> dt.datetime:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += dt.timedelta(seconds=seconds)


@pytest.fixture
def kiosk(tmp_path):
    config = make_config(tmp_path / "state")
    db = connect(config.database_path)
    clock = Clock()
    return config, db, clock, RegistrationService(db, config, now=clock)


def until_due(kiosk):
    """Move the clock to the next outbox item's retry time; return the wait."""
    due = outbox.next_attempt_at(kiosk[1])
    wait = max(0.0, (due - kiosk[2]()).total_seconds()) if due else 0.0
    kiosk[2].advance(wait)
    return wait


def daemon(kiosk, adapter, **settings):
    config, db, clock, _ = kiosk
    return SyncDaemon(db, config, adapter, now=clock, rng=random.Random(7), recheck=False,
                      purge=False, settings=SyncSettings(**settings))


def encounters_per_registration(server):
    return Counter(i["value"] for e in server.resources("Encounter") for i in e["identifier"]
                   if i["system"] == REG_SYSTEM)


def register(kiosk, n, insurance=None, **kw):
    return kiosk[3].register(patient(n, **kw), insurance or insured(), "KB-NOI", f"key-{n}")


def test_drains_each_registration_once(kiosk, fhir):
    server, adapter = fhir
    regs = [register(kiosk, n) for n in range(1, 6)]
    register(kiosk, 1)  # a retried effect: same key, nothing new
    kiosk[3].register(patient(1), insured(), "KB-MAT", "key-1-mat")  # same patient again
    report = daemon(kiosk, adapter).drain()
    assert report.sent == 6 and report.dead == 0
    counts = encounters_per_registration(server)
    assert set(counts) == {r.id for r in regs} | {kiosk[3].find_by_key("key-1-mat").id}
    assert set(counts.values()) == {1}
    assert len(server.resources("Patient")) == 5  # patient 1 found again by CCCD
    db = kiosk[1]
    assert db.execute("SELECT count(*) FROM registrations WHERE sync_state = 'synced' "
                      "AND his_ref IS NOT NULL").fetchone()[0] == 6
    assert outbox.counts(db) == {"pending": 0, "done": 6, "dead": 0}
    assert daemon(kiosk, adapter).drain().sent == 0  # nothing sent twice


def test_his_down_for_a_simulated_day_then_drains(kiosk, fhir):
    server, adapter = fhir
    register(kiosk, 0)
    sync = daemon(kiosk, adapter)
    assert sync.drain().sent == 1  # the HIS worked this morning
    server.pause()
    clock = kiosk[2]
    start, registered, ticks = clock.t, 0, 0
    while clock.t - start < dt.timedelta(days=1):
        if registered < 300 and ticks % 2 == 0:
            registered += 1
            register(kiosk, registered)
        sync.tick()
        ticks += 1
        clock.advance(min(sync.sleep_s(), 600) or 1)
    db = kiosk[1]
    assert outbox.counts(db)["dead"] == 0  # an outage is nobody's fault
    assert db.execute("SELECT max(attempts) FROM outbox WHERE state = 'pending'"
                      ).fetchone()[0] <= 1
    # the backoff held the queue: a few hundred connection attempts, not thousands
    assert ticks < 1200, ticks
    last_error = db.execute("SELECT last_error FROM outbox WHERE state = 'pending' AND "
                            "last_error IS NOT NULL").fetchone()[0]
    assert "cannot connect" in last_error
    server.resume()
    clock.advance(sync.sleep_s())
    report = sync.tick()
    assert report.sent == registered and outbox.counts(db)["pending"] == 0
    assert set(encounters_per_registration(server).values()) == {1}


def test_server_errors_retry_with_backoff_then_dead_letter(kiosk, fhir):
    server, adapter = fhir
    reg = register(kiosk, 1)
    sync = daemon(kiosk, adapter, max_attempts=4, base_delay_s=10)
    server.set_faults(mode="status", status=500)
    waits = []
    for _ in range(4):
        assert sync.drain().sent == 0
        waits.append(until_due(kiosk))
    item = outbox.list_items(kiosk[1])[0]
    assert (item.state, item.attempts) == ("dead", 4)
    assert "HTTP 500" in item.last_error
    assert 5 <= waits[0] <= 10 and 10 <= waits[1] <= 20 and 20 <= waits[2] <= 40
    assert kiosk[1].execute("SELECT sync_state FROM registrations").fetchone()[0] == "failed"
    # staff fix the HIS and retry: delivered once
    server.set_faults()
    outbox.retry(kiosk[1], item.id, kiosk[2]())
    assert sync.drain().sent == 1
    assert encounters_per_registration(server) == {reg.id: 1}


def test_garbage_answers_are_retried(kiosk, fhir):
    server, adapter = fhir
    register(kiosk, 1)
    sync = daemon(kiosk, adapter)
    server.set_faults(mode="garbage", count=2)
    assert sync.drain().retried == 1
    until_due(kiosk)
    assert sync.drain().retried == 1
    until_due(kiosk)
    assert sync.drain().sent == 1
    assert outbox.list_items(kiosk[1])[0].attempts == 3


def test_refused_data_is_a_dead_letter_at_once(kiosk, fhir):
    _, adapter = fhir
    # nothing to identify them by
    register(kiosk, 1, insurance=not_checked(None), id_number=None, bhyt_card=None)
    register(kiosk, 2)
    report = daemon(kiosk, adapter).drain()
    assert (report.dead, report.sent) == (1, 1)
    dead = outbox.list_items(kiosk[1], ("dead",))[0]
    assert dead.attempts == 1 and "neither a CCCD nor a BHYT" in dead.last_error


def test_slow_his_within_timeout_is_fine_beyond_it_nothing_doubles(kiosk, fhir):
    server, adapter = fhir
    register(kiosk, 1)
    register(kiosk, 2)
    sync = daemon(kiosk, adapter)
    server.set_faults(mode="slow", delay_s=0.3)
    assert sync.drain().sent == 2
    register(kiosk, 3)
    server.set_faults(mode="slow", delay_s=1.5, count=3)  # the HIS finishes, we gave up
    assert sync.drain().unavailable == 1
    server.set_faults()
    kiosk[2].advance(sync.sleep_s())
    assert sync.drain().sent == 1
    assert set(encounters_per_registration(server).values()) == {1}
    assert len(encounters_per_registration(server)) == 3


def test_order_is_kept_per_patient(kiosk, tmp_path):
    server = HisSimulator(tmp_path / "his.sqlite3")
    server.start()
    adapter = SimulatorAdapter(mapping(server.url, timeout_s=1.0))
    try:
        first = kiosk[3].register(patient(1), insured(), "KB-NOI", "a")
        other = register(kiosk, 2)
        second = kiosk[3].register(patient(1), insured(), "KB-MAT", "b")
        sync = daemon(kiosk, adapter)
        server.set_faults(mode="status", status=500, count=1, paths=("/api/bookings",))
        report = sync.drain()
        # patient 1's first visit failed: their second waits, the other patient goes on
        assert (report.retried, report.sent) == (1, 1)
        assert [b["ma_dang_ky"] for b in server.bookings()] == [other.id]
        until_due(kiosk)
        assert sync.drain().sent == 2
        assert [b["ma_dang_ky"] for b in server.bookings()] == [other.id, first.id, second.id]
    finally:
        adapter.close()
        server.stop()


def test_unavailable_only_for_one_item_becomes_a_dead_letter(kiosk, fhir):
    """An item the HIS always times out on, while others pass, does not block forever."""
    _, adapter = fhir
    bad = register(kiosk, 1)
    sync = daemon(kiosk, adapter, max_attempts=3)

    class Picky:
        name = "picky"

        def find_or_create_patient(self, p):
            if p.id_number == "001168000001":
                from kiosk.services.his.base import HisUnavailable
                raise HisUnavailable("POST /Patient: no answer within 1 s")
            return adapter.find_or_create_patient(p)

        def create_visit(self, ref, v):
            return adapter.create_visit(ref, v)

    sync.adapter = Picky()
    for n in range(2, 12):
        register(kiosk, n)
        sync.drain()
        kiosk[2].advance(sync.sleep_s())
    item = next(i for i in outbox.list_items(kiosk[1]) if i.registration_id == bad.id)
    assert item.state == "dead" and "no answer" in item.last_error
    assert outbox.counts(kiosk[1])["done"] == 10


def test_his_values_from_the_stored_row(kiosk):
    reg = kiosk[3].register(patient(1), not_checked("GD4790100000001"), "KB-NOI", "k")
    cursor = kiosk[1].execute("SELECT * FROM registrations WHERE id = ?", [reg.id])
    row = dict(zip([c[0] for c in cursor.description], cursor.fetchone(), strict=True))
    p = his_patient(row)
    assert p.full_name == "Nguyễn Thị Minh Khai" and p.date_of_birth == dt.date(1968, 3, 14)
    assert p.bhyt_card == "GD4790100000001"


@pytest.mark.parametrize("attempt", [1, 2, 5, 20])
def test_backoff_is_exponential_with_jitter(attempt):
    rng = random.Random(3)
    values = [backoff(attempt, 5, 900, rng) for _ in range(200)]
    full = min(900, 5 * 2 ** (attempt - 1))
    assert all(full / 2 <= v <= full for v in values)
    assert len({round(v, 3) for v in values}) > 100  # really jittered


def test_settings_from_config(tmp_path):
    config = make_config(tmp_path)
    config = dataclasses.replace(config, his=dataclasses.replace(
        config.his, settings={"sync": {"max_attempts": 3, "base_delay_s": 1}}))
    s = SyncSettings.from_config(config)
    assert (s.max_attempts, s.base_delay_s, s.max_delay_s) == (3, 1.0, 900.0)


def test_run_loop_until_stopped_with_systemd_notifications(kiosk, fhir, monkeypatch):
    import threading
    import time

    import kiosk.runtime.sdnotify as sd

    calls = []
    for name in ("notify_ready", "notify_watchdog", "notify_stopping"):
        monkeypatch.setattr(sd, name, lambda name=name: calls.append(name) or True)
    config, db, _, _ = kiosk
    sync = SyncDaemon(db, config, fhir[1], recheck=False, purge=False,
                      settings=SyncSettings(idle_poll_s=0.05))
    # another process's connection registers, on the real clock the loop runs on
    ui = RegistrationService(connect(config.database_path), config)
    stop = threading.Event()
    thread = threading.Thread(target=sync.run, args=(stop,))
    thread.start()
    try:
        for n in range(1, 4):
            ui.register(patient(n), insured(), "KB-NOI", f"key-{n}")
        deadline = time.monotonic() + 10
        while outbox.counts(db)["done"] < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        thread.join(10)
    assert outbox.counts(db)["done"] == 3
    assert calls[0] == "notify_ready" and calls[-1] == "notify_stopping"
    assert "notify_watchdog" in calls


def test_his_catalogue_overrides_rooms_when_enabled(kiosk, tmp_path):
    config, db, clock, _ = kiosk
    server = HisSimulator(tmp_path / "his.sqlite3", services=[
        {"ma": "KB-NOI", "ten": "Khám Nội tổng quát", "khoa": "NOI",
         "phong": "Phòng 109, tầng 1 (mới)", "gia": 45000}])
    server.start()
    adapter = SimulatorAdapter(mapping(server.url, timeout_s=1.0))
    try:
        plain = SyncDaemon(db, config, adapter, now=clock, recheck=False, purge=False)
        plain.tick()
        assert db.execute("SELECT count(*) FROM his_catalogue").fetchone()[0] == 0
        config = dataclasses.replace(config, his=dataclasses.replace(
            config.his, use_his_catalogue=True))
        SyncDaemon(db, config, adapter, now=clock, recheck=False, purge=False).tick()
        service = RegistrationService(db, config, now=clock)
        noi = next(s for s in service.services(NOW) if s.code == "KB-NOI")
        assert (noi.room, noi.fee) == ("Phòng 109, tầng 1 (mới)", 45000)
        reg = service.register(patient(1), insured(), "KB-NOI", "k")
        assert reg.room == "Phòng 109, tầng 1 (mới)" and reg.queue_number == "A-001"
        SyncDaemon(db, config, adapter, now=clock, recheck=False, purge=False).drain()
        assert server.bookings()[0]["phong"] == "Phòng 109, tầng 1 (mới)"
        server.set_faults(mode="status", status=500)  # a failed refresh keeps the last list
        clock.advance(7200)
        SyncDaemon(db, config, adapter, now=clock, recheck=False, purge=False).tick()
        assert db.execute("SELECT room FROM his_catalogue").fetchone()[0].endswith("(mới)")
    finally:
        adapter.close()
        server.stop()


# -- a BHYT outcome learnt after the visit reached the HIS ------------------------------

NHUNG = Identity(full_name="Nguyễn Thị Hồng Nhung", date_of_birth=dt.date(1985, 3, 14),
                 sex="Nữ", source="chip", verification="chip_verified",
                 id_number="001185012345")


@pytest.fixture
def gateway():
    simulator = BhxhGatewaySimulator()
    simulator.start()
    client = BhxhClient(simulator.base_url, "01824_BV", "simulator-password", "Trần Thị Lan",
                        "001185000123", timeout_s=2.0, backoff_s=0.01)
    yield simulator, client
    client.close()
    simulator.stop()


def rechecking_daemon(kiosk, adapter, client):
    config, db, clock, _ = kiosk
    return SyncDaemon(db, config, adapter, now=clock, rng=random.Random(7), purge=False,
                      bhxh_client=client, settings=SyncSettings(recheck_every_s=60))


def outcome_extension(resource):
    return [e["valueCode"] for e in resource["extension"]
            if e["url"] == "urn:vn-kiosk:bhyt-check-outcome"]


def test_late_bhyt_answer_updates_the_visit_the_his_already_has(kiosk, fhir, gateway):
    server, adapter = fhir
    simulator, client = gateway
    reg = kiosk[3].register(NHUNG, not_checked(NHUNG.id_number), "KB-NOI", "key-late")
    simulator.inject("http500")  # the portal is still down on the first pass
    sync = rechecking_daemon(kiosk, adapter, client)
    assert sync.tick().sent == 1
    (encounter,) = server.resources("Encounter")
    assert outcome_extension(encounter) == ["unavailable"]
    # meanwhile the hospital's staff move the visit on: that must survive our update
    staff = {**encounter, "status": "arrived"}
    assert requests.put(f"{server.url}/Encounter/{encounter['id']}", json=staff,
                        timeout=5).status_code == 200
    simulator.clear_faults()
    client.breaker.reset()
    kiosk[2].advance(61)
    report = sync.tick()
    assert (report.rechecked, report.sent, report.errors) == (1, 1, [])
    (encounter,) = server.resources("Encounter")
    assert outcome_extension(encounter) == ["usable"]
    assert encounter["status"] == "arrived" and encounter["meta"]["versionId"] == "3"
    assert server.creates["Encounter"] == 1 and server.updates["Encounter"] == 2
    db = kiosk[1]
    assert db.execute("SELECT his_ref, sync_state FROM registrations WHERE id = ?",
                      [reg.id]).fetchone() == (encounter["id"], "synced")
    assert outbox.counts(db) == {"pending": 0, "done": 2, "dead": 0}
    kiosk[2].advance(61)
    assert sync.tick().sent == 0  # told once


def test_bhyt_answer_before_delivery_goes_with_the_visit(kiosk, fhir, gateway):
    server, adapter = fhir
    _, client = gateway
    kiosk[3].register(NHUNG, not_checked(NHUNG.id_number), "KB-NOI", "key-early")
    server.pause()  # the HIS is down, the portal answers
    sync = rechecking_daemon(kiosk, adapter, client)
    report = sync.tick()
    assert (report.rechecked, report.sent) == (1, 0)
    server.resume()
    kiosk[2].advance(sync.sleep_s())
    assert sync.tick().sent == 1
    (encounter,) = server.resources("Encounter")
    assert outcome_extension(encounter) == ["usable"]
    assert server.updates["Encounter"] == 0
    assert outbox.counts(kiosk[1]) == {"pending": 0, "done": 1, "dead": 0}


def test_fhir_update_reads_again_when_the_visit_changed_under_it(fhir):
    server, adapter = fhir
    visit = HisVisit("reg-race", "KB-NOI", "Khám Nội", "NOI", "Phòng 109", "A-001", NOW,
                     "unavailable", None)
    patient_ref = adapter.find_or_create_patient(HisPatient(
        NHUNG.id_number, NHUNG.full_name, NHUNG.date_of_birth, "Nữ", None, None))
    ref = adapter.create_visit(patient_ref, visit)
    url = f"{server.url}/Encounter/{ref}"
    original = server.validator

    def staff_edit_first(resource):  # staff save the visit between our GET and PUT
        server.validator = original
        current = server.store["Encounter"][ref]  # (the server holds its lock here)
        server.store["Encounter"][ref] = {**current, "status": "arrived",
                                          "meta": {**current["meta"], "versionId": "2"}}
        if original:
            original(resource)

    server.validator = staff_edit_first
    assert adapter.update_insurance(ref, dataclasses.replace(visit, insurance_outcome="usable")
                                    ) == ref
    encounter = requests.get(url, timeout=5).json()
    assert encounter["status"] == "arrived" and outcome_extension(encounter) == ["usable"]
    assert encounter["meta"]["versionId"] == "3"  # create, staff edit, our update
    assert adapter.update_insurance(ref, dataclasses.replace(visit, insurance_outcome="usable")
                                    ) == ref
    assert server.updates["Encounter"] == 1  # ours, once: the repeat changed nothing


def test_simulator_his_records_a_late_outcome_on_the_booking(kiosk, gateway, tmp_path):
    simulator, client = gateway
    his = HisSimulator(tmp_path / "his.sqlite3")
    his.start()
    adapter = SimulatorAdapter(mapping(his.url, timeout_s=1.0))
    try:
        kiosk[3].register(NHUNG, not_checked(NHUNG.id_number), "KB-NOI", "key-sim")
        simulator.inject("http500")
        sync = rechecking_daemon(kiosk, adapter, client)
        sync.tick()
        assert [b["ket_qua_bhyt"] for b in his.bookings()] == ["unavailable"]
        simulator.clear_faults()
        client.breaker.reset()
        kiosk[2].advance(61)
        assert sync.tick().sent == 1
        assert [(b["ket_qua_bhyt"], b["posts"]) for b in his.bookings()] == [("usable", 1)]
    finally:
        adapter.close()
        his.stop()
