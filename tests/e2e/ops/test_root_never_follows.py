"""Root never follows a path the kiosk user can write (issue 23, decision 0100).

The attack: the kiosk user (a throwaway uid here) owns the state folder, so it can put
a symlink at any name there — `last-update.json.tmp → …/site-packages/x.pth`,
`kiosk.sqlite3-shm → /opt/kiosk`, `staff-pin.json.tmp → a root 0600 file` — and wait
for root to write, chown or chmod through it. Each test runs the commands root runs
(a signed update round, its rollback, `kiosk pin unlock`, `kiosk metrics`, `kiosk sync
--once`) against a scratch root whose kiosk-owned folders are full of planted links,
and checks that no file outside changed owner, mode or content.

The list of names is not written down by hand: a clean run first shows every name
root's commands leave in the kiosk's folders (all must belong to the kiosk user: root
kept nothing of its own there), and links are then planted at each of them, at their
`.tmp` twins and at SQLite's side files.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import stat
import tempfile
from pathlib import Path

import pytest

from kiosk.config.loader import demo_config_text
from kiosk.ops.install import current_version, install_release, switch_current
from kiosk.ops.release import verify_bundle
from kiosk.ops.updater import UpdateSettings, doctor_health_check, update_once
from kiosk.runtime.safe_paths import SQLITE_SIDE_FILES, UnsafePathError, set_owner_mode
from kiosk.store import audit, connect
from kiosk.store import backup as db_backup
from tests.cli_helpers import run_kiosk
from tests.e2e.ops.conftest import client_for

KIOSK_UID = KIOSK_GID = 64123  # no passwd entry needed: only the numbers matter
DB = "kiosk.sqlite3"


class Scratch:
    """/tmp/…/root (release 1.0.0, a kiosk-owned state folder with a real database, the
    kiosk-group-writable metrics folder) and /tmp/…/victims (root's files)."""

    def __init__(self, base: Path, bundles, keys, release: bool) -> None:
        base.chmod(0o755)  # the kiosk uid's child processes must reach the release
        self.base = base
        self.root = base / "root"
        if release:
            install_release(verify_bundle(bundles["1.0.0"], [keys["public"]]), self.root)
            switch_current(self.root, "1.0.0")
        self.state = self.root / "var/lib/kiosk"
        db = connect(self.state / DB)
        audit(db, "k1", "before")
        db.conn.close()
        for path in (self.state, *self.state.iterdir()):
            os.chown(path, KIOSK_UID, KIOSK_GID)
        self.state.chmod(0o750)
        self.textfiles = self.root / "var/lib/node_exporter/textfile_collector"
        self.textfiles.mkdir(parents=True)
        os.chown(self.textfiles, 0, KIOSK_GID)
        self.textfiles.chmod(0o775)  # as tmpfiles.d makes it
        self.victims = base / "victims"
        (self.victims / "opt").mkdir(parents=True)
        (self.victims / "site.pth").write_text("import sys\n")
        (self.victims / "secret").write_text("root only\n")
        (self.victims / "secret").chmod(0o600)
        self.config = base / "kiosk.toml"
        self.config.write_text(demo_config_text().replace(
            'state_dir = "demo-output/state"', f'state_dir = "{self.state}"'))

    def targets(self) -> list[Path]:
        return [self.victims / "site.pth", self.victims / "opt", self.victims / "secret"]

    def plant(self, folder: Path, names: set[str]) -> None:
        """What the kiosk user does: a link owned by it at each name."""
        targets = self.targets()
        for i, name in enumerate(sorted(names)):
            link = folder / name
            if link.exists() or link.is_symlink():
                link.unlink()
            link.symlink_to(targets[i % len(targets)])
            os.lchown(link, KIOSK_UID, KIOSK_GID)

    def outside(self) -> dict[str, tuple[int, int, int, str]]:
        """Owner, mode and content of everything that is not the kiosk's."""
        seen = {}
        for path in sorted(self.victims.rglob("*")) + [self.victims]:
            st = path.lstat()
            body = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else ""
            seen[str(path)] = (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode), body)
        return seen

    def settings(self, keys) -> UpdateSettings:
        return UpdateSettings(root=self.root, state_dir=self.state,
                              public_keys=(keys["public"],), database=self.state / DB,
                              health_check=doctor_health_check(None, timeout_s=60,
                                                               state_dir=self.state))

    def root_commands(self, server, bundles, keys, action: str) -> dict[str, str]:
        """Everything root runs that touches the kiosk's folders; what each answered."""
        server.state.offer(action, bundles["1.1.0"])
        update = update_once(client_for(server), self.settings(keys))
        out = {"update": update.outcome, "detail": update.detail}
        for name, args in {"unlock": ("pin", "unlock"),
                           "metrics": ("metrics", "--out", str(self.textfiles / "kiosk.prom")),
                           "sync": ("sync", "--once")}.items():
            proc = run_kiosk("--config", str(self.config), *args, timeout=60)
            out[name] = str(proc.returncode)
        return out


