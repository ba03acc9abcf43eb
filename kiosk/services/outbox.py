"""The outbox table: what still has to reach the HIS, and what could not.

Rows are written in the registration's own transaction (see
`kiosk.services.registration`). The sync daemon is the only consumer (it
holds a lock file), so picking the next row needs no lease: a crash leaves
the row pending and it is simply picked again — at-least-once delivery,
made exactly-once in effect by idempotent HIS writes.

Order per patient: a row is never picked while an older pending row of the
same patient exists (dead rows do not block).
"""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
from dataclasses import dataclass
from typing import Any

import sqlite_utils

from kiosk.store import transaction

STATES = ("pending", "done", "dead")
# Kinds of row. The first creates the visit and carries the registration's sync state;
# the second tells the HIS a deferred BHYT re-check answered after it had the visit;
# the third sends BHXH the QĐ 130 check-in table (`bhxh.checkin`).
HIS_REGISTER = "his_register"
HIS_CHECKIN = "his_checkin"  # a follow-up appointment checked in: its visit, like a register
VISITS = (HIS_REGISTER, HIS_CHECKIN)  # rows that carry the registration's sync state
HIS_INSURANCE = "his_insurance"
BHXH_CHECKIN = "bhxh_checkin"
NOT_FOR_HIS = (BHXH_CHECKIN,)  # still sent while the HIS is down


def checkin_key(patient_key: str) -> str:
    """Check-ins keep their own per-patient order: an HIS outage must not hold them."""
    return f"checkin:{patient_key}"
_COLUMNS = ("id", "registration_id", "kind", "patient_key", "state", "attempts",
            "next_attempt_at", "last_error", "created_at", "updated_at")
# Identifiers that might slip into an error text: 9+ digits (CCCD, phone), BHYT numbers.
_SENSITIVE = re.compile(r"\b\d{9,}\b|\b[A-Z]{2}\d{13}\b")


@dataclass(frozen=True)
class OutboxItem:
    id: int
    registration_id: str
    kind: str
    patient_key: str
    state: str
    attempts: int
    next_attempt_at: str
    last_error: str | None
    created_at: str
    updated_at: str

    def to_json(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in _COLUMNS if name != "patient_key"}


def stamp(moment: dt.datetime) -> str:
    """The one timestamp format in the outbox (UTC, milliseconds): sorts as text."""
    return moment.astimezone(dt.UTC).isoformat(timespec="milliseconds")


def clean_reason(text: str) -> str:
    """An error text fit for the database and logs: no identifiers, bounded length."""
    return _SENSITIVE.sub("[redacted]", text)[:300]


def _item(row: tuple[Any, ...]) -> OutboxItem:
    return OutboxItem(*row)


_SELECT = f"SELECT {', '.join('o.' + c for c in _COLUMNS)} FROM outbox o"


def enqueue(db: sqlite_utils.Database | sqlite3.Connection, registration_id: str, kind: str,
            patient_key: str, now: dt.datetime) -> None:
    """Add a row; call inside the transaction that records what it delivers."""
    at = stamp(now)
    db.execute("INSERT INTO outbox (registration_id, kind, patient_key, next_attempt_at, "
               "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
               [registration_id, kind, patient_key, at, at, at])


def _kind_filter(kinds: tuple[str, ...] | None) -> tuple[str, list[str]]:
    if kinds is None:
        return "", []
    return f" AND o.kind IN ({', '.join('?' * len(kinds))})", list(kinds)


def next_due(db: sqlite_utils.Database, now: dt.datetime,
             kinds: tuple[str, ...] | None = None) -> OutboxItem | None:
    only, args = _kind_filter(kinds)
    row = db.execute(
        f"{_SELECT} WHERE o.state = 'pending' AND o.next_attempt_at <= ?{only} AND NOT EXISTS ("
        "SELECT 1 FROM outbox p WHERE p.patient_key = o.patient_key AND p.state = 'pending' "
        "AND p.id < o.id) ORDER BY o.next_attempt_at, o.id LIMIT 1",
        [stamp(now), *args]).fetchone()
    return _item(row) if row else None


def next_attempt_at(db: sqlite_utils.Database,
                    kinds: tuple[str, ...] | None = None) -> dt.datetime | None:
    """When the next row may be picked (rows waiting behind their patient's older row
    do not count: they follow it)."""
    only, args = _kind_filter(kinds)
    row = db.execute(
        f"SELECT min(o.next_attempt_at) FROM outbox o WHERE o.state = 'pending'{only} AND "
        "NOT EXISTS (SELECT 1 FROM outbox p WHERE p.patient_key = o.patient_key AND "
        "p.state = 'pending' AND p.id < o.id)", args).fetchone()
    return dt.datetime.fromisoformat(row[0]) if row and row[0] else None


def complete(db: sqlite_utils.Database, item: OutboxItem, his_ref: str,
             now: dt.datetime) -> None:
    with transaction(db):
        db.execute("UPDATE outbox SET state = 'done', attempts = attempts + 1, "
                   "last_error = NULL, updated_at = ? WHERE id = ?", [stamp(now), item.id])
        if item.kind in VISITS:
            db.execute("UPDATE registrations SET sync_state = 'synced', his_ref = ?, "
                       "synced_at = ? WHERE id = ?", [his_ref, stamp(now), item.registration_id])


def fail(db: sqlite_utils.Database, item: OutboxItem, reason: str, *, attempts: int,
         dead: bool, retry_at: dt.datetime, now: dt.datetime) -> None:
    with transaction(db):
        db.execute("UPDATE outbox SET state = ?, attempts = ?, last_error = ?, "
                   "next_attempt_at = ?, updated_at = ? WHERE id = ?",
                   ["dead" if dead else "pending", attempts, clean_reason(reason),
                    stamp(retry_at), stamp(now), item.id])
        if dead and item.kind in VISITS:
            db.execute("UPDATE registrations SET sync_state = 'failed' WHERE id = ?",
                       [item.registration_id])


def list_items(db: sqlite_utils.Database, states: tuple[str, ...] = STATES,
               limit: int = 1000) -> list[OutboxItem]:
    marks = ", ".join("?" * len(states))
    rows = db.execute(f"{_SELECT} WHERE o.state IN ({marks}) ORDER BY o.id DESC LIMIT ?",
                      [*states, limit]).fetchall()
    return [_item(r) for r in rows]


def get(db: sqlite_utils.Database, item_id: int) -> OutboxItem | None:
    row = db.execute(f"{_SELECT} WHERE o.id = ?", [item_id]).fetchone()
    return _item(row) if row else None


def retry(db: sqlite_utils.Database, item_id: int, now: dt.datetime) -> OutboxItem | None:
    """Put a dead (or waiting) row back in the queue for an immediate attempt."""
    with transaction(db):
        found = get(db, item_id)
        if found is None or found.state == "done":
            return found
        db.execute("UPDATE outbox SET state = 'pending', attempts = 0, next_attempt_at = ?, "
                   "updated_at = ? WHERE id = ?", [stamp(now), stamp(now), item_id])
        if found.kind in VISITS:
            db.execute("UPDATE registrations SET sync_state = 'pending' WHERE id = ?",
                       [found.registration_id])
    return get(db, item_id)


def counts(db: sqlite_utils.Database) -> dict[str, int]:
    rows = db.execute("SELECT state, count(*) FROM outbox GROUP BY state").fetchall()
    return {state: 0 for state in STATES} | {s: int(n) for s, n in rows}
