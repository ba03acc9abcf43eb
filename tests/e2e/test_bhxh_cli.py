"""`kiosk bhyt check` / `kiosk bhyt simulator` contracts, as real subprocesses."""

import json
import subprocess

import pytest
import requests

from kiosk.services.bhxh.simulator import BhxhGatewaySimulator
from tests.cli_helpers import KIOSK, run_kiosk
from tests.config_helpers import write_kiosk_config

pytestmark = pytest.mark.e2e

CARD_KEYS = {"card_number", "full_name", "date_of_birth", "sex", "address",
             "registered_facility", "valid_from", "valid_to", "area_code", "five_year_date",
             "new_card_number", "new_valid_from", "new_valid_to"}
TOP_KEYS = {"code", "outcome", "usable", "message_vi", "message_en", "card", "checked_at",
            "source"}
NHUNG = {"card": "001185012345", "name": "Nguyễn Thị Hồng Nhung", "dob": "14/03/1985"}
NO_CONFIG = {"KIOSK_CONFIG": ""}


@pytest.fixture(scope="module")
def sim():
    simulator = BhxhGatewaySimulator()
    simulator.start()
    yield simulator
    simulator.stop()


def check(patient, *args, **kw):
    """The patient goes to stdin as JSON: never on the command line."""
    return run_kiosk("bhyt", "check", *args, "--json", env=NO_CONFIG,
                     input=json.dumps(patient, ensure_ascii=False), **kw)


def patient(card, name, dob):
    return {"card": card, "name": name, "dob": dob}


def test_usable_card_contract(sim):
    proc = check(NHUNG, "--gateway", sim.base_url)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert set(data) >= TOP_KEYS and set(data["card"]) == CARD_KEYS
    assert data["code"] == "000" and data["outcome"] == "usable" and data["usable"] is True
    assert data["source"] == "gateway" and data["card"]["valid_to"] == "2026-12-31"
    assert proc.stderr == ""


def test_new_card_and_not_usable_still_exit_0(sim):
    new = json.loads(check(patient("HT3380123498765", "Lê Văn Thưởng", "02/11/1958"),
                           "--gateway", sim.base_url).stdout)
    assert new["code"] == "004" and new["outcome"] == "warning"
    assert new["card"]["new_card_number"] == "HT2380123498765"
    expired = check(patient("038068010010", "Trịnh Văn Hùng", "07/07/1968"),
                    "--gateway", sim.base_url)
    assert expired.returncode == 0
    data = json.loads(expired.stdout)
    assert data["outcome"] == "not_usable" and data["usable"] is False and "010" not in \
        data["message_vi"]


def test_embedded_simulator_from_demo_configuration():
    proc = check(patient("066050000950", "Y Bhiăo Ksor", "1950"))
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["card"]["date_of_birth"] == "1950"


def test_unavailable_exits_5(sim):
    proc = check(NHUNG, "--gateway", "http://127.0.0.1:1")
    assert proc.returncode == 5
    data = json.loads(proc.stdout)
    assert data["outcome"] == "unavailable" and data["source"] == "unavailable"
    assert len(proc.stderr.strip().splitlines()) == 1


def test_misconfigured_operator_exits_6(sim, tmp_path):
    config = tmp_path / "kiosk.toml"
    text = run_kiosk("config", "demo").stdout
    config.write_text(text.replace('operator_cccd = "001185000123"',
                                   'operator_cccd = "001185999999"'), encoding="utf-8")
    proc = run_kiosk("--config", str(config), "bhyt", "check", "--gateway", sim.base_url,
                     input=json.dumps(NHUNG))
    assert proc.returncode == 6, proc.stderr
    assert json.loads(proc.stdout)["code"] == "054" and "054" in proc.stderr


def test_wrong_password_exits_6(sim, tmp_path):
    text = run_kiosk("config", "demo").stdout
    config = write_kiosk_config(tmp_path / "kiosk.toml",
                                text.replace("[bhxh]\n", '[bhxh]\npassword = "nope"\n'))
    proc = run_kiosk("--config", str(config), "bhyt", "check", "--gateway", sim.base_url,
                     input=json.dumps(NHUNG))
    assert proc.returncode == 6 and json.loads(proc.stdout)["outcome"] == "misconfigured"


@pytest.mark.parametrize(("bad", "args"), [
    (patient("XX0", "A", "14/03/1985"), ()),
    (patient("001185012345", "A", "31/02/1985"), ()),
    (patient("001185012345", "  ", "14/03/1985"), ()),
    (patient("001185012345", "A", "14/03/1985"), ("--gateway", "ftp://x")),
    ({"card": "001185012345", "name": "A"}, ()),
    (["001185012345", "A", "14/03/1985"], ()),
    ("not json", ()),
])
def test_bad_input_exits_2(bad, args):
    """Bad patients exit 2 with one line naming the problem (and never echo the patient)."""
    proc = check(bad, *args) if not isinstance(bad, str) else run_kiosk(
        "bhyt", "check", env=NO_CONFIG, input=bad)
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
        ok = check(NHUNG, "--gateway", url)
        assert ok.returncode == 0 and json.loads(ok.stdout)["code"] == "000"
        requests.post(url + "/_simulator/faults", json={"kind": "http500"}, timeout=5)
        assert check(NHUNG, "--gateway", url).returncode == 5
        requests.delete(url + "/_simulator/faults", timeout=5)
        status = requests.get(url + "/_simulator/status", timeout=5).json()
        assert status["faults"] == [] and status["stats"]["check"] >= 3
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_patient_from_a_file_and_no_personal_data_flags(sim, tmp_path):
    path = tmp_path / "patient.json"
    path.write_text(json.dumps(NHUNG, ensure_ascii=False), encoding="utf-8")
    proc = run_kiosk("bhyt", "check", "--patient", str(path), "--gateway", sim.base_url,
                     env=NO_CONFIG)
    assert proc.returncode == 0 and json.loads(proc.stdout)["code"] == "000", proc.stderr
    old = run_kiosk("bhyt", "check", "--card", NHUNG["card"], "--name", NHUNG["name"],
                    env=NO_CONFIG)
    assert old.returncode == 2 and "unrecognized arguments" in old.stderr
