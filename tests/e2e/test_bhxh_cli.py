"""`kiosk bhyt check` / `kiosk bhyt simulator` contracts, as real subprocesses."""

import json
import subprocess

import pytest
import requests

from kiosk.services.bhxh.simulator import BhxhGatewaySimulator
from tests.cli_helpers import KIOSK, run_kiosk

pytestmark = pytest.mark.e2e

CARD_KEYS = {"card_number", "full_name", "date_of_birth", "sex", "address",
             "registered_facility", "valid_from", "valid_to", "area_code", "five_year_date",
             "new_card_number", "new_valid_from", "new_valid_to"}
TOP_KEYS = {"code", "outcome", "usable", "message_vi", "message_en", "card", "checked_at",
            "source"}
NHUNG = ("--card", "001185012345", "--name", "Nguyễn Thị Hồng Nhung", "--dob", "14/03/1985")
NO_CONFIG = {"KIOSK_CONFIG": ""}


@pytest.fixture(scope="module")
def sim():
    simulator = BhxhGatewaySimulator()
    simulator.start()
    yield simulator
    simulator.stop()


def check(*args, **kw):
    return run_kiosk("bhyt", "check", *args, "--json", env=NO_CONFIG, **kw)


def test_usable_card_contract(sim):
    proc = check(*NHUNG, "--gateway", sim.base_url)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert set(data) >= TOP_KEYS and set(data["card"]) == CARD_KEYS
    assert data["code"] == "000" and data["outcome"] == "usable" and data["usable"] is True
    assert data["source"] == "gateway" and data["card"]["valid_to"] == "2026-12-31"
    assert proc.stderr == ""


def test_new_card_and_not_usable_still_exit_0(sim):
    new = json.loads(check("--card", "HT3380123498765", "--name", "Lê Văn Thưởng", "--dob",
                           "02/11/1958", "--gateway", sim.base_url).stdout)
    assert new["code"] == "004" and new["outcome"] == "warning"
    assert new["card"]["new_card_number"] == "HT2380123498765"
    expired = check("--card", "038068010010", "--name", "Trịnh Văn Hùng", "--dob", "07/07/1968",
                    "--gateway", sim.base_url)
    assert expired.returncode == 0
    data = json.loads(expired.stdout)
    assert data["outcome"] == "not_usable" and data["usable"] is False and "010" not in \
        data["message_vi"]


def test_embedded_simulator_from_demo_configuration():
    proc = check("--card", "066050000950", "--name", "Y Bhiăo Ksor", "--dob", "1950")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["card"]["date_of_birth"] == "1950"


def test_unavailable_exits_5(sim):
    proc = check(*NHUNG, "--gateway", "http://127.0.0.1:1")
    assert proc.returncode == 5
    data = json.loads(proc.stdout)
    assert data["outcome"] == "unavailable" and data["source"] == "unavailable"
    assert len(proc.stderr.strip().splitlines()) == 1


def test_misconfigured_operator_exits_6(sim, tmp_path):
    config = tmp_path / "kiosk.toml"
    text = run_kiosk("config", "demo").stdout
    config.write_text(text.replace('operator_cccd = "001185000123"',
                                   'operator_cccd = "001185999999"'), encoding="utf-8")
    proc = run_kiosk("--config", str(config), "bhyt", "check", *NHUNG, "--gateway",
                     sim.base_url)
    assert proc.returncode == 6, proc.stderr
    assert json.loads(proc.stdout)["code"] == "054" and "054" in proc.stderr


def test_wrong_password_exits_6(sim, tmp_path):
    config = tmp_path / "kiosk.toml"
    text = run_kiosk("config", "demo").stdout
    config.write_text(text.replace('password = "simulator-password"', 'password = "nope"'),
                      encoding="utf-8")
    proc = run_kiosk("--config", str(config), "bhyt", "check", *NHUNG, "--gateway",
                     sim.base_url)
    assert proc.returncode == 6 and json.loads(proc.stdout)["outcome"] == "misconfigured"


@pytest.mark.parametrize("bad", [
    ("--card", "XX0", "--name", "A", "--dob", "14/03/1985"),
    ("--card", "001185012345", "--name", "A", "--dob", "31/02/1985"),
    ("--card", "001185012345", "--name", "  ", "--dob", "14/03/1985"),
    ("--card", "001185012345", "--name", "A", "--dob", "14/03/1985", "--gateway", "ftp://x"),
])
def test_bad_input_exits_2(bad):
    proc = check(*bad)
    assert proc.returncode == 2 and proc.stdout == ""
    assert len(proc.stderr.strip().splitlines()) == 1


def test_simulator_command_serves_and_takes_faults():
    proc = subprocess.Popen([KIOSK, "bhyt", "simulator", "--port", "0"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert "SIMULATOR" in line
        url = line.split("listening on ")[1].split()[0]
        assert url.startswith("http://127.0.0.1:")
        ok = check(*NHUNG, "--gateway", url)
        assert ok.returncode == 0 and json.loads(ok.stdout)["code"] == "000"
        requests.post(url + "/_simulator/faults", json={"kind": "http500"}, timeout=5)
        assert check(*NHUNG, "--gateway", url).returncode == 5
        requests.delete(url + "/_simulator/faults", timeout=5)
        status = requests.get(url + "/_simulator/status", timeout=5).json()
        assert status["faults"] == [] and status["stats"]["check"] >= 3
    finally:
        proc.terminate()
        proc.wait(timeout=10)
