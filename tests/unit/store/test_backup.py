"""The database copy the updater takes before a new release opens the database, and
its restore when that release is rolled back after migrating: the old release's own
store code opens the database again, with nothing it had written lost."""

import sqlite3

import pytest

from kiosk.store import StoreError, audit, connect
from kiosk.store import backup as db_backup
from kiosk.store.migrations import MIGRATIONS

NEXT = MIGRATIONS[-1][0] + 1


def test_rollback_after_a_migration_leaves_a_working_kiosk(tmp_path, monkeypatch):
    path = tmp_path / "kiosk.sqlite3"
    db = connect(path)  # the old release, running (WAL, connection open)
    audit(db, "k1", "before-update")
    copy = tmp_path / "update" / "database.sqlite3"
    copy.parent.mkdir()
    assert db_backup.backup(path, copy) == NEXT - 1
    audit(db, "k1", "old-release-still-writing")  # not in the copy (snapshot semantics)
    db.conn.close()

    # The new release migrates one step further.
    monkeypatch.setattr("kiosk.store.db.MIGRATIONS", [*MIGRATIONS, (
        NEXT, "ALTER TABLE audit ADD COLUMN origin TEXT;")])
    newer = connect(path)
    audit(newer, "k1", "new-release")
    newer.conn.close()
    monkeypatch.undo()
    with pytest.raises(StoreError, match=f"schema v{NEXT} is newer"):
        connect(path)  # what the kiosk did before: the old release refused to start

    db_backup.restore(copy, path)
    back = connect(path)  # the old release's own store code
    events = [r[0] for r in back.execute("SELECT event FROM audit ORDER BY id")]
    assert events == ["before-update"]
    assert back.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert back.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert db_backup.schema_version(path) == NEXT - 1


def test_copy_is_private_and_self_contained(tmp_path):
    path = tmp_path / "kiosk.sqlite3"
    db = connect(path)
    audit(db, "k1", "x")
    copy = tmp_path / "copy.sqlite3"
    db_backup.backup(path, copy)
    db.conn.close()
    assert copy.stat().st_mode & 0o777 == 0o600
    assert not (tmp_path / "copy.sqlite3-wal").exists()
    conn = sqlite3.connect(copy)
    assert conn.execute("SELECT count(*) FROM audit").fetchone()[0] == 1
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"


def test_restore_while_a_reader_holds_the_database(tmp_path):
    """Restoring waits for the write lock like any writer: a reader is not corrupted."""
    path = tmp_path / "kiosk.sqlite3"
    db = connect(path)
    audit(db, "k1", "kept")
    copy = tmp_path / "copy.sqlite3"
    db_backup.backup(path, copy)
    audit(db, "k1", "dropped")
    db_backup.restore(copy, path)
    assert [r[0] for r in db.execute("SELECT event FROM audit")] == ["kept"]
    db.conn.close()
