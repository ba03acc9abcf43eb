"""`kiosk lobby init|status` and `kiosk register` with a lobby, as real subprocesses
against a real PostgreSQL server on 127.0.0.1."""

from __future__ import annotations

import json
import sqlite3

import pytest

from kiosk.lobby.schema import LATEST, MIGRATIONS
from tests.cli_helpers import run_json, run_kiosk
from tests.e2e.lobby.conftest import kiosk_config
from tests.e2e.lobby.pg import OWNER, OWNER_PASSWORD, free_port

pytestmark = pytest.mark.e2e

CARD = {"id_number": "001168000001", "full_name": "Nguyễn Thị Minh Khai",
        "date_of_birth": "1968-03-14", "sex": "Nữ", "nationality": "Việt Nam",
        "ethnicity": "Kinh", "residence": "Số 12 Phố Huế, Hai Bà Trưng, Hà Nội",
        "issue_date": "2021-07-10", "expiry_date": "2028-03-14", "old_id_number": None,
        "authentication": {"access": "PACE", "passive": "verified", "active": True}}


_patients = iter(range(1, 10_000))


def patient(tmp_path):
    """A different patient per call: one patient gets one number per service and day."""
    path = tmp_path / "p.json"
    card = {**CARD, "id_number": f"0011680{next(_patients):05d}"}
    path.write_text(json.dumps(card, ensure_ascii=False), encoding="utf-8")
    return str(path)


STATUS_KEYS = {"url", "state", "reachable", "schema_version", "facility", "day", "error",
               "server_time", "kiosks", "departments"}


def register(config, tmp_path, service="KB-NOI"):
    return run_json("--config", str(config), "register", "--patient", patient(tmp_path),
                    "--service", service, "--json")


def test_init_again_changes_nothing_and_exit_codes(lobby, pg, tmp_path):
    config = kiosk_config(tmp_path / "k", "k1", lobby.url("kiosk_k1"))
    owner_url = lobby.url(OWNER)
    again = run_kiosk("--config", str(config), "lobby", "init", "--url", owner_url,
                      env={"PGPASSWORD": OWNER_PASSWORD})
    assert again.returncode == 0, again.stderr
    assert "nothing changed" in again.stdout
    assert lobby.sql("SELECT version FROM lobby.schema_version ORDER BY 1") == [
        (version,) for version, _ in MIGRATIONS]

    wrong = run_kiosk("--config", str(config), "lobby", "init", "--url", owner_url,
                      env={"PGPASSWORD": "wrong"})
    assert wrong.returncode == 6, wrong.stderr
    assert "password" in wrong.stderr
    # the kiosk's own login may not create or change the schema
    as_kiosk = run_kiosk("--config", str(config), "lobby", "init")
    assert as_kiosk.returncode == 0, as_kiosk.stderr  # nothing to do: allowed to say so
    fresh = pg.new_database()
    refused = run_kiosk("--config", str(config), "lobby", "init", "--url",
                        pg.url("kiosk_k1", fresh), env={"PGPASSWORD": "kiosk-pw"})
    assert refused.returncode == 6, refused.stderr
    down = run_kiosk("--config", str(config), "lobby", "init", "--url",
                     f"postgresql://{OWNER}@127.0.0.1:{free_port()}/x",
                     env={"PGPASSWORD": OWNER_PASSWORD})
    assert down.returncode == 5, down.stderr
    assert "unreachable" in down.stderr
    # no password anywhere (no terminal to ask on): a configuration problem, not an outage
    bare = run_kiosk("--config", str(config), "lobby", "init", "--url", owner_url,
                     env={"PGPASSWORD": "", "HOME": str(tmp_path)})
    assert bare.returncode == 6 and "no password for lobby_owner" in bare.stderr


def test_two_kiosks_share_one_queue_and_status_shows_them(lobby, tmp_path):
    k1 = kiosk_config(tmp_path / "k1", "k1", lobby.url("kiosk_k1"))
    k2 = kiosk_config(tmp_path / "k2", "k2", lobby.url("kiosk_k2"))
    numbers = [register(k1, tmp_path)["queue_number"], register(k2, tmp_path)["queue_number"],
               register(k1, tmp_path)["queue_number"],
               register(k2, tmp_path, "KB-NGOAI")["queue_number"]]
    assert numbers == ["A-001", "A-002", "A-003", "B-001"]
    # the local record (the HIS's source of truth) holds the shared number
    with sqlite3.connect(tmp_path / "k2" / "state" / "kiosk.sqlite3") as conn:
        assert conn.execute("SELECT queue_number, queue_source FROM registrations "
                            "ORDER BY created_at").fetchall() == [
            ("A-002", "lobby"), ("B-001", "lobby")]
    # no personal data reached the lobby database
    dump = json.dumps(lobby.sql("SELECT * FROM lobby.queue_numbers"), default=str)
    assert "001168000001" not in dump and "Khai" not in dump

    sync = run_kiosk("--config", str(k1), "sync", "--once", "--json")
    assert sync.returncode == 0, sync.stderr
    status = run_json("--config", str(k1), "lobby", "status", "--json")
    assert status["reachable"] is True and status["schema_version"] == LATEST
    assert [k["kiosk_id"] for k in status["kiosks"]] == ["k1", "k2", "k3", "k4", "tls"]
    beats = {k["kiosk_id"]: k["last_heartbeat"] for k in status["kiosks"]}
    assert beats["k1"] is not None and beats["k2"] is None  # k2's daemon never ran
    assert beats["k1"].endswith("+07:00")  # the facility's time, not UTC
    assert set(status) == STATUS_KEYS and status["state"] == "ok"
    depts = {d["department"]: d for d in status["departments"]}
    assert depts["NOI"]["last_number"] == "A-003" and depts["NOI"]["last_seq"] == 3
    assert depts["NGOAI"]["last_number"] == "B-001"
    text = run_kiosk("--config", str(k1), "lobby", "status")
    assert text.returncode == 0 and "A-003" in text.stdout


