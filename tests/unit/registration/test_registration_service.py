import dataclasses
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from kiosk.services.registration import RegistrationError, RegistrationService
from kiosk.store import connect
from tests.processes import run_at_once
from tests.unit.registration.helpers import NOW, insured, make_config, not_checked, patient


def service(config, now=NOW):
    return RegistrationService(connect(config.database_path), config, now=lambda: now)


def test_register_writes_record_and_outbox_in_one_go(config):
    svc = service(config)
    reg = svc.register(patient(), insured(), "KB-NOI", "tok:KB-NOI")
    assert reg.queue_number == "A-001"
    assert reg.service_name == "Khám Nội tổng quát" and reg.room == "Phòng 101, tầng 1"
    assert reg.masked_name == "Nguyễn T. M. Khai"
    assert reg.created_at.utcoffset() == dt.timedelta(hours=7)
    assert reg.sync_state == "pending" and len(reg.code) == 10
    row = svc.db.execute("SELECT full_name, id_number, queue_day, insurance_outcome, "
                         "recheck_state FROM registrations").fetchone()
    assert row == ("Nguyễn Thị Minh Khai", "001168000001", "2026-11-23", "usable", None)
    out = svc.db.execute("SELECT registration_id, kind, state FROM outbox").fetchall()
    assert out == [(reg.id, "his_register", "pending")]


def test_same_idempotency_key_returns_the_same_registration(config):
    svc = service(config)
    a = svc.register(patient(), insured(), "KB-NOI", "k1")
    b = svc.register(patient(), insured(), "KB-NOI", "k1")
    assert a == b
    assert svc.db.execute("SELECT count(*) FROM registrations").fetchone()[0] == 1
    assert svc.db.execute("SELECT count(*) FROM outbox").fetchone()[0] == 1
    c = svc.register(patient(2), insured(), "KB-NOI", "k2")
    assert c.queue_number == "A-002"


def test_one_patient_one_number_per_service_and_day(config):
    """A second registration of the same patient for the same service today (another
    session, another key) gives back their number: no new row, no second HIS visit."""
    svc = service(config)
    first = svc.register(patient(), insured(), "KB-NOI", "s1:KB-NOI")
    again = svc.register(patient(), insured(), "KB-NOI", "s2:KB-NOI")
    assert again.repeat and not first.repeat
    assert (again.id, again.queue_number, again.room) == (first.id, "A-001", first.room)
    assert svc.db.execute("SELECT count(*) FROM registrations").fetchone()[0] == 1
    assert svc.db.execute("SELECT count(*) FROM outbox WHERE kind = 'his_register'"
                          ).fetchone()[0] == 1
    # another service is another registration; another patient gets the next number
    other = svc.register(patient(), insured(), "KB-MAT", "s3:KB-MAT")
    assert not other.repeat and other.id != first.id
    assert svc.register(patient(2), insured(), "KB-NOI", "s4:KB-NOI").queue_number == "A-002"
    # tomorrow the same patient and service is a new visit
    svc.now = lambda: dt.datetime(2026, 11, 23, 17, 1, tzinfo=dt.UTC)
    assert not svc.register(patient(), insured(), "KB-NOI", "s5:KB-NOI").repeat


def test_the_check_and_the_insert_are_one_transaction(config):
    """Two processes of one kiosk number the same patient at once: the second looked
    before the first committed (its `held_today` saw nothing), yet the check under the
    write lock finds the first's registration: one row, one HIS visit."""
    first_process, second_process = service(config), service(config)
    second_process.held_today = lambda *a: None  # type: ignore[method-assign]
    first = first_process.register(patient(), insured(), "KB-NOI", "p1:KB-NOI")
    raced = second_process.register(patient(), insured(), "KB-NOI", "p2:KB-NOI")
    assert raced.repeat and (raced.id, raced.queue_number) == (first.id, "A-001")
    db = first_process.db
    assert db.execute("SELECT count(*) FROM registrations").fetchone()[0] == 1
    assert db.execute("SELECT count(*) FROM outbox").fetchone()[0] == 1
    # the number it would have taken was given back (the transaction rolled back)
    assert second_process.register(patient(2), insured(), "KB-NOI", "p3").queue_number == "A-002"


