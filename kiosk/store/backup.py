"""A consistent copy of the kiosk database, and putting it back.

The updater takes one before a new release first opens the database (its
migrations may move the schema past what the old release accepts) and restores
it if the new release is rolled back. SQLite's online backup API copies a
consistent snapshot even while WAL is in use, and writes the restore inside one
transaction: a kill half-way leaves the database as it was.

The updater runs as root; files SQLite creates beside the database (-wal, -shm)
are given back to the database's owner, or the kiosk's services could no longer
write them.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

TIMEOUT_S = 15.0


def schema_version(path: Path) -> int:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=TIMEOUT_S)
    try:
        return int(conn.execute("PRAGMA user_version").fetchone()[0])
    finally:
        conn.close()


def backup(database: Path, dest: Path) -> int:
    """Copy `database` to `dest` (replaced atomically); return its schema version."""
    tmp = dest.with_name(dest.name + ".tmp")
    tmp.unlink(missing_ok=True)
    src = sqlite3.connect(f"file:{database}?mode=rw", uri=True, timeout=TIMEOUT_S)
    try:
        out = sqlite3.connect(tmp)
        try:
            src.backup(out)
            out.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
            version = int(out.execute("PRAGMA user_version").fetchone()[0])
        finally:
            out.close()
    finally:
        src.close()
    os.chmod(tmp, 0o600)  # personal data: only root reads the copy
    _fsync(tmp)
    os.replace(tmp, dest)
    _give_back(database)
    return version


def restore(copy: Path, database: Path) -> None:
    """Write the copy's pages over `database` in one transaction (WAL kept)."""
    src = sqlite3.connect(f"file:{copy}?mode=ro", uri=True, timeout=TIMEOUT_S)
    try:
        dst = sqlite3.connect(database, timeout=TIMEOUT_S)
        try:
            src.backup(dst)
        finally:
            dst.close()
    finally:
        src.close()
    _give_back(database)


def _give_back(database: Path) -> None:
    st = database.stat()
    for suffix in ("", "-wal", "-shm", "-journal"):
        path = database.with_name(database.name + suffix)
        try:
            if path.stat().st_uid != st.st_uid or path.stat().st_gid != st.st_gid:
                os.chown(path, st.st_uid, st.st_gid)
        except FileNotFoundError:
            continue


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
