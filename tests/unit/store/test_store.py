import multiprocessing
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from kiosk.store import StoreError, audit, bump_statistic, connect, transaction
from kiosk.store.migrations import MIGRATIONS
from tests.processes import run_at_once


def test_new_database_is_wal_full_sync_and_migrated(tmp_path):
    db = connect(tmp_path / "state" / "kiosk.sqlite3")
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert db.execute("PRAGMA user_version").fetchone()[0] == MIGRATIONS[-1][0]
    assert {"registrations", "outbox", "queue_counters", "statistics", "audit"} <= set(
        db.table_names())


def test_reopening_does_not_reapply_migrations(tmp_path):
    path = tmp_path / "k.sqlite3"
    db = connect(path)
    audit(db, "k1", "started")
    db.conn.close()
    db2 = connect(path)
    assert db2.execute("SELECT count(*) FROM audit").fetchone()[0] == 1


def test_refuses_a_newer_schema(tmp_path):
    path = tmp_path / "k.sqlite3"
    connect(path).execute("PRAGMA user_version=999")
    with pytest.raises(StoreError, match="newer than this kiosk"):
        connect(path)


def test_transaction_rolls_back_on_error(tmp_path):
    db = connect(tmp_path / "k.sqlite3")
    with pytest.raises(RuntimeError), transaction(db):
        bump_statistic(db, "2026-11-23", "k1", "x")
        raise RuntimeError("boom")
    assert db.execute("SELECT count(*) FROM statistics").fetchone()[0] == 0


def _bump_many(path: str, n: int) -> None:
    db = connect(__import__("pathlib").Path(path))
    for _ in range(n):
        with transaction(db):
            bump_statistic(db, "2026-11-23", "k1", "journey.started")


def test_concurrent_processes_do_not_lose_increments(tmp_path):
    path = tmp_path / "k.sqlite3"
    connect(path).conn.close()
    procs = [multiprocessing.Process(target=_bump_many, args=(str(path), 100)) for _ in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    value = sqlite3.connect(path).execute("SELECT value FROM statistics").fetchone()[0]
    assert value == 300


def _open_when_told(start: Any, path: str) -> None:
    start.wait()
    connect(Path(path))


def test_processes_opening_a_new_database_at_once_all_succeed(tmp_path):
    # UI and sync daemon start together on a fresh kiosk; SQLite reports
    # "database is locked" without waiting while one of them switches to WAL.
    for round_ in range(40):
        path = tmp_path / f"k{round_}.sqlite3"
        run_at_once("fork", _open_when_told, [(str(path),)] * 3)
        assert connect(path).execute("PRAGMA user_version").fetchone()[0] == MIGRATIONS[-1][0]
