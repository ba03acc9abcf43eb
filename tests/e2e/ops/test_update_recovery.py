"""An update that goes wrong half-way: a new release that migrates the database and
then fails its health check, and `kill -9` of the updater at every stage of an
install. Each time the kiosk ends on a complete release that opens its database,
and the next round finishes the job."""

import shutil
import signal
import sqlite3
import subprocess

import pytest

from kiosk.ops.install import current_version, install_release, is_installed, switch_current
from kiosk.ops.release import verify_bundle
from kiosk.ops.updater import UpdateSettings, doctor_health_check, update_once
from kiosk.store import audit, connect
from kiosk.store.migrations import MIGRATIONS
from tests.cli_helpers import KIOSK, run_kiosk
from tests.e2e.ops.bundles import make_bundle
from tests.e2e.ops.conftest import client_for, fleet_config

SCHEMA_VERSION = max(version for version, _ in MIGRATIONS)

STAGES = ["manifest", "download", "install", "backup", "switch", "check"]


def test_rollback_after_a_schema_migration_keeps_the_kiosk_working(tmp_path, keys, dependency,
                                                                   server):
    work = tmp_path / "bundles"
    deps = (dependency,)
    # The old release knows today's store schema; the new one migrates one step further.
    now = SCHEMA_VERSION
    old = make_bundle(work, keys["path"], "1.0.0", schema=now, dependencies=deps)
    new = make_bundle(work, keys["path"], "1.3.0", healthy=False, schema=now + 1,
                      dependencies=deps)
    root = tmp_path / "root"
    install_release(verify_bundle(old, [keys["public"]]), root)
    switch_current(root, "1.0.0")
    state = root / "var/lib/kiosk"
    database = state / "kiosk.sqlite3"
    db = connect(database)  # the real store, at its current schema
    audit(db, "k1", "registered-before-update")
    db.conn.close()
    config = tmp_path / "standin.toml"
    config.write_text(f'[kiosk]\nstate_dir = "{state}"\n')

    def serve():
        """What `systemctl restart` starts: the current release opens the database."""
        proc = subprocess.run([*current_kiosk(root), "--config", str(config), "run"],
                              capture_output=True, text=True, timeout=60, check=False)
        version = sqlite3.connect(database).execute("PRAGMA user_version").fetchone()[0]
        started.append((current_version(root), proc.returncode, version))
        if proc.returncode != 0:
            raise RuntimeError(proc.stderr.strip())

    started = []
    settings = UpdateSettings(root=root, state_dir=state, public_keys=(keys["public"],),
                              database=database, restart=serve,
                              health_check=doctor_health_check(str(config), timeout_s=60))
    server.state.offer("80", new)
    result = update_once(client_for(server), settings)
    assert result.outcome == "rolled_back", result
    # 1.3.0 started and migrated one step, failed its check; 1.0.0 started again as before.
    assert started == [("1.3.0", 0, now + 1), ("1.0.0", 0, now)], started
    assert "database restored" in result.detail and "rolled back to 1.0.0" in result.detail
    back = connect(database)  # and the real store code still opens it
    assert [r[0] for r in back.execute("SELECT event FROM audit")] == ["registered-before-update"]
    back.conn.close()
    own = root / "var/lib/kiosk-update"
    assert not (own / "database.sqlite3").exists()  # no copy of personal data left
    assert not (own / "pending.json").exists()
    assert not (root / "opt/kiosk/releases/1.3.0").exists()
    # Without the copy the kiosk would be down: the old release refuses the newer database.
    install_release(verify_bundle(new, [keys["public"]]), root)
    switch_current(root, "1.3.0")
    serve()
    switch_current(root, "1.0.0")
    with pytest.raises(RuntimeError, match=f"schema v{now + 1} is newer"):
        serve()


# -- kill -9 at every stage ---------------------------------------------------------------
@pytest.fixture(scope="module")
def killable(tmp_path_factory, bundles, keys):
    """A kiosk root with 1.0.0, a real database and a configuration for the CLI."""
    base = tmp_path_factory.mktemp("kill")
    root = base / "root"
    install_release(verify_bundle(bundles["1.0.0"], [keys["public"]]), root)
    switch_current(root, "1.0.0")
    db = connect(root / "var/lib/kiosk/kiosk.sqlite3")
    audit(db, "k1", "before")
    db.conn.close()
    return root


def current_kiosk(root):
    """The current release's `kiosk` in a test root: its `#!` names the path it runs from
    on a kiosk (/opt/kiosk/…), so start it through the venv's own interpreter."""
    venv = root / "opt/kiosk/current/venv/bin"
    return [str(venv / "python"), str(venv / "kiosk")]


def assert_kiosk_works(root):
    version = current_version(root)
    assert version in ("1.0.0", "1.1.0") and is_installed(root, version)
    proc = subprocess.run(current_kiosk(root), capture_output=True, text=True, timeout=60,
                          check=False)
    assert proc.returncode == 0 and f"stand-in kiosk {version}" in proc.stdout
    db = connect(root / "var/lib/kiosk/kiosk.sqlite3")
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert db.execute("SELECT count(*) FROM audit").fetchone()[0] == 1
    db.conn.close()


@pytest.mark.parametrize("stage", STAGES)
def test_kill_at_every_stage_of_an_install(killable, server, bundles, keys, tmp_path, stage):
    root = killable
    config = fleet_config(tmp_path / "kiosk.toml", server.url, keys, root, server.state.token)
    server.state.offer(f"9{STAGES.index(stage)}", bundles["1.1.0"])
    cmd = [KIOSK, "--config", str(config), "update", "--once", "--progress", "--root", str(root)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen = []
    assert proc.stdout is not None
    for line in proc.stdout:
        seen.append(line.strip())
        if line.strip() == f"stage: {stage}":
            proc.send_signal(signal.SIGKILL)
            break
    proc.wait(30)
    assert proc.returncode == -signal.SIGKILL, seen
    assert_kiosk_works(root)

    if stage == "check":  # killed between switch and verdict: the unit's ExecStopPost
        assert (root / "var/lib/kiosk-update/pending.json").exists()
        recovered = run_kiosk("--config", str(config), "update", "--recover", "--root",
                              str(root))
        assert recovered.returncode == 0 and "rolled back to 1.0.0" in recovered.stdout
        assert current_version(root) == "1.0.0"
    # The next timer round finishes the job.
    again = run_kiosk("--config", str(config), "update", "--once", "--root", str(root))
    assert again.returncode == 0 and "success" in again.stdout, again.stdout + again.stderr
    assert current_version(root) == "1.1.0"
    assert_kiosk_works(root)
    own = root / "var/lib/kiosk-update"
    assert not (own / "pending.json").exists() and not (own / "database.sqlite3").exists()
    assert list((own / "downloads").iterdir()) == []
    # Back to 1.0.0 for the next stage (as if this update had never happened).
    switch_current(root, "1.0.0")
    shutil.rmtree(root / "opt/kiosk/releases/1.1.0")
    (own / "highest-version").unlink()
