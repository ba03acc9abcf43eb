"""Releases, provisioning and hawkBit DDI updates end to end in temporary roots, against
a DDI test server on 127.0.0.1."""

import json
import os
import shutil
import signal
import stat
import subprocess
import time
import tomllib
from pathlib import Path

import pytest

from kiosk.config import load
from kiosk.config.loader import demo_config_text
from kiosk.domain.staff_pin import verify
from kiosk.ops.hawkbit import DdiClient
from kiosk.ops.install import current_version, install_release, is_installed, switch_current
from kiosk.ops.provision import service_ids
from kiosk.ops.release import BundleError, generate_key, verify_bundle
from kiosk.ops.updater import UpdateSettings, doctor_health_check, update_once
from tests.cli_helpers import KIOSK, run_kiosk
from tests.e2e.ops.bundles import make_bundle
from tests.e2e.ops.ddi_server import DdiServer
from tests.e2e.ops.unit_paths import assert_no_path_named, assert_unit_paths_exist


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    d = tmp_path_factory.mktemp("keys")
    good = generate_key(d / "release.pem")
    other = generate_key(d / "attacker.pem")
    return {"path": d / "release.pem", "public": good, "attacker": d / "attacker.pem",
            "attacker_public": other}


@pytest.fixture(scope="module")
def bundles(tmp_path_factory, keys):
    work = tmp_path_factory.mktemp("bundles")
    made = {v: make_bundle(work, keys["path"], v) for v in ("1.0.0", "1.1.0")}
    made["1.2.0"] = make_bundle(work, keys["path"], "1.2.0", healthy=False)
    made["6.6.6"] = make_bundle(work, keys["attacker"], "6.6.6")
    return made


@pytest.fixture
def server():
    s = DdiServer().start()
    yield s
    s.stop()


@pytest.fixture
def root(tmp_path, bundles, keys):
    """A kiosk root with release 1.0.0 installed and current."""
    root = tmp_path / "root"
    install_release(verify_bundle(bundles["1.0.0"][0], [keys["public"]]), root)
    switch_current(root, "1.0.0")
    return root


def settings_for(root, keys, **kw):
    return UpdateSettings(root=root, state_dir=root / "var/lib/kiosk",
                          public_keys=(keys["public"],),
                          health_check=doctor_health_check(None, timeout_s=60), **kw)


def client_for(server, **kw):
    return DdiClient(server.url, "DEFAULT", "kiosk-01", server.state.token,
                     sleep=lambda s: None, **kw)


def test_bundle_signature_and_hashes(bundles, keys, tmp_path):
    bundle = verify_bundle(bundles["1.0.0"][0], [keys["public"]])
    assert bundle.version == "1.0.0" and bundle.requirement == "vn-hospital-kiosk==1.0.0"
    with pytest.raises(BundleError, match="signature"):
        verify_bundle(bundles["6.6.6"][0], [keys["public"]])
    copy = tmp_path / "copy"
    shutil.copytree(bundles["1.1.0"][0], copy)
    wheel = next((copy / "wheelhouse").glob("*.whl"))
    wheel.write_bytes(wheel.read_bytes() + b"\0")
    with pytest.raises(BundleError, match="sha256 mismatch"):
        verify_bundle(copy, [keys["public"]])
    (copy / "wheelhouse" / "extra.whl").write_bytes(b"x")
    with pytest.raises(BundleError, match="differs from the signed list"):
        verify_bundle(copy, [keys["public"]])


def test_release_build_cli_signs_the_real_project(keys, tmp_path):
    out = tmp_path / "bundle"
    proc = run_kiosk("release", "build", "--key", str(keys["path"]), "--out", str(out),
                     "--source", str(Path(__file__).resolve().parents[3]), "--no-deps",
                     "--version", "0.1.0", timeout=600)
    assert proc.returncode == 0, proc.stderr
    bundle = verify_bundle(out, [keys["public"]])
    assert any(f.startswith("wheelhouse/vn_hospital_kiosk-0.1.0") for f in bundle.files)


