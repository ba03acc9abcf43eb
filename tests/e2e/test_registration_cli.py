"""`kiosk register`, `kiosk services list`, `kiosk outbox list/retry`, `kiosk sync --once`
as real subprocesses, per the issue's contracts, against the FHIR test server."""

import json
import sqlite3

import pytest
from PIL import Image

from kiosk.services.his.fhir.server import FhirTestServer
from tests.cli_helpers import run_json, run_kiosk
from tests.e2e.his_helpers import fhir_validate, write_config

pytestmark = pytest.mark.e2e

CARD = {  # `kiosk card read` output (the keys that matter here)
    "id_number": "001168000001", "full_name": "Nguyễn Thị Minh Khai",
    "date_of_birth": "1968-03-14", "sex": "Nữ", "nationality": "Việt Nam",
    "ethnicity": "Kinh", "residence": "Số 12 Phố Huế, Hai Bà Trưng, Hà Nội",
    "issue_date": "2021-07-10", "expiry_date": "2028-03-14", "old_id_number": None,
    "authentication": {"access": "PACE", "passive": "verified", "active": True},
}
INSURANCE = {  # `kiosk bhyt check` output
    "code": "000", "outcome": "usable", "usable": True,
    "message_vi": "Thẻ BHYT còn hạn sử dụng.", "message_en": "Your card is valid.",
    "staff_detail": "000", "checked_at": "2026-11-23T09:30:00+07:00", "source": "gateway",
    "card": {"card_number": "GD4790100000001", "full_name": "Nguyễn Thị Minh Khai",
             "date_of_birth": "1968-03-14", "sex": "Nữ", "address": None,
             "registered_facility": "01824", "valid_from": "2026-01-01",
             "valid_to": "2026-12-31", "area_code": None, "five_year_date": None,
             "new_card_number": None, "new_valid_from": None, "new_valid_to": None},
}


@pytest.fixture
def setup(tmp_path):
    server = FhirTestServer(validator=fhir_validate)
    server.start()
    config = write_config(tmp_path, "fhir", {"url": server.url, "timeout_s": 2.0},
                          sync={"base_delay_s": 0.1})
    yield tmp_path, config, server
    server.stop()


def patient_file(tmp_path, name="p.json", **extra):
    path = tmp_path / name
    path.write_text(json.dumps({**CARD, **extra}, ensure_ascii=False), encoding="utf-8")
    return str(path)


def db_rows(tmp_path, sql):
    with sqlite3.connect(tmp_path / "state" / "kiosk.sqlite3") as conn:
        return conn.execute(sql).fetchall()


