"""What the kiosk's services can reach, seen as the service user (`kiosk doctor`).

Root reads every file, so a check run by root proves nothing about the units
(`User=kiosk`): as root, `kiosk doctor` runs this module as the `kiosk` user in a
child process; as anyone else it runs in-process as that user. It only reads, and
writes one temporary file in `state_dir`: it never creates a folder.
"""

from __future__ import annotations

import json
import os
import pwd
import sqlite3
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

from kiosk.config.fileinfo import describe, whoami

SERVICE_USER = "kiosk"


def probe(config_path: Path, state_dir: Path) -> list[str]:
    """Problems the current user has with the kiosk's files (empty: none)."""
    who = whoami()
    try:
        raw = tomllib.loads(config_path.read_text(encoding="utf-8"))
    except OSError as exc:
        return [f"{who} cannot read {describe(config_path)}: {exc.strerror}"]
    except (tomllib.TOMLDecodeError, UnicodeDecodeError):
        raw = {}
    problems = []
    kiosk = raw.get("kiosk") if isinstance(raw.get("kiosk"), dict) else {}
    secrets = kiosk.get("secrets_file") if isinstance(kiosk, dict) else None
    if isinstance(secrets, str) and secrets:
        path = config_path.parent / secrets
        try:
            with path.open("rb") as fh:
                fh.read(1)
        except OSError as exc:
            problems.append(f"{who} cannot read {describe(path)}: {exc.strerror}")
    if not state_dir.is_dir():
        return [*problems, f"{state_dir} does not exist (kiosk provision creates it)"]
    try:
        fd, name = tempfile.mkstemp(dir=state_dir, prefix=".doctor-")
        os.close(fd)
        os.unlink(name)
    except OSError as exc:
        problems.append(f"{who} cannot write in {describe(state_dir)}: {exc.strerror}")
    database = state_dir / "kiosk.sqlite3"
    if database.exists():
        try:
            conn = sqlite3.connect(f"file:{database}?mode=rw", uri=True, timeout=5)
            try:
                conn.execute("BEGIN IMMEDIATE")
                conn.execute("ROLLBACK")
            finally:
                conn.close()
        except sqlite3.Error as exc:
            problems.append(f"{who} cannot open {describe(database)} for writing: {exc}")
    return problems


def probe_as_service_user(config_path: Path, state_dir: Path,
                          user: str = SERVICE_USER) -> tuple[str, list[str]]:
    """(who was checked, problems): as `user` when running as root and it exists,
    else as the current user."""
    if os.geteuid() != 0:
        return whoami(), probe(config_path, state_dir)
    try:
        entry = pwd.getpwnam(user)
    except KeyError:
        return whoami(), [f"no {user!r} user on this machine (the Debian package creates it)"]
    groups = os.getgrouplist(user, entry.pw_gid)
    proc = subprocess.run(
        [sys.executable, "-m", __name__, str(config_path), str(state_dir)],
        user=entry.pw_uid, group=entry.pw_gid, extra_groups=groups, cwd="/",
        capture_output=True, text=True, timeout=60, check=False)
    who = f"user {user} (uid {entry.pw_uid})"
    try:
        problems = json.loads(proc.stdout)
    except ValueError:
        problems = [f"the check as {who} failed: {proc.stderr.strip()[-300:]}"]
    return who, [str(p) for p in problems]


if __name__ == "__main__":
    print(json.dumps(probe(Path(sys.argv[1]), Path(sys.argv[2]))))
