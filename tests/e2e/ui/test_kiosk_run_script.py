"""`kiosk run --script`: the production composition (what kiosk-ui.service starts)
end to end — a virtual CCCD served by `kiosk card simulate` through real pcscd
and vpcd, `devices.reader = "auto"`, a camera reading frames from a file, the
BHXH gateway simulator, a FHIR server on loopback — with simulated touches."""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from kiosk.services.his.fhir.server import FhirTestServer
from tests.cli_helpers import run_kiosk
from tests.e2e.his_helpers import fhir_validate, write_config
from tests.e2e.pcsc_fixtures import BASE, Pcscd, simulating

pytestmark = pytest.mark.e2e

IDENTITY = BASE  # the card the chip-reader tests use
REGISTER = [
    {"type": IDENTITY["id_number"]},
    {"wait": "confirm_identity", "timeout": 60},
    {"tap": "confirm.yes"},
    {"wait": ["insurance_result", "choose_service"], "timeout": 30},
    {"tap": "continue", "optional": True},
    {"wait": "choose_service", "timeout": 20},
    {"tap": "service.KB-NOI"},
    {"wait": "confirm_service"},
    {"tap": "register"},
    {"wait": "ticket", "timeout": 30},
]


@pytest.fixture
def fhir() -> Iterator[FhirTestServer]:
    server = FhirTestServer(validator=fhir_validate)
    server.start()
    yield server
    server.stop()


def production_config(tmp_path: Path, fhir: FhirTestServer, trust: Path) -> Path:
    """The demo configuration turned into a production one: PC/SC reader, a camera
    reading a file (a lobby with nobody in front of it), FHIR."""
    frame = tmp_path / "lobby.png"
    Image.fromarray(np.full((720, 1280, 3), 200, np.uint8)).save(frame)
    path = write_config(tmp_path, "fhir", {"url": fhir.url, "timeout_s": 2.0})
    text = path.read_text("utf-8")
    text = text.replace('reader = "virtual"', f'reader = "auto"\ntrust_store = "{trust}"')
    text = text.replace('camera = "virtual"', f'camera = "{frame}"')
    path.write_text(text, "utf-8")
    return path


def run_script(config: Path, tmp_path: Path, script: list[dict[str, Any]],
               name: str = "script.json") -> tuple[int, dict[str, Any], str]:
    file = tmp_path / name
    file.write_text(json.dumps(script), "utf-8")
    env = {k: v for k, v in os.environ.items() if k != "DISPLAY"}  # it starts its own Xvfb
    proc = run_kiosk("--config", str(config), "run", "--script", str(file), "--json", env=env,
                     timeout=120)
    out = json.loads(proc.stdout) if proc.stdout.strip().startswith("{") else {}
    return proc.returncode, out, proc.stderr


def test_typed_number_reads_the_chip_on_the_configured_reader_and_reaches_the_his(
        simulate: Path, fhir: FhirTestServer, tmp_path: Path) -> None:
    config = production_config(tmp_path, fhir, simulate)
    code, out, err = run_script(config, tmp_path, REGISTER)
    assert code == 0, (out, err[-3000:])
    assert out["ok"] is True
    steps = [s["step"] for s in out["steps"]]
    # The card was on the reader when the kiosk started: its session is already open.
    assert steps[:3] == ["need_key", "reading_chip", "confirm_identity"], steps
    assert steps[-1] == "ticket"
    assert all(isinstance(s["at"], float | int) for s in out["steps"])
    # Shown while active authentication ran (if a frame caught it), verified once every
    # check finished.
    marks = out["identity_marks"]
    assert marks in (["chip_pending", "chip_verified"], ["chip_verified"]), marks
    reg = out["registration"]
    assert reg is not None and reg["queue_number"].startswith("A-")

    db = sqlite3.connect(tmp_path / "state" / "kiosk.sqlite3")
    source, id_number, name, verification = db.execute(
        "SELECT identity_source, id_number, full_name, verification FROM registrations "
        "WHERE id = ?", (reg["registration_id"],)).fetchone()
    db.close()
    assert (source, id_number, name) == ("chip", IDENTITY["id_number"], IDENTITY["full_name"])
    assert verification == "chip_verified"  # the configured trust store was used

    sync = run_kiosk("--config", str(config), "sync", "--once", "--json", timeout=60)
    assert sync.returncode == 0, sync.stderr
    patients = fhir.resources("Patient")
    assert [IDENTITY["id_number"] in json.dumps(p) for p in patients] == [True]
    visits = fhir.resources("Encounter") + fhir.resources("Appointment")
    assert [reg["registration_id"] in json.dumps(v) for v in visits] == [True]