@pytest.fixture
def scratch(bundles, keys):
    base = Path(tempfile.mkdtemp(prefix="kiosk-attack-"))
    base.chmod(0o755)
    try:
        yield lambda release=True: Scratch(Path(tempfile.mkdtemp(dir=base)), bundles, keys,
                                           release)
    finally:
        shutil.rmtree(base)


def kiosk_names(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()}


def test_every_name_root_writes_is_found_and_none_is_followed(scratch, server, bundles, keys):
    # 1. A clean run: which names do root's commands leave in the kiosk's folders?
    clean = scratch()
    (clean.state / "staff-pin.json").write_text('{"streak": 10, "total": 12, '
                                                '"blocked_until": 9e12}')
    os.chown(clean.state / "staff-pin.json", KIOSK_UID, KIOSK_GID)
    answers = clean.root_commands(server, bundles, keys, "51")
    # Root opens no database of the kiosk's: `kiosk sync --once` as root is refused (3).
    assert answers.pop("detail") and answers == {
        "update": "success", "unlock": "0", "metrics": "0", "sync": "3"}
    assert current_version(clean.root) == "1.1.0"
    for path in clean.state.iterdir():  # everything there is the kiosk user's
        assert (path.lstat().st_uid, path.lstat().st_gid) == (KIOSK_UID, KIOSK_GID), path
    state_names = kiosk_names(clean.state)
    assert {"last-update.json", "staff-pin.json", DB} <= state_names
    metric_names = kiosk_names(clean.textfiles)
    assert metric_names == {"kiosk.prom"}

    # 2. The attack: a link at each of those names and their .tmp twins (the database
    # itself stays; links at SQLite's side files: the next test).
    def names(found: set[str]) -> set[str]:
        return (found | {n + ".tmp" for n in found}) - {DB}

    side = {DB + suffix for suffix in SQLITE_SIDE_FILES}
    attacked = scratch()
    before = attacked.outside()
    attacked.plant(attacked.state, names(state_names) - side)
    attacked.plant(attacked.textfiles, names(metric_names))
    answers = attacked.root_commands(server, bundles, keys, "52")
    assert answers["update"] == "success" and answers["sync"] == "3", answers
    assert attacked.outside() == before
    update = (attacked.state / "last-update.json").lstat()
    assert stat.S_ISREG(update.st_mode) and update.st_uid == KIOSK_UID  # the link replaced
    assert stat.S_ISREG((attacked.textfiles / "kiosk.prom").lstat().st_mode)


def test_backup_and_restore_run_as_the_kiosk_user(scratch):
    """The database copy and its restore (update recovery) never open the kiosk's
    database as root; the side files SQLite leaves are the kiosk user's, and links at
    their names are not followed by root (the kiosk user's own copy fails on them)."""
    s = scratch(release=False)
    own = s.root / "var/lib/kiosk-update"
    assert db_backup.backup(s.state / DB, own / "database.sqlite3") > 0
    assert stat.S_IMODE((own / "database.sqlite3").stat().st_mode) == 0o600
    assert (own / "database.sqlite3").stat().st_uid == 0
    db_backup.restore(own / "database.sqlite3", s.state / DB)
    for path in s.state.iterdir():
        assert path.lstat().st_uid == KIOSK_UID, path
    before = s.outside()
    s.plant(s.state, {DB + suffix for suffix in SQLITE_SIDE_FILES})
    with pytest.raises(sqlite3.Error, match=f"as uid {KIOSK_UID}"):
        db_backup.restore(own / "database.sqlite3", s.state / DB)
    with pytest.raises(sqlite3.Error, match=f"as uid {KIOSK_UID}"):
        db_backup.backup(s.state / DB, own / "database.sqlite3")
    assert s.outside() == before


def test_root_refuses_to_change_a_link(tmp_path):
    """provision's chown/chmod of the state folder: on an O_NOFOLLOW descriptor."""
    target = tmp_path / "target"
    target.mkdir(mode=0o755)
    (tmp_path / "link").symlink_to(target)
    with pytest.raises(UnsafePathError, match="symbolic link"):
        set_owner_mode(tmp_path / "link", 0o777, (KIOSK_UID, KIOSK_GID))
    assert stat.S_IMODE(target.stat().st_mode) == 0o755 and target.stat().st_uid == 0
