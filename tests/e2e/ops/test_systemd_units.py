"""The unit files pass `systemd-analyze verify` silently and score well on
`systemd-analyze security --offline=true` (checked in a private root: no running
systemd needed, and the ExecStart binaries exist there)."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest

UNITS = Path(__file__).resolve().parents[3] / "systemd"
SERVICES = ["kiosk-ui.service", "kiosk-sync.service", "kiosk-update.service",
            "kiosk-metrics.service"]
MAX_EXPOSURE = {"kiosk-ui.service": 5.0, "kiosk-sync.service": 2.5, "kiosk-update.service": 2.5,
                "kiosk-metrics.service": 2.0}


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    root = tmp_path_factory.mktemp("root")
    (root / "usr/lib/systemd").mkdir(parents=True)
    (root / "usr/lib/systemd/system").symlink_to("/lib/systemd/system")
    system = root / "etc/systemd/system"
    system.mkdir(parents=True)
    for binary in ("usr/bin/cage", "opt/kiosk/current/venv/bin/kiosk"):
        path = root / binary
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("#!/bin/sh\n")
        path.chmod(0o755)
    for unit in UNITS.glob("kiosk-*.*"):
        shutil.copy(unit, system / unit.name)
    return root


def analyze(*args):
    return subprocess.run(["systemd-analyze", *args], capture_output=True, text=True,
                          timeout=120, check=False)


def test_verify_prints_nothing(root):
    units = sorted(str(p) for p in (root / "etc/systemd/system").glob("kiosk-*"))
    assert len(units) == 6
    proc = analyze("verify", f"--root={root}", *units)
    # verify exits 0 even on parse errors: any output at all is a failure.
    assert proc.stdout == "" and proc.stderr == "", proc.stdout + proc.stderr
    assert proc.returncode == 0


def test_verify_would_catch_a_broken_unit(root, tmp_path):
    """The check above is only worth something if verify speaks up on mistakes."""
    broken = root / "etc/systemd/system/kiosk-broken.service"
    broken.write_text((UNITS / "kiosk-sync.service").read_text().replace(
        "Restart=always", "Restart=always\nRestartt=yes"))
    try:
        proc = analyze("verify", f"--root={root}", str(broken))
        assert "Unknown key" in proc.stderr
    finally:
        broken.unlink()


@pytest.mark.parametrize("service", SERVICES)
def test_security_exposure(root, service):
    proc = analyze("security", "--offline=true", f"--root={root}", service)
    match = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", proc.stdout)
    assert match, proc.stdout + proc.stderr
    assert float(match.group(1)) <= MAX_EXPOSURE[service]
    print(f"{service}: exposure {match.group(1)}")


def test_update_unit_never_claims_the_kiosk_state_directory():
    """StateDirectory=kiosk on a root unit makes systemd chown /var/lib/kiosk (the
    database) to root on every run: the UI could no longer open it."""
    unit = (UNITS / "kiosk-update.service").read_text()
    state = re.findall(r"^StateDirectory=(.*)$", unit, re.M)
    assert state == ["kiosk-update"]
    assert re.search(r"^StateDirectoryMode=0700$", unit, re.M)
    assert not re.search(r"^(User|DynamicUser)=", unit, re.M)  # root: it installs releases
    assert "ExecStopPost=-/opt/kiosk/current/venv/bin/kiosk update --recover" in unit
    for other in ("kiosk-ui.service", "kiosk-sync.service"):
        text = (UNITS / other).read_text()
        assert not re.search(r"^StateDirectory=.*\bkiosk-update\b", text, re.M)
    tmpfiles = (UNITS / "tmpfiles.d/kiosk.conf").read_text()
    assert "d /var/lib/kiosk-update 0700 root root -" in tmpfiles


def test_support_files_are_present_and_sane():
    assert "blacklist pn533_usb" in (UNITS / "modprobe.d/kiosk-blacklist-pn533.conf").read_text()
    sysusers = (UNITS / "sysusers.d/kiosk.conf").read_text()
    assert re.search(r"^u kiosk ", sysusers, re.M)
    tmpfiles = (UNITS / "tmpfiles.d/kiosk.conf").read_text()
    assert "/var/lib/kiosk 0750 kiosk kiosk" in tmpfiles
    # kiosk-metrics.service (User=kiosk) writes where node_exporter reads.
    assert "/var/lib/node_exporter/textfile_collector 0775 root kiosk" in tmpfiles
    metrics = (UNITS / "kiosk-metrics.service").read_text()
    assert "User=kiosk" in metrics
    assert "ReadWritePaths=/var/lib/node_exporter/textfile_collector" in metrics
    assert re.search(r"^ExecStart=\S+/kiosk metrics$", metrics, re.M)
    assert "OnUnitActiveSec=" in (UNITS / "kiosk-metrics.timer").read_text()
    assert "pcsc-lite" in (UNITS / "polkit-1/rules.d/60-kiosk-pcscd.rules").read_text()
    timer = (UNITS / "kiosk-update.timer").read_text()
    assert "RandomizedDelaySec=" in timer and "Persistent=true" in timer
    ui = (UNITS / "kiosk-ui.service").read_text()
    unit_section = ui.split("[Service]")[0]
    assert "StartLimitAction=reboot" in unit_section  # start limits belong in [Unit]
    assert "Type=notify" in ui and "WatchdogSec=" in ui and "Restart=always" in ui


def test_no_way_to_another_virtual_terminal():
    """cage without VT switching (-s) and no getty spawned on another VT (0102)."""
    ui = (UNITS / "kiosk-ui.service").read_text()
    exec_start = re.search(r"^ExecStart=(.*)$", ui, re.M).group(1).split()
    assert exec_start[0] == "/usr/bin/cage" and "-s" not in exec_start[:exec_start.index("--")]
    logind = (UNITS / "logind.conf.d/kiosk.conf").read_text()
    assert re.search(r"^NAutoVTs=0$", logind, re.M) and re.search(r"^ReserveVT=0$", logind, re.M)


@pytest.mark.parametrize("service", ["kiosk-ui", "kiosk-sync", "kiosk-update", "kiosk-metrics"])
def test_every_service_has_a_memory_ceiling(service):
    text = (UNITS / f"{service}.service").read_text()
    assert re.search(r"^MemoryMax=\d+M$", text, re.M), service
