"""Releases, provisioning and hawkBit DDI updates end to end in temporary roots, against
a DDI test server on 127.0.0.1. The hostile-server cases are in test_hostile_ddi.py."""

import json
import os
import shutil
import socket
import stat
import tomllib
from pathlib import Path

import pytest

from kiosk.config import load
from kiosk.config.loader import demo_config_text
from kiosk.domain.staff_pin import verify
from kiosk.ops.hawkbit import DdiClient
from kiosk.ops.install import current_version, is_installed
from kiosk.ops.provision import service_ids
from kiosk.ops.release import BundleError, build_bundle, check_installs, verify_bundle
from kiosk.ops.updater import update_once
from tests.cli_helpers import run_kiosk
from tests.config_helpers import PUBLIC_KEY, filled_new_config
from tests.e2e.ops.bundles import PYPROJECT, SCRIPTS, make_bundle
from tests.e2e.ops.conftest import client_for, fleet_config, new_wheel, settings_for
from tests.e2e.ops.unit_paths import assert_no_path_named, assert_unit_paths_exist


def test_bundle_signature_and_hashes(bundles, keys, tmp_path):
    bundle = verify_bundle(bundles["1.0.0"], [keys["public"]])
    assert bundle.version == "1.0.0" and bundle.requirement == "vn-hospital-kiosk==1.0.0"
    with pytest.raises(BundleError, match="signature"):
        verify_bundle(bundles["6.6.6"], [keys["public"]])
    copy = tmp_path / "copy"
    shutil.copytree(bundles["1.1.0"], copy)
    wheel = next((copy / "wheelhouse").glob("vn_hospital_kiosk-*.whl"))
    wheel.write_bytes(wheel.read_bytes() + b"\0")
    with pytest.raises(BundleError, match="signed size"):
        verify_bundle(copy, [keys["public"]])
    wheel.write_bytes(wheel.read_bytes()[:-2] + b"\1")  # back to its size, altered
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
    assert "checked and signed" in proc.stdout and "3 artifacts" in proc.stdout


def test_release_build_refuses_a_version_it_does_not_package(keys, tmp_path):
    """The bundle would be signed and uploaded, then fail on every kiosk ("No matching
    distribution found"): refused before signing."""
    src = tmp_path / "src"
    src.mkdir()
    (src / "pyproject.toml").write_text(PYPROJECT.format(
        name="vn-hospital-kiosk", version="1.4.0", dependencies="[]", scripts=SCRIPTS,
        modules='["kiosk_standin"]'))
    (src / "kiosk_standin.py").write_text("def main():\n    pass\n")
    out = tmp_path / "out"
    with pytest.raises(BundleError, match="--version 1.4.1 differs from the packaged "
                                          "version 1.4.0"):
        build_bundle(src, keys["path"], out, version="1.4.1", include_dependencies=False)
    assert not (out / "metadata.json").exists()  # nothing signed
    built = build_bundle(src, keys["path"], tmp_path / "out2", include_dependencies=False)
    assert built.version == "1.4.0"  # without --version: the packaged one
    verify_bundle(tmp_path / "out2", [keys["public"]])


def test_a_wheelhouse_that_cannot_install_is_refused(keys, tmp_path, dependency):
    """A dependency missing from the wheelhouse shows in the scratch venv, not on kiosks."""
    bundle = make_bundle(tmp_path, keys["path"], "1.5.0", dependencies=(dependency,))
    (bundle / "wheelhouse" / dependency.name).unlink()
    with pytest.raises(BundleError, match="does not install into a scratch venv"):
        check_installs(bundle / "wheelhouse", "vn-hospital-kiosk==1.5.0")
    shutil.copy(dependency, bundle / "wheelhouse" / dependency.name)
    check_installs(bundle / "wheelhouse", "vn-hospital-kiosk==1.5.0")


def test_good_update_end_to_end(root, server, bundles, keys):
    server.state.offer("41", bundles["1.1.0"])
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
    server.state.offer("42", bundles["1.2.0"])
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
    server.state.offer("43", bundles["6.6.6"])
    result = update_once(client_for(server), settings_for(root, keys))
    assert result.outcome == "rejected" and "signature" in result.detail
    assert not (root / "opt/kiosk/releases/6.6.6").exists()
    assert current_version(root) == "1.0.0"
    assert server.state.last_feedback["result"]["finished"] == "failure"