def test_good_update_end_to_end(root, server, bundles, keys):
    server.state.offer("41", bundles["1.1.0"][1], "1.1.0")
    result = update_once(client_for(server), settings_for(
        root, keys, device_attributes={"version": "1.0.0", "facility": "01824"}))
    assert result.outcome == "success", result.detail
    assert current_version(root) == "1.1.0" and is_installed(root, "1.0.0")
    statuses = [f["status"]["execution"] for f in server.state.feedback]
    assert statuses[-1] == "closed" and "proceeding" in statuses[:-1]
    assert server.state.last_feedback["result"]["finished"] == "success"
    assert server.state.config_data[0]["data"]["facility"] == "01824"
    assert result.poll_sleep_s == 300.0
    assert json.loads((root / "var/lib/kiosk/last-update.json").read_text())["outcome"] == "success"


def test_failed_health_check_rolls_back(root, server, bundles, keys):
    server.state.offer("42", bundles["1.2.0"][1], "1.2.0")
    restarts = []
    result = update_once(client_for(server), settings_for(
        root, keys, restart=lambda: restarts.append(current_version(root))))
    assert result.outcome == "rolled_back"
    assert current_version(root) == "1.0.0"
    assert restarts == ["1.2.0", "1.0.0"]  # restarted into the new one, then back
    assert not (root / "opt/kiosk/releases/1.2.0").exists()
    assert server.state.last_feedback["execution"] == "closed"
    assert server.state.last_feedback["result"]["finished"] == "failure"


def test_tampered_bundle_rejected_before_install(root, server, bundles, keys):
    server.state.offer("43", bundles["6.6.6"][1], "6.6.6")
    result = update_once(client_for(server), settings_for(root, keys))
    assert result.outcome == "rejected" and "signature" in result.detail
    assert not (root / "opt/kiosk/releases/6.6.6").exists()
    assert current_version(root) == "1.0.0"
    assert server.state.last_feedback["result"]["finished"] == "failure"


def test_corrupted_download_fails_the_sha256(root, server, bundles, keys, monkeypatch):
    server.state.offer("44", bundles["1.1.0"][1], "1.1.0")
    original = DdiClient.deployment

    def lying(self, href):
        d = original(self, href)
        a = d.artifacts[0]
        return type(d)(d.action_id, d.download, d.update, d.maintenance_window, d.version,
                       [type(a)(a.filename, a.size, "0" * 64, a.url)])

    monkeypatch.setattr(DdiClient, "deployment", lying)
    result = update_once(client_for(server), settings_for(root, keys))
    assert result.outcome == "rejected" and "sha256" in result.detail
    assert current_version(root) == "1.0.0"