def test_numbers_are_per_department_and_reset_daily(config):
    svc = service(config)
    assert svc.register(patient(1), insured(), "KB-NOI", "a").queue_number == "A-001"
    assert svc.register(patient(2), insured(), "KB-MAT", "b").queue_number == "D-001"
    assert svc.register(patient(3), insured(), "KB-NOI", "c").queue_number == "A-002"
    # 17:01 UTC = 00:01 the next day in Hà Nội
    svc.now = lambda: dt.datetime(2026, 11, 23, 17, 1, tzinfo=dt.UTC)
    reg = svc.register(patient(4), insured(), "KB-NOI", "d")
    assert reg.queue_number == "A-001"
    assert svc.db.execute("SELECT queue_day FROM registrations WHERE id = ?",
                          [reg.id]).fetchone()[0] == "2026-11-24"


def test_configurable_format(tmp_path):
    config = make_config(tmp_path, queue_format="{department}-{seq:04d}")
    assert service(config).register(patient(), insured(), "KB-NGOAI", "x").queue_number \
        == "NGOAI-0001"


def test_not_checked_insurance_is_queued_for_recheck(config):
    svc = service(config)
    reg = svc.register(patient(), not_checked(), "KB-NOI", "k")
    row = svc.db.execute("SELECT insurance_outcome, recheck_state FROM registrations").fetchone()
    assert row == ("unavailable", "pending")
    assert "Chưa kiểm tra" in reg.insurance_line_vi
    # no card key at all: nothing to re-check with
    svc.register(patient(2, bhyt_card=None, id_number=None), not_checked(None), "KB-NOI", "k2")
    assert svc.db.execute("SELECT recheck_state FROM registrations WHERE idempotency_key='k2'"
                          ).fetchone()[0] is None


def test_unknown_or_closed_service_stores_nothing(config):
    closed = dataclasses.replace(config.services[0], hours="13:00-16:00")
    config = dataclasses.replace(config, services=(closed, *config.services[1:]))
    svc = service(config)
    with pytest.raises(RegistrationError, match="unknown"):
        svc.register(patient(), insured(), "NOPE", "k")
    with pytest.raises(RegistrationError, match="closed"):
        svc.register(patient(), insured(), "KB-NOI", "k")
    assert svc.db.execute("SELECT count(*) FROM registrations").fetchone()[0] == 0
    assert svc.db.execute("SELECT count(*) FROM queue_counters").fetchone()[0] == 0
    assert "KB-NOI" not in {s.code for s in svc.services(NOW)}
    assert "KB-NOI" in {s.code for s in svc.services(NOW.replace(hour=7))}  # 14:00 local


def test_failed_write_gives_the_number_back(config):
    svc = service(config)
    svc.register(patient(1), insured(), "KB-NOI", "a")
    svc.db.execute("CREATE TRIGGER fail BEFORE INSERT ON outbox BEGIN "
                   "SELECT RAISE(ABORT, 'disk trouble'); END")
    with pytest.raises(Exception, match="disk trouble"):
        svc.register(patient(2), insured(), "KB-NOI", "b")
    svc.db.execute("DROP TRIGGER fail")
    assert svc.register(patient(3), insured(), "KB-NOI", "c").queue_number == "A-002"
    assert svc.db.execute("SELECT count(*) FROM registrations").fetchone()[0] == 2


def _register_many(start: Any, state_dir: str, worker: int, count: int, out: str) -> None:
    config = make_config(Path(state_dir))
    svc = RegistrationService(connect(config.database_path), config,
                              now=lambda: NOW)
    start.wait()
    numbers = [svc.register(patient(worker * 1000 + i), insured(), "KB-NGOAI",
                            f"w{worker}-{i}").queue_number for i in range(count)]
    Path(out).write_text(json.dumps(numbers))


def test_two_processes_get_unique_gap_free_numbers(tmp_path):
    count = 60
    run_at_once("spawn", _register_many,
                [(str(tmp_path), w, count, str(tmp_path / f"{w}.json")) for w in (1, 2)])
    numbers = [n for w in (1, 2) for n in json.loads((tmp_path / f"{w}.json").read_text())]
    assert sorted(numbers) == [f"B-{i:03d}" for i in range(1, 2 * count + 1)]
    for w in (1, 2):  # each process saw its own numbers rising
        mine = json.loads((tmp_path / f"{w}.json").read_text())
        assert mine == sorted(mine)
    db = connect(make_config(tmp_path).database_path)
    assert db.execute("SELECT count(*) FROM outbox").fetchone()[0] == 2 * count
