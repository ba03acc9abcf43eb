"""Retention: personal data leaves the database once the HIS has it.

A registration's personal fields (name, ID and card numbers, birth date, sex,
address, the gateway's answer) are nulled once the HIS confirmed it and
`retention.personal_data_hours` (default 24 h) have passed; what remains
(service, queue number, outcomes, times) is anonymous and feeds the counts.
`secure_delete` (set on every connection) zeroes the freed bytes inside the
database pages and a TRUNCATE checkpoint empties the WAL, so the old values are
gone from the files, not just hidden.

Registrations the HIS never confirmed (failed, or still waiting) are shown to
staff (`unsynced_summary`: the staff screen, `kiosk outbox list`) and purged
`retention.unsynced_days` (default 7) after they were made; their outbox
entries become dead letters saying so. Ticket and handout images a file
printer saved go on the same schedules: a ticket with its registration, a
handout (not tied to one) `personal_data_hours` after it was printed.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass
from pathlib import Path

import sqlite_utils

from kiosk.config import Config
from kiosk.store.db import audit, transaction

log = logging.getLogger(__name__)

PERSONAL_COLUMNS = ("id_number", "full_name", "date_of_birth", "sex", "residence",
                    "bhyt_card", "insurance_json", "biometric_json")


# drivers.printer.FilePrinter's names: tickets carry the registration's code.
_TICKET = re.compile(r"ticket-\d{8}-[A-Za-z0-9_-]+-(?P<code>[A-Za-z0-9]+)\.png")


@dataclass(frozen=True)
class PurgeReport:
    purged: int
    cache_rows: int
    checkpointed: bool
    unsynced_purged: int = 0
    files_removed: int = 0


@dataclass(frozen=True)
class UnsyncedSummary:
    """What staff must see: registrations the HIS does not have, and when the kiosk
    will forget them (no names: counts and times only)."""
    count: int
    failed: int
    oldest_created_at: str | None
    purge_at: str | None  # when the oldest one's personal data goes


def unsynced_summary(db: sqlite_utils.Database, config: Config) -> UnsyncedSummary:
    count, failed, oldest = db.execute(
        "SELECT count(*), coalesce(sum(sync_state = 'failed'), 0), min(created_at) "
        "FROM registrations WHERE sync_state != 'synced' AND purged_at IS NULL").fetchone()
    purge_at = None
    if oldest:
        purge_at = (dt.datetime.fromisoformat(oldest) + dt.timedelta(
            days=config.retention.unsynced_days)).isoformat(timespec="seconds")
    return UnsyncedSummary(int(count), int(failed), oldest, purge_at)


def purge(db: sqlite_utils.Database, config: Config, *, now: dt.datetime | None = None,
          vacuum: bool = False, batch: int = 500) -> PurgeReport:
    now = now or dt.datetime.now(dt.UTC)
    cutoff = (now - dt.timedelta(hours=config.retention.personal_data_hours)).astimezone(
        dt.UTC).isoformat(timespec="milliseconds")
    stamp = now.astimezone(dt.UTC).isoformat(timespec="milliseconds")
    db.execute("PRAGMA secure_delete=ON")
    nulls = ", ".join(f"{c} = NULL" for c in PERSONAL_COLUMNS)
    total = 0
    while True:  # small batches: the UI's registrations never wait long for the lock
        with transaction(db):
            ids = [r[0] for r in db.execute(
                "SELECT id FROM registrations r WHERE sync_state = 'synced' AND purged_at IS NULL "
                "AND synced_at <= ? AND NOT EXISTS (SELECT 1 FROM outbox o WHERE "
                "o.registration_id = r.id AND o.state = 'pending') LIMIT ?",
                [cutoff, batch]).fetchall()]
            for reg_id in ids:
                # patient_key was a hash of the ID: replace it too (guessable for 12 digits)
                db.execute(f"UPDATE registrations SET {nulls}, patient_key = id, purged_at = ?, "
                           "recheck_state = CASE WHEN recheck_state = 'pending' THEN 'done' "
                           "ELSE recheck_state END WHERE id = ?", [stamp, reg_id])
                db.execute("UPDATE outbox SET patient_key = registration_id "
                           "WHERE registration_id = ?", [reg_id])
        total += len(ids)
        if len(ids) < batch:
            break
    unsynced = _purge_unsynced(db, config, now, stamp, nulls, batch)
    cache = db.execute("DELETE FROM bhxh_cache WHERE checked_at < ?", [cutoff]).rowcount
    files = purge_printed_files(db, config, now)
    checkpointed = True
    if total or cache or unsynced:
        audit(db, config.kiosk_id, "retention.purged",
              f"{total} registrations, {unsynced} never synced, {cache} cached, {files} files")
        if vacuum:
            db.execute("VACUUM")
        busy = db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
        checkpointed = busy == 0
        log.info("purged personal data of %d registrations (%d never synced)",
                 total + unsynced, unsynced)
    return PurgeReport(total, int(cache), checkpointed, unsynced, files)


def _purge_unsynced(db: sqlite_utils.Database, config: Config, now: dt.datetime, stamp: str,
                    nulls: str, batch: int) -> int:
    """Registrations the HIS never confirmed, older than `unsynced_days`: their data goes,
    and what was still to be sent for them becomes a dead letter that says why."""
    cutoff = (now - dt.timedelta(days=config.retention.unsynced_days)).astimezone(
        dt.UTC).isoformat(timespec="milliseconds")
    why = f"personal data purged after {config.retention.unsynced_days} days unsynced " \
          "(retention.unsynced_days)"
    total = 0
    while True:
        with transaction(db):
            ids = [r[0] for r in db.execute(
                "SELECT id FROM registrations WHERE sync_state != 'synced' AND purged_at IS "
                "NULL AND created_at <= ? LIMIT ?", [cutoff, batch]).fetchall()]
            for reg_id in ids:
                db.execute(f"UPDATE registrations SET {nulls}, patient_key = id, purged_at = ?, "
                           "sync_state = 'failed', recheck_state = CASE WHEN recheck_state = "
                           "'pending' THEN 'done' ELSE recheck_state END WHERE id = ?",
                           [stamp, reg_id])
                db.execute("UPDATE outbox SET patient_key = registration_id, state = CASE WHEN "
                           "state = 'pending' THEN 'dead' ELSE state END, last_error = CASE "
                           "WHEN state = 'done' THEN last_error ELSE ? END, updated_at = ? "
                           "WHERE registration_id = ?", [why, stamp, reg_id])
        total += len(ids)
        if len(ids) < batch:
            return total


def printed_files_dirs(config: Config) -> list[Path]:
    """Where printed images may be kept: a file printer's folder, and the state folder's
    `tickets/` where handouts are saved when no printer can take images."""
    folders = [config.state_dir / "tickets"]
    if config.printer.kind == "file" and config.printer.target:
        folders.insert(0, Path(config.printer.target))
    return folders


def purge_printed_files(db: sqlite_utils.Database, config: Config, now: dt.datetime) -> int:
    """A ticket goes when its registration's data went, and any ticket once it is older
    than `unsynced_days` (no registration keeps data longer); handouts and other prints
    `personal_data_hours` after they were written."""
    handout_cutoff = (now - dt.timedelta(hours=config.retention.personal_data_hours)).timestamp()
    ticket_cutoff = (now - dt.timedelta(days=config.retention.unsynced_days)).timestamp()
    # A ticket names its registration by code: the id's first 10 characters, upper case
    # (kiosk.services.registration.registration_code).
    purged = {row[0] for row in db.execute(
        "SELECT upper(substr(id, 1, 10)) FROM registrations WHERE purged_at IS NOT NULL")}
    removed = 0
    paths = [p for folder in printed_files_dirs(config) if folder.is_dir()
             for p in folder.glob("*.png")]
    for path in paths:
        match = _TICKET.fullmatch(path.name)
        written = path.stat().st_mtime
        ticket_gone = match is not None and (match["code"] in purged or written <= ticket_cutoff)
        if ticket_gone or (match is None and written <= handout_cutoff):
            path.unlink(missing_ok=True)
            removed += 1
    return removed
