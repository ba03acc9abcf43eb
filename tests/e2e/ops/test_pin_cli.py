"""`kiosk config check` refuses weak staff PINs; `kiosk pin hash|unlock` as a technician
runs them (real subprocesses, the PIN on stdin, never on the command line)."""

import json

from kiosk.config.loader import demo_config_text
from kiosk.domain.staff_pin import verify
from tests.cli_helpers import run_kiosk
from tests.config_helpers import write_kiosk_config


def config_with_pin(tmp_path, pin):
    """The demo with staff PIN `pin` in its secrets file."""
    text = demo_config_text().replace("[ui]\n", f'[ui]\nstaff_pin = "{pin}"\n')
    return write_kiosk_config(tmp_path / "kiosk.toml", text.replace(
        'state_dir = "demo-output/state"', f'state_dir = "{tmp_path / "state"}"'))


def test_config_check_refuses_a_pin_shorter_than_6_digits(tmp_path):
    for pin in ("2468", "24680"):
        proc = run_kiosk("config", "check", "--config", str(config_with_pin(tmp_path, pin)))
        assert proc.returncode != 0
        assert "ui.staff_pin: must be 6–12 digits" in proc.stderr
        assert pin not in proc.stderr  # the PIN itself is never echoed
    ok = run_kiosk("config", "check", "--config", str(config_with_pin(tmp_path, "246802")))
    assert ok.returncode == 0, ok.stderr


def test_pin_hash_reads_stdin_and_its_output_is_a_valid_setting(tmp_path):
    proc = run_kiosk("pin", "hash", input="975310\n")
    assert proc.returncode == 0, proc.stderr
    hashed = proc.stdout.strip()
    assert verify(hashed, "975310") and "975310" not in hashed
    check = run_kiosk("config", "check", "--config", str(config_with_pin(tmp_path, hashed)))
    assert check.returncode == 0, check.stderr
    weak = run_kiosk("pin", "hash", input="1234\n")
    assert weak.returncode == 2 and "6–12 digits" in weak.stderr and weak.stdout == ""


def test_pin_unlock_clears_the_streak_keeps_the_count(tmp_path):
    config = config_with_pin(tmp_path, "246802")
    state = tmp_path / "state"
    state.mkdir()
    (state / "staff-pin.json").write_text(json.dumps(
        {"streak": 10, "total": 12, "blocked_until": 9e12}))
    proc = run_kiosk("--config", str(config), "pin", "unlock")
    assert proc.returncode == 0 and "10 wrong PINs in a row cleared" in proc.stdout
    assert json.loads((state / "staff-pin.json").read_text()) == {
        "streak": 0, "total": 12, "blocked_until": 0.0}
    metrics = run_kiosk("--config", str(config), "metrics", "--stdout")
    assert 'kiosk_staff_pin_failures_total{kiosk="demo-kiosk-01"} 12' in metrics.stdout
