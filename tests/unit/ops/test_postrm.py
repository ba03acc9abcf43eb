"""The package's postrm on purge: the units' enablement links go (the units went with
the package); the kiosk's state and configuration stay (decommission wipes them)."""

import subprocess
from pathlib import Path

POSTRM = Path(__file__).resolve().parents[3] / "packaging/postrm"


def test_purge_removes_the_wants_links_and_keeps_the_state(tmp_path):
    wants = tmp_path / "etc/systemd/system/multi-user.target.wants"
    wants.mkdir(parents=True)
    (wants / "kiosk-sync.service").symlink_to("/lib/systemd/system/kiosk-sync.service")
    (wants / "ssh.service").symlink_to("/lib/systemd/system/ssh.service")
    (tmp_path / "etc/kiosk").mkdir()
    (tmp_path / "etc/kiosk/kiosk.toml").write_text("[kiosk]\n")
    for action, left in (("remove", True), ("purge", False)):
        proc = subprocess.run(["sh", str(POSTRM), action], env={"DPKG_ROOT": str(tmp_path),
                              "PATH": "/usr/bin:/bin"}, capture_output=True, text=True,
                              timeout=30, check=False)
        assert proc.returncode == 0, proc.stderr
        assert (wants / "kiosk-sync.service").is_symlink() is left, action
    assert (wants / "ssh.service").is_symlink()  # not ours
    assert (tmp_path / "etc/kiosk/kiosk.toml").exists()