def test_a_chip_patient_checks_in_for_a_fhir_appointment_in_two_taps(
        simulate: Path, fhir: FhirTestServer, tmp_path: Path) -> None:
    """Giấy hẹn khám lại: the hospital booked a follow-up for today in its FHIR server."""
    from tests.e2e.test_appointments import fhir_booking, today

    booked = fhir_booking(fhir, today(), who=IDENTITY["id_number"])
    config = production_config(tmp_path, fhir, simulate)
    script = [{"type": IDENTITY["id_number"]}, {"wait": "confirm_identity", "timeout": 60},
              {"tap": "confirm.yes"},  # identity confirmed; then at most two taps:
              {"wait": ["insurance_result", "appointment"], "timeout": 30},
              {"tap": "continue", "optional": True},  # only when the card is not usable
              {"wait": "appointment", "timeout": 30},
              {"tap": "appointment.check_in"},
              {"wait": "ticket", "timeout": 30}]
    code, out, err = run_script(config, tmp_path, script, "follow-up.json")
    assert code == 0 and out["ok"] is True, (out, err[-3000:])
    steps = [s["step"] for s in out["steps"]]
    assert "choose_service" not in steps and steps[-1] == "ticket", steps
    reg = out["registration"]
    assert reg["room"] == "Phòng 305" and reg["queue_number"] == "H-001"  # the ticket's room
    sync = run_kiosk("--config", str(config), "sync", "--once", "--json", timeout=60)
    assert sync.returncode == 0, sync.stderr
    [appointment] = [a for a in fhir.resources("Appointment") if a["id"] == booked]
    assert appointment["status"] == "arrived"
    [visit] = fhir.resources("Encounter")
    assert visit["appointment"] == [{"reference": f"Appointment/{booked}"}]
    assert reg["registration_id"] in json.dumps(visit)


def test_a_cloned_card_is_never_shown_or_registered_as_verified(
        pcscd: Pcscd, fhir: FhirTestServer, tmp_path: Path) -> None:
    """Issue 24: the genuine files without the chip's private key (DG14/DG15 hidden)."""
    with simulating(pcscd, tmp_path, "clone-hide-aa") as trust:
        config = production_config(tmp_path, fhir, trust)
        code, out, err = run_script(config, tmp_path, REGISTER[:1] + [
            {"wait": "error", "timeout": 60}])
    assert code == 0, (out, err[-3000:])
    assert out["steps"][-1]["step"] == "error" and out["registration"] is None
    assert "chip_verified" not in out["identity_marks"], out["identity_marks"]
    db = sqlite3.connect(tmp_path / "state" / "kiosk.sqlite3")
    registered = db.execute("SELECT count(*) FROM registrations").fetchone()[0]
    refused = db.execute("SELECT sum(value) FROM statistics WHERE metric = 'chip.refused'"
                         ).fetchone()[0]
    db.close()
    assert (registered, refused) == (0, 1)


def test_a_script_that_cannot_complete_exits_1_and_says_where(
        simulate: Path, fhir: FhirTestServer, tmp_path: Path) -> None:
    config = production_config(tmp_path, fhir, simulate)
    code, out, _err = run_script(config, tmp_path, [{"wait": "ticket", "timeout": 1}])
    assert code == 1
    assert out["ok"] is False and out["registration"] is None
    assert "ticket" in out["failures"][0] and "need_key" in out["failures"][0]


@pytest.mark.parametrize("script", [
    "[]", "{}", '[{"tap": 5}]', '[{"wait": "nowhere"}]', '[{"type": "12a"}]',
    '[{"sleep": 1e999}]', '[{"tap": "x", "double_ms": -1}]', '[{"tap": "x", "wait": "idle"}]',
    "[" * 5000, "not json",
])
def test_a_bad_script_is_refused_before_any_window_opens(tmp_path: Path, script: str) -> None:
    file = tmp_path / "bad.json"
    file.write_text(script, "utf-8")
    proc = run_kiosk("run", "--script", str(file), "--json", env={"DISPLAY": ":none"})
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and "script" in proc.stderr.lower()


def test_card_read_and_doctor_use_the_configured_reader_and_trust_store(
        simulate: Path, fhir: FhirTestServer, tmp_path: Path) -> None:
    config = production_config(tmp_path, fhir, simulate)
    proc = run_kiosk("card", "read", "--can", IDENTITY["id_number"][-6:], "--no-photo",
                     "--json", "--config", str(config), timeout=60)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["id_number"] == IDENTITY["id_number"]
    assert data["authentication"]["passive"] == "verified"  # devices.trust_store applied
    # With `auto` the only reader here is vpcd's: the kiosk reads it, doctor names it and
    # fails (it is the test driver, no reader a patient can use).
    doctor = run_kiosk("--config", str(config), "doctor", "--only", "reader", "--json")
    [check] = json.loads(doctor.stdout)["checks"]
    assert check["status"] == "fail" and "Virtual PCD" in check["detail"], check
    named = config.read_text("utf-8").replace('reader = "auto"', 'reader = "Virtual PCD"')
    config.write_text(named, "utf-8")
    doctor = run_kiosk("--config", str(config), "doctor", "--only", "reader", "--json")
    [check] = json.loads(doctor.stdout)["checks"]
    assert check["status"] == "pass" and "card present" in check["detail"], check
    # A configured reader name that matches nothing: both say so.
    wrong = config.read_text("utf-8").replace('reader = "Virtual PCD"', 'reader = "ACS ACR1252"')
    config.write_text(wrong, "utf-8")
    proc = run_kiosk("card", "read", "--can", "123456", "--json", "--config", str(config))
    assert proc.returncode == 4 and "ACS ACR1252" in proc.stderr
    doctor = run_kiosk("--config", str(config), "doctor", "--only", "reader", "--json")
    [check] = json.loads(doctor.stdout)["checks"]
    assert check["status"] == "fail" and "ACS ACR1252" in check["detail"]