def test_register_contract_then_sync(setup):
    tmp, config, server = setup
    out = run_json("--config", str(config), "register", "--patient",
                   patient_file(tmp, insurance=INSURANCE), "--service", "KB-NOI", "--json")
    assert set(out) == {"registration_id", "queue_number", "service", "ticket", "printed",
                        "sync_state"}
    assert (out["queue_number"], out["service"], out["printed"], out["sync_state"]) == (
        "A-001", "KB-NOI", True, "pending")
    with Image.open(out["ticket"]) as img:
        assert img.width == 576
    second = run_json("--config", str(config), "register", "--patient",
                      patient_file(tmp, "q.json", id_number="001168000002"),
                      "--service", "KB-NOI", "--json")
    assert second["queue_number"] == "A-002"
    assert db_rows(tmp, "SELECT recheck_state FROM registrations ORDER BY queue_seq") == [
        (None,), ("pending",)]  # no insurance given: re-checked later

    listed = run_json("--config", str(config), "outbox", "list", "--json")
    assert [r["state"] for r in listed] == ["pending", "pending"]
    assert "001168000001" not in json.dumps(listed)
    text = run_kiosk("--config", str(config), "outbox", "list").stdout
    assert "2 registrations not in the HIS (0 failed)" in text
    assert "retention.unsynced_days = 7" in text and "001168000001" not in text

    proc = run_kiosk("--config", str(config), "sync", "--once", "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["sent"] == 2  # two patients (one number each per day)
    assert len(server.resources("Encounter")) == 2 and len(server.resources("Patient")) == 2
    assert db_rows(tmp, "SELECT sync_state FROM registrations") == [("synced",), ("synced",)]


def test_register_is_idempotent_by_key(setup):
    tmp, config, _ = setup
    args = ("--config", str(config), "register", "--patient", patient_file(tmp), "--service",
            "KB-MAT", "--idempotency-key", "counter-7", "--json")
    assert run_json(*args)["registration_id"] == run_json(*args)["registration_id"]
    assert db_rows(tmp, "SELECT count(*) FROM outbox") == [(1,)]


@pytest.mark.parametrize(("patch", "service"), [
    ({"full_name": ""}, "KB-NOI"),
    ({"id_number": "12345"}, "KB-NOI"),
    ({"date_of_birth": "14/03/1968"}, "KB-NOI"),
    ({"insurance": {"outcome": "maybe"}}, "KB-NOI"),
    ({"insurance": {**INSURANCE, "card": {"valid_to": "soon"}}}, "KB-NOI"),
    ({}, "KB-NOPE"),
])
def test_invalid_input_exits_2_and_stores_nothing(setup, patch, service):
    tmp, config, _ = setup
    proc = run_kiosk("--config", str(config), "register", "--patient",
                     patient_file(tmp, **patch), "--service", service)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    db = tmp / "state" / "kiosk.sqlite3"
    assert not db.exists() or db_rows(tmp, "SELECT count(*) FROM registrations") == [(0,)]


def test_unreadable_patient_file_exits_2(setup):
    tmp, config, _ = setup
    (tmp / "x.json").write_bytes(b"\xff{not json")
    proc = run_kiosk("--config", str(config), "register", "--patient", str(tmp / "x.json"),
                     "--service", "KB-NOI")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr


def test_services_list_contract(tmp_path):
    rows = run_json("services", "list", "--json", cwd=tmp_path)
    assert rows and all(set(r) == {"code", "name", "room", "open"} for r in rows)
    assert all(r["open"] for r in rows)  # the demo configuration is open around the clock
    assert {"code": "KB-MAT", "name": "Khám Mắt", "room": "Phòng 210, tầng 2",
            "open": True} in rows


def test_dead_letter_then_outbox_retry(setup):
    tmp, config, server = setup
    run_json("--config", str(config), "register", "--patient", patient_file(tmp),
             "--service", "KB-NOI", "--json")
    server.set_faults(mode="status", status=422)  # the HIS refuses the data
    proc = run_kiosk("--config", str(config), "sync", "--once", "--json")
    assert json.loads(proc.stdout)["dead"] == 1
    dead = run_json("--config", str(config), "outbox", "list", "--json", "--state", "dead")
    assert len(dead) == 1 and "HTTP 422" in dead[0]["last_error"]
    assert db_rows(tmp, "SELECT sync_state FROM registrations") == [("failed",)]
    server.set_faults()
    assert run_kiosk("--config", str(config), "outbox", "retry", str(dead[0]["id"])
                     ).returncode == 0
    assert run_kiosk("--config", str(config), "outbox", "retry", "9999").returncode == 2
    proc = run_kiosk("--config", str(config), "sync", "--once", "--json")
    assert json.loads(proc.stdout)["sent"] == 1
    assert run_kiosk("--config", str(config), "outbox", "retry", str(dead[0]["id"])
                     ).returncode == 2  # already delivered


def test_sync_once_reports_an_unreachable_his(setup):
    tmp, config, server = setup
    run_json("--config", str(config), "register", "--patient", patient_file(tmp),
             "--service", "KB-NOI", "--json")
    server.pause()
    proc = run_kiosk("--config", str(config), "sync", "--once")
    assert proc.returncode == 5 and "HIS unavailable 1" in proc.stdout
    assert "001168000001" not in proc.stdout + proc.stderr
    server.resume()