def test_corrupted_download_fails_the_sha256(root, server, bundles, keys):
    server.state.offer("44", bundles["1.1.1"])
    name = new_wheel(bundles["1.1.1"])
    data = bytearray(server.state.files[name])
    data[len(data) // 2] ^= 0xFF  # same size, one byte changed
    server.state.files[name] = bytes(data)
    result = update_once(client_for(server), settings_for(root, keys))
    assert result.outcome == "rejected" and "sha256" in result.detail
    assert current_version(root) == "1.0.0"
    assert not any((root / "var/lib/kiosk-update/downloads").iterdir())


def test_interrupted_download_resumes_with_range(root, server, bundles, keys):
    name = new_wheel(bundles["1.1.1"])
    size = (bundles["1.1.1"] / "wheelhouse" / name).stat().st_size
    server.state.offer("45", bundles["1.1.1"], drop={name: size * 2 // 3})
    result = update_once(client_for(server), settings_for(root, keys))
    assert result.outcome == "success", result.detail
    ranges = [r for n, r in server.state.downloads if n == name]
    assert ranges[0] is None
    resumed_at = int(ranges[1].removeprefix("bytes=").rstrip("-"))
    assert 0 < resumed_at <= size * 2 // 3  # asked only for what was missing
    assert server.state.served[name] == size  # no byte sent twice


def test_missing_artifact_bounded_retries_then_failure(root, server, bundles, keys):
    name = new_wheel(bundles["1.1.1"])
    server.state.offer("46", bundles["1.1.1"], status={name: 404})
    result = update_once(client_for(server), settings_for(root, keys))
    assert result.outcome == "rejected"
    assert [n for n, _ in server.state.downloads].count(name) == 3  # bounded, not a loop
    assert server.state.last_feedback["result"]["finished"] == "failure"
    assert current_version(root) == "1.0.0"
    # An unavailable manifest: asked a bounded number of times too; the server did not
    # answer (exit 5), so no verdict: the action stays open for the next round.
    server.state.offer("47", bundles["1.1.0"], status={"metadata.json": 503}, downloads=[])
    result = update_once(client_for(server), settings_for(root, keys))
    assert (result.outcome, result.unreachable) == ("error", True), result
    assert [n for n, _ in server.state.downloads] == ["metadata.json"] * 3
    assert server.state.action_id == "47"


def test_cancel_action_is_acknowledged(root, server, bundles, keys):
    server.state.offer("48", bundles["1.1.0"], cancel_id="48")
    result = update_once(client_for(server), settings_for(root, keys))
    assert result.outcome == "nothing"
    assert server.state.cancel_feedback[0]["status"]["result"]["finished"] == "success"
    assert current_version(root) == "1.0.0"


def test_maintenance_window_and_opening_hours_defer(root, server, bundles, keys):
    server.state.offer("49", bundles["1.1.0"], maintenance_window="unavailable")
    assert update_once(client_for(server), settings_for(root, keys)).outcome == "deferred"
    server.state.offer("49", bundles["1.1.0"], maintenance_window=None)
    always_open = settings_for(root, keys, opening_hours="00:00-23:59")
    assert update_once(client_for(server), always_open).outcome == "deferred"
    server.state.offer("49", bundles["1.1.0"], update="forced")
    assert update_once(client_for(server), always_open).outcome == "success"


def test_no_install_while_a_patient_is_at_the_kiosk(root, server, bundles, keys):
    server.state.offer("50", bundles["1.1.0"], update="forced")
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


def test_cli_exit_codes(root, server, bundles, keys, tmp_path):
    config = fleet_config(tmp_path / "kiosk.toml", server.url, keys, root, server.state.token)
    quiet = run_kiosk("--config", str(config), "update", "--once", "--root", str(root))
    assert quiet.returncode == 0 and "nothing" in quiet.stdout
    server.state.offer("50", bundles["1.2.0"])
    bad = run_kiosk("--config", str(config), "update", "--once", "--root", str(root))
    assert bad.returncode == 8, bad.stdout + bad.stderr
    assert current_version(root) == "1.0.0"
    # Nobody answers: exit 5 (the table's "unavailable"), the one error object on stderr.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{s.getsockname()[1]}"
    away = run_kiosk("--config", str(config), "update", "--once", "--root", str(root),
                     "--server", closed, "--json")
    assert away.returncode == 5 and away.stdout == "", away.stdout + away.stderr
    error = json.loads(away.stderr)["error"]
    assert error["exit_code"] == 5 and "poll failed" in error["message"], error


def test_provision_root_tree_modes_and_idempotence(tmp_path, bundles, keys):
    prov = tmp_path / "provision.toml"
    prov.write_text(filled_new_config(**{
        '# hawkbit_url = "https://…"': 'hawkbit_url = "https://fleet.example.vn"\n'
        'controller_id = "bv-lobby-01"', '# token = ""': 'token = "fleet-token-123"',
        f'public_keys = ["{PUBLIC_KEY}"]': f'public_keys = ["{keys["public"]}"]',
        'staff_pin = "135791"': 'staff_pin = "246802"'}))
    root = tmp_path / "root"
    first = run_kiosk("provision", "--root", str(root), "--config-file", str(prov),
                      "--bundle", str(bundles["1.0.0"]), "--kiosk-id", "bv-lobby-01")
    assert first.returncode == 0, first.stderr
    assert "installed" in first.stdout and "units enabled" in first.stdout
    assert current_version(root) == "1.0.0"
    assert os.access(root / "opt/kiosk/current/venv/bin/kiosk", os.X_OK)
    assert os.readlink(root / "usr/local/bin/kiosk") == "/opt/kiosk/current/venv/bin/kiosk"
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
    for secret in ("s3cret-gateway", "fleet-token-123"):
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
                      "--bundle", str(bundles["1.0.0"]), "--kiosk-id", "bv-lobby-01")
    assert again.returncode == 0 and "already installed" in again.stdout
    assert "unchanged" in again.stdout


def test_provision_refuses_unsigned_or_invalid(tmp_path, bundles, keys):
    prov = tmp_path / "provision.toml"
    prov.write_text(demo_config_text().replace('code = "01824"', 'code = "18"'))
    proc = run_kiosk("provision", "--root", str(tmp_path / "r"), "--config-file", str(prov),
                     "--bundle", str(bundles["1.0.0"]))
    assert proc.returncode == 6 and "facility.code" in proc.stderr
    prov.write_text(demo_config_text())
    proc = run_kiosk("provision", "--root", str(tmp_path / "r"), "--config-file", str(prov),
                     "--bundle", str(bundles["1.0.0"]))
    assert proc.returncode == 6 and "public_keys" in proc.stderr


def test_update_token_from_a_file_never_the_command_line(root, server, keys, tmp_path):
    config = fleet_config(tmp_path / "kiosk.toml", None, keys, root)
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