def test_status_and_register_with_the_server_away(tmp_path):
    url = f"postgresql://kiosk_k1@127.0.0.1:{free_port()}/lobby"
    config = kiosk_config(tmp_path / "k1", "k1", url)
    status = run_kiosk("--config", str(config), "lobby", "status", "--json")
    assert status.returncode == 5
    away = json.loads(status.stdout)
    assert away["reachable"] is False and away["state"] == "unreachable"
    assert set(away) == STATUS_KEYS  # one shape, whatever the state
    # registration goes on: an offline number carrying the kiosk id, printed normally
    out = register(config, tmp_path)
    assert out["queue_number"] == "A-k1-001" and out["printed"] is True
    assert register(config, tmp_path)["queue_number"] == "A-k1-002"


def test_no_lobby_section_numbers_locally_as_before(tmp_path):
    config = kiosk_config(tmp_path / "k", "k1", None)
    assert [register(config, tmp_path)["queue_number"] for _ in range(2)] == ["A-001", "A-002"]
    proc = run_kiosk("--config", str(config), "lobby", "status")
    assert proc.returncode == 6 and "[lobby]" in proc.stderr


def test_doctor_lobby_check(lobby, pg, tmp_path, monkeypatch):
    from kiosk.config import load_file
    from kiosk.ops.doctor import run_checks

    def check(path):
        (result,) = run_checks(load_file(path), {"lobby"})
        return result

    good = check(kiosk_config(tmp_path / "a", "k1", lobby.url("kiosk_k1"),
                              holding_key="ab" * 32))
    assert good.status == "pass" and f"schema v{LATEST}" in good.detail
    keyless = check(kiosk_config(tmp_path / "h", "k1", lobby.url("kiosk_k1")))
    assert keyless.status == "warn" and "holding_key" in keyless.hint_en  # decision 0143
    away = check(kiosk_config(tmp_path / "b", "k1",
                              f"postgresql://kiosk_k1@127.0.0.1:{free_port()}/lobby"))
    assert away.status == "warn" and "ki-ốt vẫn cấp số" in away.hint_vi
    refused = check(kiosk_config(tmp_path / "c", "k1", lobby.url("kiosk_k1"), password="no"))
    assert refused.status == "fail" and "[lobby] password" in refused.hint_en
    fresh = pg.new_database()
    uninit = check(kiosk_config(tmp_path / "d", "k1", pg.url("kiosk_k1", fresh)))
    assert uninit.status == "fail" and "kiosk lobby init" in uninit.hint_en
    assert check(kiosk_config(tmp_path / "e", "k1", None)).status == "pass"
    missing = check(kiosk_config(tmp_path / "f", "k1", pg.url("kiosk_k1", "no_such_db")))
    assert missing.status == "fail" and "database name" in missing.detail
    stranger = check(kiosk_config(tmp_path / "g", "k9", lobby.url("kiosk_k1")))
    assert stranger.status == "fail" and "add-kiosk k9" in stranger.hint_en

    # this kiosk's clock against the server's: 2 s is a warning, 30 s a failure
    import time

    real = time.time
    for skew, status in ((10.0, "warn"), (-45.0, "fail")):
        monkeypatch.setattr(time, "time", lambda skew=skew: real() + skew)
        skewed = check(kiosk_config(tmp_path / "a", "k1", lobby.url("kiosk_k1")))
        assert skewed.status == status and "NTP" in skewed.hint_en, skewed
        shown = float(skewed.detail.split("clock ")[1].split(" s")[0])
        assert abs(shown - skew) < 1.0  # within the query's round trip


def test_init_from_a_laptop_verifies_the_server_and_reads_the_password_file(lobby, tmp_path):
    """Issue 25: off loopback the owner's `init --url` needs the CA (verify-full); the
    password may come from a file; an unknown host is a misconfiguration (exit 6)."""
    config = kiosk_config(tmp_path / "k", "k1", None)
    remote = f"postgresql://{OWNER}@lobby.benhvien.invalid:5432/lobby"
    no_ca = run_kiosk("--config", str(config), "lobby", "init", "--url", remote,
                      env={"PGPASSWORD": OWNER_PASSWORD})
    assert no_ca.returncode == 6 and "--sslrootcert" in no_ca.stderr
    ca = tmp_path / "ca.pem"
    ca.write_text("not used: the name does not resolve\n")
    unknown = run_kiosk("--config", str(config), "lobby", "init", "--url", remote,
                        "--sslrootcert", str(ca), env={"PGPASSWORD": OWNER_PASSWORD})
    assert unknown.returncode == 6 and "host name" in unknown.stderr, unknown.stderr
    secret = tmp_path / "owner-password"
    secret.write_text(OWNER_PASSWORD + "\n")
    from_file = run_kiosk("--config", str(config), "lobby", "init", "--url",
                          lobby.url(OWNER), "--password-file", str(secret),
                          env={"PGPASSWORD": ""})
    assert from_file.returncode == 0 and "nothing changed" in from_file.stdout
