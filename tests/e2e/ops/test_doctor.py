"""`kiosk doctor` with each device or server missing, against real sockets and files."""

import json
import socket
from dataclasses import replace

import cv2
import numpy as np
import pytest

from kiosk.config import demo_config
from kiosk.ops import doctor
from kiosk.services.bhxh.simulator import BhxhGatewaySimulator
from kiosk.store import connect
from tests.cli_helpers import run_kiosk


@pytest.fixture
def config(tmp_path):
    c = demo_config(state_dir=tmp_path / "state")
    return replace(c, printer=replace(c.printer, target=str(tmp_path / "tickets")))


def closed_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def by_name(results):
    return {r.name: r for r in results}


def test_demo_configuration_passes(config):
    results = doctor.run_checks(config)
    assert doctor.report_json(results)["ok"]
    assert by_name(results)["his"].status == "pass"


def test_missing_reader_and_pcscd(config, monkeypatch, tmp_path):
    # Not $PCSCLITE_CSOCK_NAME: libpcsclite reads it once per process (decision 0121).
    monkeypatch.setattr(doctor, "pcscd_socket", lambda: tmp_path / "no-pcscd.comm")
    c = replace(config, devices=replace(config.devices, reader="ACS ACR1252 NOT HERE"))
    r = by_name(doctor.run_checks(c, {"pcscd", "reader"}))
    assert r["pcscd"].status == "fail" and "pcscd" in r["pcscd"].hint_en
    assert r["reader"].status == "fail" and r["reader"].hint_vi


def test_camera_missing_and_present(config, tmp_path):
    missing = replace(config, devices=replace(config.devices, camera=str(tmp_path / "none.mp4")))
    assert by_name(doctor.run_checks(missing, {"camera"}))["camera"].status == "fail"
    video = tmp_path / "cam.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 30, (320, 240))
    for i in range(90):
        writer.write(np.full((240, 320, 3), i % 255, np.uint8))
    writer.release()
    present = replace(config, devices=replace(config.devices, camera=str(video)))
    check = by_name(doctor.run_checks(present, {"camera"}))["camera"]
    assert check.status in ("pass", "warn") and "frames/s" in check.detail


def test_network_printer_unreachable(config):
    c = replace(config, printer=replace(config.printer, kind="network",
                                        target=f"127.0.0.1:{closed_port()}"))
    check = by_name(doctor.run_checks(c, {"printer"}))["printer"]
    assert check.status == "fail" and check.hint_en
    # A USB printer that is not there: plain words, not the library's exception class.
    usb = replace(config, printer=replace(config.printer, kind="usb", target="0416:5011"))
    check = doctor.check_printer(usb)
    assert check.status == "fail" and "Error" not in check.detail, check.detail


