"""The sync daemon's lobby pass: heartbeat, settle this kiosk's numbers, publish counts.

Settling (decision 0071): a shared number still 'taken' after `grace_s` is
looked up in this kiosk's SQLite by its reference — a registration that holds
exactly that number makes it 'used'; anything else (the kiosk died between
taking it and storing the registration, or gave up waiting and printed an
offline number instead) makes it 'void', with this kiosk and the time, for the
staff calling numbers. A void never returns a number to the pool, so a late
writer cannot cause a duplicate; at worst a number shows 'void' that a
registration then settles as 'used'.

Publishing (decision 0073): each (day, metric) counter goes up as its absolute
value, and only when it differs from what was last published (table
`lobby_published`), so passes are cheap, repeats count nothing twice and an
offline kiosk catches up on its next pass. The offline numbers this kiosk printed
go up too (decision 0133), past a per department-day watermark kept in the same
table (metric `#offline:DEPT`), so `kiosk lobby tickets` lists every ticket.

Each pass also reads the server's clock: a skew past the bound is logged (once).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import sqlite_utils

from kiosk.lobby.client import LobbyClient, LobbyError, LobbyRefused
from kiosk.store import transaction

log = logging.getLogger(__name__)

SETTLE_GRACE_S = 60.0  # a registration's local write takes well under a second
PASS_BUDGET_S = 5.0  # the daemon may wait longer than a patient would


OFFLINE_MARK = "#offline:"  # lobby_published metric prefix: offline numbers sent so far


@dataclass
class LobbyReport:
    heartbeat: bool = False
    used: int = 0
    voided: int = 0
    published: int = 0
    offline_published: int = 0
    state: str = "ok"  # ok, down (unreachable/too slow) or refused (login, certificate)
    errors: list[str] = field(default_factory=list)


def settle(db: sqlite_utils.Database, client: LobbyClient, grace_s: float = SETTLE_GRACE_S,
           budget_s: float = PASS_BUDGET_S) -> tuple[int, int]:
    """(used, voided) of this kiosk's numbers that were still unsettled."""
    used_total = voided_total = 0
    while True:
        rows = client.unsettled(grace_s, budget_s=budget_s)
        if not rows:
            return used_total, voided_total
        used: list[str] = []
        void: list[str] = []
        for ref, department, day, seq in rows:
            held = db.execute(
                "SELECT 1 FROM registrations WHERE id = ? AND queue_source = 'lobby' "
                "AND department = ? AND queue_day = ? AND queue_seq = ?",
                [ref, department, day, seq]).fetchone()
            (used if held else void).append(ref)
        client.settle(used, void, budget_s=budget_s)
        for ref in void:
            log.warning("lobby number voided (%s)", _why_void(db, ref))
        used_total += len(used)
        voided_total += len(void)
        if len(rows) < 500:
            return used_total, voided_total


def _why_void(db: sqlite_utils.Database, ref: str) -> str:
    """What the void log line says: the truth about the registration behind `ref`."""
    row = db.execute("SELECT queue_number, queue_source FROM registrations WHERE id = ?",
                     [ref]).fetchone()
    if row is None:
        return f"registration {ref} was never stored"
    return f"registration {ref} was stored with {row[1]} number {row[0]} instead"


def publish_offline(db: sqlite_utils.Database, client: LobbyClient,
                    budget_s: float = PASS_BUDGET_S) -> int:
    """Offline numbers printed here and not yet sent, 500 at a time; returns rows sent."""
    marks = {metric[len(OFFLINE_MARK):] + "|" + day: int(value) for day, metric, value in
             db.execute("SELECT day, metric, value FROM lobby_published WHERE metric LIKE ?",
                        [OFFLINE_MARK + "%"]).fetchall()}
    rows = db.execute(
        "SELECT id, department, queue_day, -queue_seq, created_at FROM registrations "
        "WHERE queue_source = 'offline' ORDER BY queue_day, department, -queue_seq"
    ).fetchall()
    pending = [r for r in rows if r[3] > marks.get(f"{r[1]}|{r[2]}", 0)]
    sent = 0
    for start in range(0, len(pending), 500):
        batch = pending[start:start + 500]
        client.publish_offline([(r[1], r[2], int(r[3]), r[0], r[4]) for r in batch],
                               budget_s=budget_s)
        with transaction(db) as conn:
            for _ref, department, day, seq, _at in batch:
                conn.execute(
                    "INSERT INTO lobby_published (day, metric, value) VALUES (?, ?, ?) "
                    "ON CONFLICT (day, metric) DO UPDATE SET "
                    "value = max(value, excluded.value)", [day, OFFLINE_MARK + department, seq])
        sent += len(batch)
    return sent


def publish(db: sqlite_utils.Database, client: LobbyClient, kiosk_id: str,
            budget_s: float = PASS_BUDGET_S) -> int:
    """Counters changed since the last publication, per day; returns rows sent."""
    rows = db.execute(
        "SELECT s.day, s.metric, s.value FROM statistics s LEFT JOIN lobby_published p "
        "ON p.day = s.day AND p.metric = s.metric "
        "WHERE s.kiosk_id = ? AND (p.value IS NULL OR p.value <> s.value) "
        "ORDER BY s.day", [kiosk_id]).fetchall()
    per_day: dict[str, dict[str, int]] = {}
    for day, metric, value in rows:
        per_day.setdefault(day, {})[metric] = int(value)
    sent = 0
    for day, values in per_day.items():
        client.publish(day, values, budget_s=budget_s)
        with transaction(db) as conn:
            for metric, value in values.items():
                conn.execute("INSERT INTO lobby_published (day, metric, value) VALUES (?, ?, ?) "
                             "ON CONFLICT (day, metric) DO UPDATE SET value = excluded.value",
                             [day, metric, value])
        sent += len(values)
    return sent


def lobby_pass(db: sqlite_utils.Database, client: LobbyClient, kiosk_id: str,
               grace_s: float = SETTLE_GRACE_S) -> LobbyReport:
    """One pass; an unreachable lobby ends it early (the next pass catches up)."""
    report = LobbyReport()
    try:
        client.heartbeat(budget_s=PASS_BUDGET_S)
        report.heartbeat = True
        client.server_skew(budget_s=PASS_BUDGET_S)  # logs a drifting clock, once
        report.used, report.voided = settle(db, client, grace_s)
        report.published = publish(db, client, kiosk_id)
        report.offline_published = publish_offline(db, client)
    except LobbyError as exc:
        report.state = "refused" if isinstance(exc, LobbyRefused) else "down"
        report.errors.append(f"lobby: {exc}")
    return report
