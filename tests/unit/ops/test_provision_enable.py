"""`kiosk provision` on this machine enables the units; it asks systemd to reload only
where systemd is running (a chroot building an image has none to ask: issue 25's
scratch root failed there before)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kiosk.ops import provision
from kiosk.ops.provision import UNITS_ENABLED, Summary


@pytest.fixture
def systemctl(tmp_path, monkeypatch) -> Path:
    """A systemctl on PATH that records its arguments."""
    calls = tmp_path / "calls"
    stub = tmp_path / "bin/systemctl"
    stub.parent.mkdir()
    stub.write_text(f'#!/bin/sh\necho "$*" >> {calls}\n')
    stub.chmod(0o755)
    monkeypatch.setenv("PATH", f"{stub.parent}:{os.environ['PATH']}")
    return calls


@pytest.mark.parametrize("booted", [True, False])
def test_reload_only_where_systemd_runs(systemctl, tmp_path, monkeypatch, booted):
    running = tmp_path / "run-systemd-system"
    if booted:
        running.mkdir()
    monkeypatch.setattr(provision, "SYSTEMD_RUNNING", running)
    provision._enable(Path("/"), Summary())
    calls = systemctl.read_text().splitlines()
    enable = "enable " + " ".join(UNITS_ENABLED)
    assert calls == (["daemon-reload", enable] if booted else [enable])


def test_another_root_is_never_reloaded(systemctl, tmp_path):
    provision._enable(tmp_path, Summary())
    assert systemctl.read_text().splitlines() == [
        f"--root={tmp_path} enable " + " ".join(UNITS_ENABLED)]