def test_unwritable_ticket_directory(config, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    c = replace(config, printer=replace(config.printer, target=str(blocker / "tickets")))
    assert by_name(doctor.run_checks(c, {"printer"}))["printer"].status == "fail"


def test_bhxh_credentials_and_reachability(config):
    sim = BhxhGatewaySimulator()
    url = sim.start()
    try:
        good = replace(config, bhxh=replace(config.bhxh, url=url))
        assert by_name(doctor.run_checks(good, {"bhxh"}))["bhxh"].status == "pass"
        bad = replace(config, bhxh=replace(config.bhxh, url=url, password="wrong"))
        check = by_name(doctor.run_checks(bad, {"bhxh"}))["bhxh"]
        assert check.status == "fail" and "password" in check.hint_en
    finally:
        sim.stop()
    down = replace(config, bhxh=replace(config.bhxh, url=f"http://127.0.0.1:{closed_port()}"))
    check = by_name(doctor.run_checks(down, {"bhxh"}))["bhxh"]
    assert check.status == "fail" and "unreachable" in check.detail


def test_his_unreachable(config):
    c = replace(config, his=replace(config.his, adapter="fhir",
                                    settings={"url": f"http://127.0.0.1:{closed_port()}/fhir"}))
    assert by_name(doctor.run_checks(c, {"his"}))["his"].status == "fail"


def test_outbox_dead_letters_warn(config):
    db = connect(config.database_path)
    db.execute("INSERT INTO registrations (id, idempotency_key, created_at, kiosk_id, "
               "service_code, department, queue_day, queue_seq, queue_number, identity_source, "
               "verification, patient_key, insurance_outcome) VALUES ('r1', 'k1', "
               "'2026-11-23T00:00:00+00:00', 'k', 'KB', 'D', '2026-11-23', 1, 'A-001', 'qr_cccd', "
               "'none', 'p', 'usable')")
    db.execute("INSERT INTO outbox (registration_id, kind, patient_key, state, next_attempt_at, "
               "created_at, updated_at) VALUES ('r1', 'his_register', 'p', 'dead', "
               "'2026-11-23T00:00:00+00:00', '2026-11-23T00:00:00+00:00', "
               "'2026-11-23T00:00:00+00:00')")
    db.conn.close()
    check = by_name(doctor.run_checks(config, {"outbox"}))["outbox"]
    assert check.status == "warn" and "1 dead" in check.detail
    # Not in the HIS: staff see when retention will forget it (7 days after it was made).
    assert "1 registrations not in the HIS, the oldest purged 2026-11-30T00:00+00:00" in \
        check.detail


def test_cli_json_contract(tmp_path):
    proc = run_kiosk("doctor", "--demo", "--json",
                     env={"KIOSK_CONFIG": "", "KIOSK_STATE_DIR": str(tmp_path / "state")},
                     cwd=tmp_path)
    data = json.loads(proc.stdout)
    assert set(data) == {"kiosk_id", "version", "config", "demo", "checked_at", "checks", "ok"}
    assert data["demo"] is True and data["config"] == "built-in demo"
    assert data["kiosk_id"] == "demo-kiosk-01"
    for check in data["checks"]:
        assert set(check) == {"name", "status", "detail", "hint_vi", "hint_en"}
        assert check["status"] in ("pass", "warn", "fail")
    assert proc.returncode == (0 if data["ok"] else 1)
    names = {c["name"] for c in data["checks"]}
    assert {"reader", "camera", "printer", "bhxh", "his", "pcscd", "clock", "disk",
            "outbox", "access", "trust_store", "lobby"} <= names
    assert list(tmp_path.iterdir()) == []  # doctor never creates a folder


def test_an_unprovisioned_machine_is_not_the_demo(tmp_path):
    """No --config, no $KIOSK_CONFIG, no /etc/kiosk/kiosk.toml ($KIOSK_DEFAULT_CONFIG,
    pointed into tmp_path so the machine's own never counts)."""
    env = {"KIOSK_CONFIG": "", "KIOSK_DEFAULT_CONFIG": str(tmp_path / "absent")}
    proc = run_kiosk("doctor", env=env, cwd=tmp_path)
    assert proc.returncode == 6
    assert "this machine is not provisioned" in proc.stderr and "chưa được cấp phát" in \
        proc.stderr
    proc = run_kiosk("doctor", "--json", env=env, cwd=tmp_path)
    data = json.loads(proc.stdout)
    assert proc.returncode == 6 and data["checks"][0]["name"] == "config"
    assert list(tmp_path.iterdir()) == []


def test_trust_store(config, tmp_path):
    from cryptography.hazmat.primitives.serialization import Encoding

    from drivers.virtual.cccd_pki import generate as generate_pki

    empty = tmp_path / "csca"
    empty.mkdir()
    real = replace(config, devices=replace(config.devices, reader="auto"))
    assert doctor.check_trust_store(real).status == "warn"  # not serving patients: a warning
    serving = replace(real, provisioned=True)
    assert doctor.check_trust_store(serving).status == "fail"
    serving = replace(serving, devices=replace(serving.devices, trust_store=str(empty)))
    check = doctor.check_trust_store(serving)
    assert check.status == "fail" and check.detail == f"no CSCA certificate in {empty}"
    (empty / "csca.pem").write_bytes(generate_pki("TEST CSCA").csca_cert.public_bytes(
        Encoding.PEM))
    assert doctor.check_trust_store(serving).detail == f"1 CSCA certificates in {empty}"
    assert doctor.check_reader(replace(serving, devices=replace(
        serving.devices, reader="virtual"))).status == "fail"


def test_reader_check_ignores_virtual_readers_unless_configured(config, pcscd):
    """A real pcscd serving only vsmartcard's reader: a kiosk with `reader = "auto"`
    has no reader a patient can use, and says so instead of "no card"."""
    from drivers.pcsc import list_readers

    names = [r.name for r in list_readers()]
    assert pcscd.reader in names and all(n.startswith("Virtual PCD") for n in names)
    auto = replace(config, devices=replace(config.devices, reader="auto"))
    check = by_name(doctor.run_checks(auto, {"reader"}))["reader"]
    assert check.status == "fail"
    assert check.detail == ("no card reader plugged in (only the test driver's virtual "
                            f"reader: {', '.join(names)})")
    assert "Plug the card reader" in check.hint_en
    named = replace(config, devices=replace(config.devices, reader="Virtual PCD"))
    check = by_name(doctor.run_checks(named, {"reader"}))["reader"]
    assert check.status == "warn" and check.detail.startswith(pcscd.reader)
