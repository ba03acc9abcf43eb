"""The acceptance test on a kiosk (docs/deployment.md): the test card's number as an
argument, a timeout on need_key that names its likely causes, and a kiosk without a
virtual display answering with the one JSON error object, not a crash."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from kiosk.config.loader import demo_config_text
from tests.cli_helpers import run_kiosk

pytestmark = pytest.mark.e2e

SCRIPT = [{"type": "{card}"}, {"wait": "confirm_identity", "timeout": 3}]


def files(tmp_path: Path) -> tuple[Path, Path]:
    config = tmp_path / "kiosk.toml"
    config.write_text(demo_config_text().replace('reader = "virtual"',
                                                 'reader = "No Such Reader 00 00"').replace(
        'state_dir = "demo-output/state"', f'state_dir = "{tmp_path / "state"}"').replace(
        'target = "demo-output/tickets"', f'target = "{tmp_path / "tickets"}"'))
    script = tmp_path / "accept.json"
    script.write_text(json.dumps(SCRIPT))
    return config, script


def test_a_timeout_on_need_key_names_the_likely_cause(tmp_path):
    config, script = files(tmp_path)
    env = {k: v for k, v in os.environ.items() if k != "DISPLAY"}  # its own Xvfb
    proc = run_kiosk("--config", str(config), "run", "--script", str(script), "--card",
                     "001190123456", "--json", env=env, timeout=120)
    out = json.loads(proc.stdout)
    assert proc.returncode == 1 and out["ok"] is False, out
    assert any("(on need_key)" in f for f in out["failures"]), out["failures"]
    assert out["failures"][-1].startswith("likely cause: no card was read on need_key")
    bad = run_kiosk("--config", str(config), "run", "--script", str(script), "--card", "12")
    assert bad.returncode == 2 and "--card must be the card's 12 digits" in bad.stderr


def test_no_virtual_display_is_the_one_json_error(tmp_path):
    config, script = files(tmp_path)
    env = {k: v for k, v in os.environ.items() if k != "DISPLAY"}
    env["PATH"] = str(Path(os.__file__).parent)  # no Xvfb on it
    proc = run_kiosk("--config", str(config), "run", "--script", str(script), "--card",
                     "001190123456", "--json", env=env)
    assert proc.returncode == 5 and proc.stdout == "", proc.stderr
    error = json.loads(proc.stderr)["error"]
    assert error["kind"] == "unavailable" and "Xvfb is not installed" in error["message"]