def test_interrupted_download_resumes_with_range(root, server, bundles, keys):
    tar = bundles["1.1.0"][1]
    size = tar.stat().st_size
    server.state.offer("45", tar, "1.1.0", drop_after=size * 2 // 3)
    result = update_once(client_for(server), settings_for(root, keys))
    assert result.outcome == "success", result.detail
    assert server.state.downloads[0] is None
    resumed_at = int(server.state.downloads[1].removeprefix("bytes=").rstrip("-"))
    assert 0 < resumed_at <= size * 2 // 3  # asked only for what was missing


def test_missing_artifact_bounded_retries_then_failure(root, server, bundles, keys):
    server.state.offer("46", bundles["1.1.0"][1], "1.1.0", artifact_status=404)
    result = update_once(client_for(server), settings_for(root, keys))
    assert result.outcome == "rejected"
    assert len(server.state.downloads) == 3  # bounded, not a loop
    assert server.state.last_feedback["result"]["finished"] == "failure"
    assert current_version(root) == "1.0.0"


def test_cancel_action_is_acknowledged(root, server, bundles, keys):
    server.state.offer("47", bundles["1.1.0"][1], "1.1.0", cancel_id="48")
    result = update_once(client_for(server), settings_for(root, keys))
    assert result.outcome == "nothing"
    assert server.state.cancel_feedback[0]["status"]["result"]["finished"] == "success"
    assert current_version(root) == "1.0.0"


def test_maintenance_window_and_opening_hours_defer(root, server, bundles, keys):
    server.state.offer("49", bundles["1.1.0"][1], "1.1.0", maintenance_window="unavailable")
    assert update_once(client_for(server), settings_for(root, keys)).outcome == "deferred"
    server.state.offer("49", bundles["1.1.0"][1], "1.1.0", maintenance_window=None)
    always_open = settings_for(root, keys, opening_hours="00:00-23:59")
    assert update_once(client_for(server), always_open).outcome == "deferred"
    server.state.offer("49", bundles["1.1.0"][1], "1.1.0", update="forced")
    assert update_once(client_for(server), always_open).outcome == "success"


def test_no_install_while_a_patient_is_at_the_kiosk(root, server, bundles, keys):
    server.state.offer("50", bundles["1.1.0"][1], "1.1.0", update="forced")
    at_kiosk = [True]
    settings = settings_for(root, keys, serving_patient=lambda: at_kiosk[0])
    result = update_once(client_for(server), settings)
    assert result.outcome == "deferred" and current_version(root) == "1.0.0"
    assert "no patient" in server.state.feedback[-1]["status"]["details"][0]
    at_kiosk[0] = False
    assert update_once(client_for(server), settings).outcome == "success"
    assert current_version(root) == "1.1.0"


def test_rate_limited_poll_is_retried_and_4xx_is_not(root, server, keys):
    server.state.poll_429 = 2
    assert update_once(client_for(server), settings_for(root, keys)).outcome == "nothing"
    assert server.state.polls == 3
    bad = DdiClient(server.url, "DEFAULT", "kiosk-01", "wrong-token", sleep=lambda s: None)
    before = server.state.polls
    result = update_once(bad, settings_for(root, keys))
    assert result.outcome == "error" and server.state.polls == before  # 401: asked once


def _kiosk_config(tmp_path, server, keys, root):
    text = demo_config_text().replace('tenant = "DEFAULT"', f'tenant = "DEFAULT"\n'
        f'hawkbit_url = "{server.url}"\ncontroller_id = "kiosk-01"\n'
        f'token = "{server.state.token}"\npublic_keys = ["{keys["public"]}"]')
    text = text.replace('state_dir = "demo-output/state"', f'state_dir = "{root}/var/lib/kiosk"')
    path = tmp_path / "kiosk.toml"
    path.write_text(text)
    return path


def test_cli_exit_codes(root, server, bundles, keys, tmp_path):
    config = _kiosk_config(tmp_path, server, keys, root)
    quiet = run_kiosk("--config", str(config), "update", "--once", "--root", str(root))
    assert quiet.returncode == 0 and "nothing" in quiet.stdout
    server.state.offer("50", bundles["1.2.0"][1], "1.2.0")
    bad = run_kiosk("--config", str(config), "update", "--once", "--root", str(root))
    assert bad.returncode == 8, bad.stdout + bad.stderr
    assert current_version(root) == "1.0.0"


def test_kill_during_install_keeps_the_old_release(root, server, bundles, keys, tmp_path):
    config = _kiosk_config(tmp_path, server, keys, root)
    server.state.offer("51", bundles["1.1.0"][1], "1.1.0")
    proc = subprocess.Popen([KIOSK, "--config", str(config), "update", "--once", "--root",
                             str(root)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    target = root / "opt/kiosk/releases/1.1.0"
    deadline = time.monotonic() + 60
    while not (target / "venv").exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    assert (target / "venv").exists(), "the install never started"
    assert current_version(root) == "1.0.0" and not is_installed(root, "1.1.0")
    # The next timer run finishes the job from scratch.
    server.state.action_id = "51"
    again = run_kiosk("--config", str(config), "update", "--once", "--root", str(root))
    assert again.returncode == 0, again.stdout + again.stderr
    assert current_version(root) == "1.1.0"


def test_provision_root_tree_modes_and_idempotence(tmp_path, bundles, keys):
    prov = tmp_path / "provision.toml"
    text = demo_config_text().replace('tenant = "DEFAULT"', f'tenant = "DEFAULT"\n'
        f'hawkbit_url = "https://fleet.example.vn"\ncontroller_id = "bv-lobby-01"\n'
        f'token = "fleet-token-123"\npublic_keys = ["{keys["public"]}"]')
    text = text.replace('url = "simulator"', 'url = "https://egw.baohiemxahoi.gov.vn"')
    prov.write_text(text)
    root = tmp_path / "root"
    first = run_kiosk("provision", "--root", str(root), "--config-file", str(prov),
                      "--bundle", str(bundles["1.0.0"][0]), "--kiosk-id", "bv-lobby-01")
    assert first.returncode == 0, first.stderr
    assert "installed" in first.stdout and "units enabled" in first.stdout
    assert current_version(root) == "1.0.0"
    assert os.access(root / "opt/kiosk/current/venv/bin/kiosk", os.X_OK)
    etc = root / "etc/kiosk"
    gid = service_ids(root)[1]
    for path, mode in ((etc, 0o750), (etc / "secrets.toml", 0o640), (etc / "kiosk.toml", 0o640)):
        st = path.stat()  # root owns them; the services' group (root's own kiosk) reads them
        assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (0, gid, mode), path
    state = (root / "var/lib/kiosk").stat()
    assert (state.st_uid, state.st_gid) == service_ids(root)
    # The tree runs once copied to a machine: nothing names the directory it was built in,
    # and every path the units name (but cage, a package it Depends on) is there.
    assert_no_path_named(root / "opt", [str(root)])
    assert_no_path_named(root / "etc", [str(root)])
    assert (root / "usr/bin/cage").exists() is False
    (root / "usr/bin").mkdir(parents=True)
    (root / "usr/bin/cage").touch()
    assert_unit_paths_exist(root, sorted((root / "etc/systemd/system").glob("kiosk-*.*")))
    (root / "usr/bin/cage").unlink()
    public = (etc / "kiosk.toml").read_text()
    secrets = (etc / "secrets.toml").read_text()
    for secret in ("simulator-password", "fleet-token-123"):
        assert secret not in public and secret in secrets
    # The staff PIN is stored only as its salted scrypt hash.
    assert "246802" not in public + secrets
    stored = tomllib.loads(secrets)["ui"]["staff_pin"]
    assert stored.startswith("scrypt$") and verify(stored, "246802")
    for link in ("multi-user.target.wants/kiosk-sync.service",
                 "timers.target.wants/kiosk-update.timer",
                 "graphical.target.wants/kiosk-ui.service"):
        assert (root / "etc/systemd/system" / link).is_symlink(), link
    assert (root / "etc/modprobe.d/kiosk-blacklist-pn533.conf").exists()
    # What was written loads as a valid configuration (secrets merged back).
    written = (etc / "kiosk.toml").read_text().replace(
        'secrets_file = "/etc/kiosk/secrets.toml"', f'secrets_file = "{etc}/secrets.toml"')
    (etc / "check.toml").write_text(written)
    config = load(etc / "check.toml")
    assert config.kiosk_id == "bv-lobby-01" and config.fleet.token == "fleet-token-123"
    again = run_kiosk("provision", "--root", str(root), "--config-file", str(prov),
                      "--bundle", str(bundles["1.0.0"][0]), "--kiosk-id", "bv-lobby-01")
    assert again.returncode == 0 and "already installed" in again.stdout
    assert "unchanged" in again.stdout


def test_provision_refuses_unsigned_or_invalid(tmp_path, bundles, keys):
    prov = tmp_path / "provision.toml"
    prov.write_text(demo_config_text().replace('code = "01824"', 'code = "18"'))
    proc = run_kiosk("provision", "--root", str(tmp_path / "r"), "--config-file", str(prov),
                     "--bundle", str(bundles["1.0.0"][0]))
    assert proc.returncode == 6 and "facility.code" in proc.stderr
    prov.write_text(demo_config_text())
    proc = run_kiosk("provision", "--root", str(tmp_path / "r"), "--config-file", str(prov),
                     "--bundle", str(bundles["1.0.0"][0]))
    assert proc.returncode == 6 and "public_keys" in proc.stderr


def test_update_token_from_a_file_never_the_command_line(root, server, keys, tmp_path):
    config = _kiosk_config(tmp_path, server, keys, root)
    text = config.read_text().replace(f'token = "{server.state.token}"\n', "")
    config.write_text(text.replace(f'hawkbit_url = "{server.url}"\n', ""))
    token = tmp_path / "fleet-token"
    token.write_text(server.state.token + "\n")
    base = ("--config", str(config), "update", "--once", "--root", str(root),
            "--server", server.url)
    ok = run_kiosk(*base, "--token-file", str(token))
    assert ok.returncode == 0 and "nothing" in ok.stdout, ok.stdout + ok.stderr
    argv = run_kiosk(*base, "--token", server.state.token)
    assert argv.returncode == 2 and "unrecognized arguments" in argv.stderr
    missing = run_kiosk(*base, "--token-file", str(tmp_path / "none"))
    assert missing.returncode == 6 and "--token-file" in missing.stderr
