"""Retention purge: once the HIS confirmed a registration and the window passed, the
patient's name and numbers are gone from the database files' raw bytes."""

import datetime as dt
import json

from kiosk.services import outbox
from kiosk.services.registration import RegistrationService
from kiosk.services.sync import SyncDaemon, SyncSettings
from kiosk.store import connect
from kiosk.store.retention import purge
from tests.unit.registration.helpers import NOW, insured, patient

NAME = "Hoàng Thị Xuân Quỳnh"
CCCD = "038195012345"
CARD = "HN4380195012345"
ADDRESS = "Thôn Đông Thượng, xã Quảng Phú"


def raw_bytes(config):
    data = b""
    for suffix in ("", "-wal", "-journal"):
        path = config.database_path.with_name(config.database_path.name + suffix)
        if path.exists():
            data += path.read_bytes()
    return data


def secrets_in(data):
    return [s for s in (NAME, CCCD, CARD, ADDRESS, "1995-02-14") if s.encode() in data]


def registered(config, clock):
    db = connect(config.database_path)
    svc = RegistrationService(db, config, now=lambda: clock[0])
    who = patient(9, name=NAME, id_number=CCCD, bhyt_card=CARD, residence=ADDRESS,
                  date_of_birth=dt.date(1995, 2, 14))
    reg = svc.register(who, insured(CARD), "KB-NOI", "k-synced")
    waiting = svc.register(patient(8), insured(), "KB-NOI", "k-waiting")
    db.execute("INSERT INTO bhxh_cache VALUES ('h1', ?, ?)", [
        (NOW - dt.timedelta(hours=30)).isoformat(), json.dumps({"hoTen": NAME})])
    return db, reg, waiting


def test_purge_removes_personal_data_from_the_file(config):
    clock = [NOW]
    db, reg, waiting = registered(config, clock)
    item = next(i for i in outbox.list_items(db) if i.registration_id == reg.id)
    outbox.complete(db, item, "enc-1", NOW)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    assert secrets_in(raw_bytes(config))  # the test can see them while they are there

    early = purge(db, config, now=NOW + dt.timedelta(hours=23))
    assert (early.purged, early.cache_rows) == (0, 1)  # window not over; the old cache goes
    report = purge(db, config, now=NOW + dt.timedelta(hours=25))
    assert (report.purged, report.checkpointed) == (1, True)
    assert secrets_in(raw_bytes(config)) == []

    row = db.execute("SELECT queue_number, service_code, insurance_outcome, sync_state, "
                     "full_name, id_number, insurance_json, purged_at, patient_key FROM "
                     "registrations WHERE id = ?", [reg.id]).fetchone()
    assert row[:4] == ("A-001", "KB-NOI", "usable", "synced")  # anonymous facts stay
    assert row[4:7] == (None, None, None) and row[7] and row[8] == reg.id
    # the registration the HIS has not confirmed keeps its data (it still has to go)
    assert db.execute("SELECT full_name FROM registrations WHERE id = ?",
                      [waiting.id]).fetchone()[0] == "Nguyễn Thị Minh Khai"
    assert db.execute("SELECT count(*) FROM statistics").fetchone()[0] > 0
    assert purge(db, config, now=NOW + dt.timedelta(hours=26)).purged == 0


def test_vacuum_variant_and_sync_loop_purges(config):
    clock = [NOW]
    db, _reg, _ = registered(config, clock)

    class Accepting:
        name = "accepting"

        def find_or_create_patient(self, p):
            return "p1"

        def create_visit(self, ref, v):
            return f"v-{v.registration_id[:6]}"

    times = [NOW]
    daemon = SyncDaemon(db, config, Accepting(), now=lambda: times[0], recheck=False,
                        settings=SyncSettings(purge_every_s=3600))
    assert daemon.tick().sent == 2
    times[0] = NOW + dt.timedelta(hours=25)
    assert daemon.tick().purged == 2
    purge(db, config, now=times[0], vacuum=True)
    assert secrets_in(raw_bytes(config)) == []
    assert db.execute("SELECT count(*) FROM registrations WHERE purged_at IS NOT NULL"
                      ).fetchone()[0] == 2


def test_purge_waits_for_a_pending_insurance_update(config):
    # A late BHYT answer still on its way to the HIS needs the registration's data.
    db, reg, _ = registered(config, [NOW])
    item = next(i for i in outbox.list_items(db) if i.registration_id == reg.id)
    outbox.complete(db, item, "enc-1", NOW)
    outbox.enqueue(db, reg.id, outbox.HIS_INSURANCE, item.patient_key, NOW)
    later = NOW + dt.timedelta(hours=25)
    assert purge(db, config, now=later).purged == 0
    update = next(i for i in outbox.list_items(db, ("pending",))
                  if i.kind == outbox.HIS_INSURANCE)
    outbox.complete(db, update, "not-recorded", later)
    assert db.execute("SELECT his_ref FROM registrations WHERE id = ?",
                      [reg.id]).fetchone()[0] == "enc-1"  # the visit's reference stays
    assert purge(db, config, now=later + dt.timedelta(hours=25)).purged == 1
