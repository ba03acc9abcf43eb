"""Retention: personal data leaves the database once the HIS has it.

A registration's personal fields (name, ID and card numbers, birth date, sex,
address, the gateway's answer) are nulled once the HIS confirmed it and
`retention.personal_data_hours` (default 24 h) have passed; what remains
(service, queue number, outcomes, times) is anonymous and feeds the counts.
`secure_delete` (set on every connection) zeroes the freed bytes inside the
database pages and a TRUNCATE checkpoint empties the WAL, so the old values are
gone from the files, not just hidden. Registrations that never reached the HIS
keep their data until staff resolve them (`kiosk outbox retry`).
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

import sqlite_utils

from kiosk.config import Config
from kiosk.store.db import audit, transaction

log = logging.getLogger(__name__)

PERSONAL_COLUMNS = ("id_number", "full_name", "date_of_birth", "sex", "residence",
                    "bhyt_card", "insurance_json")


@dataclass(frozen=True)
class PurgeReport:
    purged: int
    cache_rows: int
    checkpointed: bool


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
    cache = db.execute("DELETE FROM bhxh_cache WHERE checked_at < ?", [cutoff]).rowcount
    checkpointed = True
    if total or cache:
        audit(db, config.kiosk_id, "retention.purged", f"{total} registrations, {cache} cached")
        if vacuum:
            db.execute("VACUUM")
        busy = db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
        checkpointed = busy == 0
        log.info("purged personal data of %d registrations", total)
    return PurgeReport(total, int(cache), checkpointed)
