"""The kiosk role's least privilege (decision 0072) and TLS to PostgreSQL."""

from __future__ import annotations

import json

import psycopg
import pytest

from tests.cli_helpers import run_json, run_kiosk
from tests.e2e.lobby.conftest import kiosk_config
from tests.e2e.lobby.pg import KIOSK_PASSWORD
from tests.e2e.lobby.test_lobby_cli import register

pytestmark = pytest.mark.e2e
REF = "a" * 32


def kiosk_conn(lobby, role: str = "kiosk_k1") -> psycopg.Connection:
    return psycopg.connect(lobby.url(role), password=KIOSK_PASSWORD, autocommit=True,
                           sslmode="disable")


FORBIDDEN = [
    "INSERT INTO lobby.queue_counters VALUES ('01824', 'NOI', '2026-11-30', 0)",
    "UPDATE lobby.queue_counters SET last_seq = 0",
    "DELETE FROM lobby.queue_numbers",
    "UPDATE lobby.statistics SET value = 0",
    "INSERT INTO lobby.kiosks (facility, kiosk_id, db_role) VALUES ('01824', 'x', 'x')",
    "SELECT * FROM lobby.statistics FOR UPDATE",
    "TRUNCATE lobby.queue_numbers",
    "DROP TABLE lobby.statistics",
    "ALTER TABLE lobby.queue_numbers DROP CONSTRAINT queue_numbers_reg_ref_check",
    "CREATE TABLE lobby.extra (x int)",
    "CREATE TABLE public.extra (x int)",
    "SELECT lobby.claim_kiosk('01824', 'k9')",
    "CREATE TEMP TABLE scratch (x int)",
]


@pytest.mark.parametrize("statement", FORBIDDEN)
def test_the_kiosk_role_may_not(lobby, statement):
    with kiosk_conn(lobby) as conn:
        conn.execute("SELECT queue_seq FROM lobby.take_number_today('01824', 'NOI', 'k1', %s)",
                     [REF])
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(statement)  # type: ignore[arg-type]


def test_the_kiosk_role_may_take_settle_publish_and_read_but_only_its_own(lobby):
    with kiosk_conn(lobby) as k1, kiosk_conn(lobby, "kiosk_k2") as k2:
        assert k1.execute("SELECT queue_seq FROM lobby.take_number_today('01824', 'NOI', 'k1', %s)",
                          [REF]).fetchone() == (1,)
        # asking again with the same reference gives the same number, not a second one
        assert k1.execute("SELECT queue_seq FROM lobby.take_number_today('01824', 'NOI', 'k1', %s)",
                          [REF]).fetchone() == (1,)
        # the kiosks' way (decision 0134): the same again; no way into another's numbers
        assert k1.execute("CALL lobby.take_number_durably('01824', 'NOI', 'k1', %s)",
                          [REF]).fetchone()[1] == 1
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            k2.execute("SELECT lobby.make_takes_durable('01824', 'k1')")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            k2.execute("CALL lobby.take_number_durably('01824', 'NOI', 'k1', %s)", ["c" * 32])
        k2.execute("SELECT queue_seq FROM lobby.take_number_today('01824', 'NOI', 'k2', %s)",
                   ["b" * 32])
        # k2 cannot void k1's number, even naming it; k1 can
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            k2.execute("SELECT lobby.settle_numbers('01824', 'k1', '{}', %s)", [[REF]])
        assert k2.execute("SELECT lobby.settle_numbers('01824', 'k2', '{}', %s)",
                          [[REF]]).fetchone() == (0,)  # not its own: nothing happens
        assert k1.execute("SELECT lobby.settle_numbers('01824', 'k1', '{}', %s)",
                          [[REF]]).fetchone() == (1,)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            k2.execute("SELECT lobby.publish_statistics('01824', 'k1', '2026-11-30', "
                       "'{health_book.offered}', '{5}')")
        # personal data does not fit: the reference must be an opaque hex id
        with pytest.raises(psycopg.errors.CheckViolation):
            k1.execute("SELECT lobby.take_number_today('01824', 'NOI', 'k1', "
                       "'001168000001 Nguyễn Thị Minh Khai')")
        rows = k2.execute("SELECT kiosk_id, state FROM lobby.queue_numbers ORDER BY seq")
        assert rows.fetchall() == [("k1", "void"), ("k2", "taken")]


def test_grants_are_exactly_the_documented_ones(lobby):
    tables = lobby.sql(
        "SELECT table_name, privilege_type FROM information_schema.role_table_grants "
        "WHERE grantee = 'lobby_kiosk' ORDER BY 1, 2")
    assert tables == [(t, "SELECT") for t in ("facilities", "kiosks", "offline_numbers",
                                              "queue_counters", "queue_numbers",
                                              "schema_version", "statistics")]
    functions = lobby.sql(
        "SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
        "WHERE n.nspname = 'lobby' AND has_function_privilege('lobby_kiosk', p.oid, 'EXECUTE') "
        "ORDER BY 1")
    assert functions == [("heartbeat",), ("make_takes_durable",), ("publish_offline_numbers",),
                         ("publish_statistics",), ("settle_numbers",), ("take_number_durably",),
                         ("take_number_once",), ("take_number_once_durably",),
                         ("take_number_today",)]


def test_tls_verified_against_the_hospital_ca(lobby, pg, tmp_path):
    extra = f'sslmode = "verify-full"\nsslrootcert = "{pg.ca_path}"\n'
    config = kiosk_config(tmp_path / "tls", "tls", lobby.url("kiosk_tls"), lobby_extra=extra)
    assert register(config, tmp_path)["queue_number"] == "A-001"
    status = run_json("--config", str(config), "lobby", "status", "--json")
    assert status["reachable"] is True
    with psycopg.connect(lobby.url("kiosk_tls"), password=KIOSK_PASSWORD, sslmode="verify-full",
                         sslrootcert=str(pg.ca_path)) as conn:
        assert conn.execute("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()"
                            ).fetchone() == (True,)

    # a server certificate from another CA is refused: the kiosk goes on offline
    wrong = f'sslmode = "verify-full"\nsslrootcert = "{pg.other_ca_path}"\n'
    config = kiosk_config(tmp_path / "wrong", "tls", lobby.url("kiosk_tls"), lobby_extra=wrong)
    proc = run_kiosk("--config", str(config), "lobby", "status", "--json")
    assert proc.returncode == 6 and "certificate" in json.loads(proc.stdout)["error"]
    assert register(config, tmp_path)["queue_number"] == "A-tls-001"

    # pg_hba admits this role over TLS only: without it, a refusal (exit 6), not an outage
    plain = kiosk_config(tmp_path / "plain", "tls", lobby.url("kiosk_tls"),
                         lobby_extra='sslmode = "disable"\n')
    proc = run_kiosk("--config", str(plain), "lobby", "status")
    assert proc.returncode == 6, proc.stderr
    assert "pg_hba" in proc.stdout
