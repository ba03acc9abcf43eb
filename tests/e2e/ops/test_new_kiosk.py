"""Issue 25's done-when: docs/deployment.md's new-kiosk path in a scratch root, from
`kiosk config new` to a provisioned kiosk whose doctor passes as the kiosk user; the
demo configuration refused one line per demo value. The release is a signed stand-in
bundle (conftest), not the Debian package (test_deb.py walks that one)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from drivers.virtual.cccd_pki import generate as generate_pki
from kiosk.config.loader import demo_config_text
from kiosk.ops.install import install_release, switch_current
from kiosk.ops.provision import service_ids
from kiosk.ops.release import verify_bundle
from tests.cli_helpers import run_kiosk
from tests.config_helpers import filled_new_config

CHECKS = ("access", "trust_store", "disk", "outbox")  # no reader, printer or servers here


@pytest.fixture(scope="module")
def scratch_root(bundles, keys):
    """A root the kiosk user can walk into (pytest's folders are 0700), 1.0.0 installed:
    one for the module (installing the release is the slow part), its tests in order
    (refused before anything is written; a failed provision; the whole path)."""
    root = Path(tempfile.mkdtemp(prefix="kiosk-root-"))
    root.chmod(0o755)
    install_release(verify_bundle(bundles["1.0.0"], [keys["public"]]), root)
    switch_current(root, "1.0.0")
    yield root
    shutil.rmtree(root)


def doctor_as(uid: int, gid: int, config: Path) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-c", "from kiosk.cli import main; raise SystemExit(main())",
           "--config", str(config), "doctor", "--json"]
    for name in CHECKS:
        cmd += ["--only", name]
    return subprocess.run(["setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups",
                           "--", *cmd], capture_output=True, text=True, timeout=120,
                          check=False, cwd="/")


def test_provisioning_the_demo_is_refused_one_line_per_demo_value(scratch_root, tmp_path):
    prov = tmp_path / "demo.toml"
    prov.write_text(demo_config_text())
    proc = run_kiosk("provision", "--root", str(scratch_root), "--config-file", str(prov))
    assert proc.returncode == 6
    assert [line.split(":")[0] for line in proc.stderr.splitlines()] == [
        "kiosk.state_dir", "printer.target", "devices.reader", "devices.camera",
        "devices.trust_store", "bhxh.url", "his.adapter", "printer.kind", "ui.fullscreen",
        "fleet.public_keys"], proc.stderr
    assert not (scratch_root / "etc/kiosk").exists()  # refused before touching anything
    missing = run_kiosk("provision", "--root", str(scratch_root), "--config-file",
                        str(tmp_path / "absent.toml"))
    assert missing.returncode == 2 and "absent.toml" in missing.stderr


def test_a_failing_systemctl_is_exit_5_naming_the_units(scratch_root, tmp_path):
    prov = tmp_path / "lobby-01.toml"
    prov.write_text(filled_new_config(**{'kind = "usb"': 'kind = "none"',
                                         'target = "0416:5011"': 'target = ""'}))
    stub = tmp_path / "bin"
    stub.mkdir()
    (stub / "systemctl").write_text("#!/bin/sh\necho 'Failed to enable unit' >&2\nexit 1\n")
    (stub / "systemctl").chmod(0o755)
    env = {"PATH": f"{stub}:{os.environ['PATH']}"}
    proc = run_kiosk("provision", "--root", str(scratch_root), "--config-file", str(prov),
                     env=env)
    assert proc.returncode == 5, proc.stderr
    assert "systemctl --root=" in proc.stderr and "kiosk-ui.service" in proc.stderr
    assert "Failed to enable unit" in proc.stderr and "internal error" not in proc.stderr


def test_a_first_kiosk_from_the_docs(scratch_root, tmp_path):
    root = scratch_root
    # Step 2: `kiosk config new > lobby-01.toml`, fill in every "" it lists.
    prov = tmp_path / "lobby-01.toml"
    prov.write_text(run_kiosk("config", "new").stdout)
    assert run_kiosk("config", "check", "--production", "--config", str(prov)).returncode == 6
    prov.write_text(filled_new_config(**{'kind = "usb"': 'kind = "none"',
                                         'target = "0416:5011"': 'target = ""'}))
    check = run_kiosk("config", "check", "--production", "--config", str(prov))
    assert check.returncode == 0, check.stderr
    # Step 3: provision (as root), and the CSCA certificates into devices.trust_store.
    proc = run_kiosk("provision", "--root", str(root), "--config-file", str(prov))
    assert proc.returncode == 0, proc.stderr
    uid, gid = service_ids(root)
    csca = root / "etc/kiosk/csca"
    csca.mkdir()
    (csca / "csca.pem").write_bytes(generate_pki("TEST CSCA").csca_cert.public_bytes(
        Encoding.PEM))
    etc = root / "etc/kiosk"
    main = (etc / "kiosk.toml").read_text()
    assert "provisioned = true" in main and "s3cret" not in main
    # Step 4: doctor as the kiosk user. The files name /etc/kiosk and /var/lib/kiosk, as
    # they will on the machine: here the same file with the scratch root's paths.
    check_file = etc / "doctor-check.toml"
    check_file.write_text(main.replace('"/etc/kiosk/', f'"{etc}/').replace(
        '"/var/lib/kiosk"', f'"{root}/var/lib/kiosk"'))
    os.chown(check_file, 0, gid)
    check_file.chmod(0o640)
    proc = doctor_as(uid, gid, check_file)
    report = json.loads(proc.stdout)
    assert proc.returncode == 0, report
    assert [c["name"] for c in report["checks"]] == list(CHECKS)
    assert all(c["status"] == "pass" for c in report["checks"]), report["checks"]
    assert report["checks"][1]["detail"] == f"1 CSCA certificates in {csca}"

    # "0600 works too" does not: the kiosk user is told it cannot read the secrets.
    (etc / "secrets.toml").chmod(0o600)
    proc = doctor_as(uid, gid, check_file)
    assert proc.returncode == 6
    detail = json.loads(proc.stdout)["checks"][0]["detail"]
    assert f"{etc}/secrets.toml (0600 root:" in detail and f"uid {uid}" in detail, detail
    (etc / "secrets.toml").chmod(0o640)
    shutil.rmtree(csca)
    proc = doctor_as(uid, gid, check_file)
    assert proc.returncode == 1
    assert json.loads(proc.stdout)["checks"][1]["status"] == "fail"

    # Retiring it (section 8): nothing without --yes; then patient data, configuration,
    # secrets gone, a link the kiosk user planted removed (its target untouched), and
    # what to revoke on the servers named.
    state = root / "var/lib/kiosk"
    (state / "kiosk.sqlite3").write_bytes(b"patients")
    outside = tmp_path / "outside"
    outside.write_text("keep")
    (state / "planted").symlink_to(outside)
    dry = run_kiosk("decommission", "--root", str(root))
    assert dry.returncode == 2 and f"would remove {state}" in dry.stderr
    assert (state / "kiosk.sqlite3").exists()
    wipe = run_kiosk("decommission", "--root", str(root), "--yes", "--json")
    assert wipe.returncode == 0, wipe.stderr
    out = json.loads(wipe.stdout)
    assert not state.exists() and not etc.exists() and outside.read_text() == "keep"
    assert any(r.startswith("BHXH: change the password of gateway account '01824_BV'")
               for r in out["revoke"]), out
    assert not (root / "etc/systemd/system/multi-user.target.wants/kiosk-sync.service"
                ).is_symlink()
