"""The kiosk's single SQLite database (WAL, synchronous=FULL, migrations).

Every process (UI, sync daemon, updater, CLI) opens the same file; WAL lets
readers run beside the one writer, and `synchronous=FULL` makes a committed
registration survive a power cut. `busy_timeout` makes concurrent writers
queue instead of failing.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import time
from pathlib import Path

import sqlite_utils

from kiosk.runtime.safe_paths import refuse_as_root
from kiosk.store.migrations import MIGRATIONS

BUSY_TIMEOUT_MS = 15_000


class StoreError(RuntimeError):
    pass


def connect(path: Path) -> sqlite_utils.Database:
    """Open (creating if needed) and migrate the database at `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    refuse_as_root(path)  # SQLite follows links at the side files' names
    # isolation_level=None: we issue BEGIN IMMEDIATE ourselves (see `transaction`).
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                           check_same_thread=False)
    conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    mode = _enable_wal(conn)
    if mode.lower() != "wal":
        raise StoreError(f"cannot enable WAL on {path} (got {mode})")
    conn.execute("PRAGMA synchronous=FULL")
    # Freed bytes are zeroed: a purged name must not linger in free page space.
    conn.execute("PRAGMA secure_delete=ON")
    conn.execute("PRAGMA foreign_keys=ON")
    db = sqlite_utils.Database(conn)
    migrate(db)
    return db


def _enable_wal(conn: sqlite3.Connection) -> str:
    """Switch to WAL, retrying: SQLite answers "database is locked" at once,
    without its busy handler, while another process is switching a new file."""
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            return str(conn.execute("PRAGMA journal_mode=WAL").fetchone()[0])
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def schema_version(db: sqlite_utils.Database) -> int:
    return int(db.execute("PRAGMA user_version").fetchone()[0])


def migrate(db: sqlite_utils.Database) -> int:
    """Apply pending migrations, each atomically; return the resulting version."""
    current = schema_version(db)
    latest = MIGRATIONS[-1][0]
    if current > latest:
        raise StoreError(
            f"database schema v{current} is newer than this kiosk version knows (v{latest}); "
            "refusing to touch it (was an update rolled back?)"
        )
    for version, sql in MIGRATIONS:
        if version <= current:
            continue
        with transaction(db):
            # Another process may have applied it while we waited for the write lock.
            if schema_version(db) >= version:
                current = schema_version(db)
                continue
            for statement in _statements(sql):
                db.execute(statement)
            db.execute(f"PRAGMA user_version={version}")
        current = version
    return current


def _statements(sql: str) -> list[str]:
    """Split a migration script; executescript() would commit our transaction."""
    parts, buffer = [], ""
    for line in sql.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            if buffer.strip():
                parts.append(buffer.strip())
            buffer = ""
    if buffer.strip():
        parts.append(buffer.strip())
    return parts


class transaction:
    """BEGIN IMMEDIATE … COMMIT: takes the write lock up front so read-modify-write
    sequences (queue numbers, outbox claims) are atomic across processes."""

    def __init__(self, db: sqlite_utils.Database) -> None:
        self.conn = db.conn

    def __enter__(self) -> sqlite3.Connection:
        self.conn.execute("BEGIN IMMEDIATE")
        return self.conn

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None:
            self.conn.execute("COMMIT")
        else:
            self.conn.execute("ROLLBACK")


def utc_now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")


def audit(db: sqlite_utils.Database, kiosk_id: str, event: str, detail: str = "") -> None:
    """Record an operational event. `detail` must not contain personal data."""
    db.execute(
        "INSERT INTO audit (at, kiosk_id, event, detail) VALUES (?, ?, ?, ?)",
        [utc_now(), kiosk_id, event, detail],
    )


def bump_statistic(db: sqlite_utils.Database, day: str, kiosk_id: str, metric: str,
                   by: int = 1) -> None:
    db.execute(
        "INSERT INTO statistics (day, kiosk_id, metric, value) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (day, kiosk_id, metric) DO UPDATE SET value = value + excluded.value",
        [day, kiosk_id, metric, by],
    )
