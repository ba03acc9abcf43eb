"""Retention purge: once the HIS confirmed a registration and the window passed, the
patient's name and numbers are gone from the database files' raw bytes."""

import dataclasses
import datetime as dt
import json
import os
import tomllib

import pytest
from PIL import Image

from kiosk.config import ConfigError
from kiosk.config.loader import build, demo_config_text
from kiosk.services import outbox
from kiosk.services.printing import build_printer
from kiosk.services.registration import RegistrationService
from kiosk.services.sync import SyncDaemon, SyncSettings
from kiosk.store import connect
from kiosk.store.retention import purge, unsynced_summary
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


def test_unsynced_registrations_are_shown_then_purged_after_the_window(config):
    """Failed and still-waiting registrations are counted for staff, then forgotten
    `unsynced_days` (default 7) after they were made; their outbox entries say why."""
    assert config.retention.unsynced_days == 7
    db = connect(config.database_path)
    svc = RegistrationService(db, config, now=lambda: NOW)
    failed = svc.register(patient(1, name=NAME, id_number=CCCD, bhyt_card=CARD,
                                  residence=ADDRESS, date_of_birth=dt.date(1995, 2, 14)),
                          insured(CARD), "KB-NOI", "k-failed")
    svc.register(patient(2), insured(), "KB-NOI", "k-waiting")
    item = next(i for i in outbox.list_items(db) if i.registration_id == failed.id)
    outbox.fail(db, item, "HIS refused: 422", attempts=8, dead=True, retry_at=NOW, now=NOW)

    shown = unsynced_summary(db, config)
    assert (shown.count, shown.failed) == (2, 1)
    assert shown.purge_at.startswith((NOW + dt.timedelta(days=7)).date().isoformat())

    assert purge(db, config, now=NOW + dt.timedelta(days=6, hours=23)).unsynced_purged == 0
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    assert secrets_in(raw_bytes(config))
    report = purge(db, config, now=NOW + dt.timedelta(days=7, minutes=1))
    assert (report.unsynced_purged, report.purged, report.checkpointed) == (2, 0, True)
    assert secrets_in(raw_bytes(config)) == []
    assert db.execute("SELECT count(*) FROM registrations WHERE full_name IS NOT NULL "
                      "OR id_number IS NOT NULL").fetchone()[0] == 0
    states = db.execute("SELECT state, last_error FROM outbox").fetchall()
    assert {s for s, _ in states} == {"dead"}
    assert all("retention.unsynced_days" in e for _, e in states)
    assert unsynced_summary(db, config).count == 0
    assert purge(db, config, now=NOW + dt.timedelta(days=8)).unsynced_purged == 0


def test_window_is_configurable(tmp_path):
    raw = tomllib.loads(demo_config_text())
    raw["retention"]["unsynced_days"] = 3
    assert build(raw, "t", tmp_path).retention.unsynced_days == 3
    raw["retention"]["unsynced_days"] = 0
    with pytest.raises(ConfigError, match="retention.unsynced_days: must be between 1 and 90"):
        build(raw, "t", tmp_path)


def test_ticket_and_handout_files_follow_the_registrations(config, tmp_path):
    folder = tmp_path / "tickets"
    config = dataclasses.replace(config, printer=dataclasses.replace(
        config.printer, kind="file", target=str(folder)))
    clock = [NOW]
    db, reg, waiting = registered(config, clock)
    printer = build_printer(config, db)
    synced_ticket = printer.print_ticket(svc_registration(db, config, reg.id)).path
    waiting_ticket = printer.print_ticket(svc_registration(db, config, waiting.id)).path
    handout = printer.print_image(Image.new("L", (8, 8))).path  # the health-book slip
    item = next(i for i in outbox.list_items(db) if i.registration_id == reg.id)
    outbox.complete(db, item, "enc-1", NOW)
    # The files were printed at registration time (NOW), the purge runs 25 hours later.
    for path in (synced_ticket, waiting_ticket, handout):
        os.utime(path, (NOW.timestamp(), NOW.timestamp()))
    report = purge(db, config, now=NOW + dt.timedelta(hours=25))
    assert (report.purged, report.files_removed) == (1, 2)
    assert sorted(p.name for p in folder.iterdir()) == [os.path.basename(waiting_ticket)]
    later = purge(db, config, now=NOW + dt.timedelta(days=7, hours=1))
    assert (later.unsynced_purged, later.files_removed) == (1, 1)
    assert list(folder.iterdir()) == []


def svc_registration(db, config, reg_id):
    return RegistrationService(db, config, now=lambda: NOW).get(reg_id)
