"""A consistent copy of the kiosk database, and putting it back.

The updater takes one before a new release first opens the database (its
migrations may move the schema past what the old release accepts) and restores
it if the new release is rolled back. SQLite's online backup API copies a
consistent snapshot even while WAL is in use, and writes the restore inside one
transaction: a kill half-way leaves the database as it was.

The updater runs as root, but root never opens the kiosk's database: SQLite
creates, opens and chowns the -wal/-shm/-journal beside it by path, and the
kiosk user can plant links there (decision 0100). When another user owns the
database's folder, the SQLite work runs in a child process as that user; the
snapshot travels through a pipe and root writes the copy into its own folder.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

from kiosk.runtime.safe_paths import foreign_owner, private_dir, run_as_kwargs, write_in

TIMEOUT_S = 15.0


def _schema(path: Path) -> int:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=TIMEOUT_S)
    try:
        return int(conn.execute("PRAGMA user_version").fetchone()[0])
    finally:
        conn.close()


def _snapshot(database: Path) -> bytes:
    """The database as one self-contained image (journal_mode=DELETE)."""
    src = sqlite3.connect(f"file:{database}?mode=rw", uri=True, timeout=TIMEOUT_S)
    try:
        out = sqlite3.connect(":memory:")
        try:
            src.backup(out)
            image = bytearray(out.serialize())
        finally:
            out.close()
    finally:
        src.close()
    # Header bytes 18-19 (write/read format): 2 = WAL, as copied from the source; 1 =
    # rollback journal, so the image opens without a -wal beside it.
    image[18:20] = b"\x01\x01"
    return bytes(image)


def _put_back(image: bytes, database: Path) -> None:
    src = sqlite3.connect(":memory:")
    try:
        src.deserialize(image)
        dst = sqlite3.connect(database, timeout=TIMEOUT_S)
        try:
            src.backup(dst)
        finally:
            dst.close()
    finally:
        src.close()


def _as_owner(op: str, database: Path, stdin: bytes = b"") -> bytes | None:
    """Run `op` as the owner of the database's folder; None: no other owner, do it here."""
    owner = foreign_owner(database.parent)
    if owner is None:
        return None
    proc = subprocess.run([sys.executable, "-m", "kiosk.store.backup", op, str(database)],
                          input=stdin, capture_output=True, timeout=300, check=False,
                          cwd="/", **run_as_kwargs(owner))
    if proc.returncode != 0:
        raise sqlite3.OperationalError(
            f"{op} as uid {owner[0]} failed: {proc.stderr.decode(errors='replace')[-300:]}")
    return proc.stdout


def schema_version(path: Path) -> int:
    out = _as_owner("schema", path)
    return _schema(path) if out is None else int(out)


def backup(database: Path, dest: Path) -> int:
    """Copy `database` to `dest` (root's own folder; replaced atomically, 0600: personal
    data); return its schema version."""
    image = _as_owner("snapshot", database)
    if image is None:
        image = _snapshot(database)
    write_in(private_dir(dest.parent), dest.name, image, 0o600)
    return _schema(dest)


def restore(copy: Path, database: Path) -> None:
    """Write the copy's pages over `database` in one transaction (WAL kept)."""
    image = copy.read_bytes()
    if _as_owner("put-back", database, image) is None:
        _put_back(image, database)


def _main(argv: list[str]) -> int:
    """The child's side of `_as_owner` (`python -m kiosk.store.backup OP DATABASE`)."""
    op, database = argv[0], Path(argv[1])
    if op == "schema":
        sys.stdout.write(str(_schema(database)))
    elif op == "snapshot":
        sys.stdout.buffer.write(_snapshot(database))
    elif op == "put-back":
        _put_back(sys.stdin.buffer.read(), database)
    else:
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
