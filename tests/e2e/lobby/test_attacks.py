"""One kiosk's login against the others (issue 26): every attack is refused or bounded,
and the other kiosks keep their shared numbers meanwhile."""

from __future__ import annotations

import time

import psycopg
import pytest

from kiosk.lobby.client import LobbyClient, LobbyRateLimited
from tests.cli_helpers import run_kiosk
from tests.e2e.lobby.conftest import kiosk_config
from tests.e2e.lobby.pg import KIOSK_CONNECTION_LIMIT, KIOSK_PASSWORD, OWNER, OWNER_PASSWORD

pytestmark = pytest.mark.e2e
TAKE = "SELECT queue_seq FROM lobby.take_number_today('01824', 'NOI', %s, %s)"


def conn_as(lobby, role: str, **kwargs) -> psycopg.Connection:
    return psycopg.connect(lobby.url(role), password=KIOSK_PASSWORD, sslmode="disable",
                           **{"autocommit": True, **kwargs})


def ref(n: int) -> str:
    return f"{n:032x}"


def shared_number_for_k2(lobby, n: int) -> int:
    with conn_as(lobby, "kiosk_k2") as k2:
        return int(k2.execute(TAKE, ["k2", ref(10_000 + n)]).fetchone()[0])


def test_a_login_cannot_act_as_another_kiosk_or_invent_one(lobby):
    with conn_as(lobby, "kiosk_k1") as k1:
        for statement in ("SELECT lobby.heartbeat('01824', 'k3', 'x')",
                          "SELECT lobby.heartbeat('01824', 'k9', 'x')",
                          "SELECT lobby.publish_statistics('01824', 'k9', current_date, "
                          "'{health_book.offered}', '{9223372036854775807}')",
                          "SELECT queue_seq FROM lobby.take_number_today('01824', 'NOI', "
                          f"'k3', '{ref(1)}')",
                          # the day is not the kiosk's to choose any more
                          f"SELECT lobby.take_number('01824', 'NOI', '2099-01-01', 'k1', "
                          f"'{ref(2)}')"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                k1.execute(statement)  # type: ignore[arg-type]
    assert lobby.sql("SELECT count(*) FROM lobby.statistics") == [(0,)]
    assert lobby.sql("SELECT last_heartbeat FROM lobby.kiosks WHERE kiosk_id = 'k3'") == [
        (None,)]
    with conn_as(lobby, "kiosk_k3") as k3:  # k3 itself is untouched
        assert k3.execute(TAKE, ["k3", ref(3)]).fetchone() == (1,)


STATISTICS_ABUSE = [
    "SELECT lobby.publish_statistics('01824', 'k1', current_date, "
    "'{health_book.offered}', '{9223372036854775807}')",
    "SELECT lobby.publish_statistics('01824', 'k1', current_date + 30, "
    "'{health_book.offered}', '{1}')",
    "SELECT lobby.publish_statistics('01824', 'k1', current_date, "
    "(SELECT array_agg('m' || i) FROM generate_series(1, 101) i), "
    "(SELECT array_agg(1::bigint) FROM generate_series(1, 101) i))",
]


def test_statistics_are_bounded_per_metric_and_day(lobby):
    with conn_as(lobby, "kiosk_k1") as k1:
        for statement in STATISTICS_ABUSE:
            with pytest.raises(psycopg.errors.InvalidParameterValue):
                k1.execute(statement)  # type: ignore[arg-type]
        assert k1.execute("SELECT lobby.publish_statistics('01824', 'k1', current_date, "
                          "'{health_book.offered}', '{1000000}')").fetchone() == (1,)


def test_taking_numbers_in_a_loop_is_rate_limited_and_refusals_print_offline(lobby, tmp_path,
                                                                             caplog):
    lobby.sql("UPDATE lobby.kiosks SET max_per_minute = 30 WHERE kiosk_id = 'k1'")
    refused = 0
    with conn_as(lobby, "kiosk_k1") as k1:
        for n in range(200):
            try:
                k1.execute(TAKE, ["k1", ref(n)])
            except psycopg.errors.ConfigurationLimitExceeded:
                refused += 1
    # a fixed one-minute window: 30, or 60 when the loop straddles a minute
    taken = lobby.sql("SELECT last_seq FROM lobby.queue_counters")[0][0]
    assert taken in (30, 60) and refused == 200 - taken
    assert lobby.sql("SELECT count(*) FROM lobby.queue_counters") == [(1,)]  # no tomorrow
    assert shared_number_for_k2(lobby, 1) == taken + 1

    from tests.e2e.lobby.test_numbers import Kiosk

    kiosk = Kiosk(kiosk_config(tmp_path / "k1", "k1", lobby.url("kiosk_k1")))
    try:
        assert kiosk.lobby is not None
        with pytest.raises(LobbyRateLimited):
            kiosk.lobby.take_number("NOI", ref(999))
        with caplog.at_level("WARNING", logger="kiosk.services.registration"):
            assert kiosk.register()[0] == "A-k1-001"  # the patient still gets a ticket
        assert any("refused" in r.getMessage() and "limit of 30" in r.getMessage()
                   for r in caplog.records)
        assert kiosk.lobby.breaker.state == "closed"  # the server is up: no breaker
    finally:
        kiosk.close()


def test_a_transaction_left_open_does_not_stop_the_other_kiosks(lobby, tmp_path):
    bystander = conn_as(lobby, "kiosk_k3")  # idle, not in a transaction: left alone
    squatter = conn_as(lobby, "kiosk_k1", autocommit=False)
    squatter.execute(TAKE, ["k1", ref(1)])
    # it lifts the database's idle-in-transaction bound for itself and sits on the row
    squatter.execute("SET idle_in_transaction_session_timeout = 0")
    k2 = LobbyClient.from_config(__import__("kiosk.config", fromlist=["load_file"]).load_file(
        kiosk_config(tmp_path / "k2", "k2", lobby.url("kiosk_k2"))))
    assert k2 is not None and k2.warm(wait_s=5)
    try:
        numbers = []
        for n in range(3):
            try:
                numbers.append(k2.take_number("NOI", ref(100 + n))[1])
            except Exception as exc:  # the first one may pay for the eviction
                numbers.append(type(exc).__name__)  # type: ignore[arg-type]
        assert numbers[1:] == [2, 3] or numbers == [2, 3, 4], numbers
        with pytest.raises(psycopg.OperationalError):  # the squatter was ended
            squatter.execute("SELECT 1")
        assert bystander.execute("SELECT 1").fetchone() == (1,)
    finally:
        k2.close()
        squatter.close()
        bystander.close()


def test_a_login_cannot_exhaust_the_servers_connections(lobby):
    held = [conn_as(lobby, "kiosk_k1") for _ in range(KIOSK_CONNECTION_LIMIT)]
    try:
        with pytest.raises(psycopg.OperationalError, match="too many connections for role"):
            conn_as(lobby, "kiosk_k1")
        assert shared_number_for_k2(lobby, 1) == 1
        # and every session of a kiosk login is bounded
        settings = held[0].execute(
            "SELECT current_setting('statement_timeout'), current_setting('lock_timeout'), "
            "current_setting('idle_in_transaction_session_timeout')").fetchone()
        assert settings == ("5s", "1s", "5s")
    finally:
        for conn in held:
            conn.close()


def test_init_waits_for_its_lock_a_bounded_time_and_names_the_holder(lobby, tmp_path):
    with conn_as(lobby, "kiosk_k1") as k1:
        k1.execute("SELECT pg_advisory_lock(7014001)")
        config = kiosk_config(tmp_path / "owner", "init", None)
        began = time.monotonic()
        proc = run_kiosk("--config", str(config), "lobby", "init", "--url", lobby.url(OWNER),
                         "--lock-wait", "1", env={"PGPASSWORD": OWNER_PASSWORD})
        assert proc.returncode == 5, proc.stderr
        assert "login kiosk_k1" in proc.stderr and "advisory 7014001" in proc.stderr
        assert time.monotonic() - began < 15
        assert shared_number_for_k2(lobby, 1) == 1


def test_numbers_a_dead_kiosk_left_taken_are_voided_by_the_server(lobby):
    with conn_as(lobby, "kiosk_k1") as k1:
        k1.execute(TAKE, ["k1", ref(1)])
        k1.execute(TAKE, ["k1", ref(2)])
    lobby.sql(f"UPDATE lobby.queue_numbers SET taken_at = now() - interval '11 minutes' "
              f"WHERE reg_ref = '{ref(1)}'")
    with conn_as(lobby, "kiosk_k2") as k2:  # any kiosk's heartbeat
        k2.execute("SELECT lobby.heartbeat('01824', 'k2', 'v')")
    assert lobby.sql("SELECT seq, state, voided_by FROM lobby.queue_numbers ORDER BY seq") == [
        (1, "void", "server"), (2, "taken", None)]


def test_the_owner_provisions_kiosks_and_retires_them(bare_lobby, pg, tmp_path):
    pg.sql("DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'kiosk_open') "
           f"THEN CREATE ROLE kiosk_open LOGIN PASSWORD '{KIOSK_PASSWORD}' IN ROLE lobby_kiosk;"
           " END IF; END $$")
    config = kiosk_config(tmp_path / "k1", "k1", bare_lobby.url("kiosk_k1"))

    def lobby_cli(*args: str):
        return run_kiosk("--config", str(config), "lobby", *args, "--url",
                         bare_lobby.url(OWNER), env={"PGPASSWORD": OWNER_PASSWORD})

    from kiosk.config import load_file
    from kiosk.lobby.client import LobbyRefused

    client = LobbyClient.from_config(load_file(config))
    assert client is not None
    try:
        # no first-come claiming: an unprovisioned kiosk id gets no shared number
        with pytest.raises(LobbyRefused, match="not provisioned"):
            client.take_number("NOI", ref(1))
        unlimited = lobby_cli("add-kiosk", "k1", "--login", "kiosk_open")
        assert unlimited.returncode == 6 and "CONNECTION LIMIT" in unlimited.stderr
        done = lobby_cli("add-kiosk", "k1", "--login", "kiosk_k1")
        assert done.returncode == 0, done.stderr
        assert "login kiosk_k1" in done.stdout
        assert bare_lobby.sql("SELECT facility, timezone FROM lobby.facilities") == [
            ("01824", "Asia/Ho_Chi_Minh")]
        taken = lobby_cli("add-kiosk", "k1", "--login", "kiosk_k2")
        assert taken.returncode == 6 and "already belongs to login kiosk_k1" in taken.stderr
        assert client.take_number("NOI", ref(2))[1] == 1
        assert lobby_cli("remove-kiosk", "k1").returncode == 0
        with pytest.raises(LobbyRefused, match="not provisioned"):
            client.take_number("NOI", ref(3))
    finally:
        client.close()


def test_a_v1_lobby_migrates_and_keeps_its_kiosks_bindings(pg):
    """Kiosks that claimed their ids under v1 keep them; the owner then records the
    facility's zone (`add-kiosk`), until which the kiosks print offline numbers."""
    from kiosk.config.model import LobbyConfig
    from kiosk.lobby.admin import add_kiosk, init
    from kiosk.lobby.schema import LATEST, MIGRATIONS

    db = pg.new_database()
    with psycopg.connect(pg.url(OWNER, db), password=OWNER_PASSWORD, autocommit=True,
                         sslmode="disable") as owner:
        owner.execute(MIGRATIONS[0][1])  # type: ignore[arg-type]
        owner.execute("INSERT INTO lobby.schema_version (version) VALUES (1)")
    with psycopg.connect(pg.url("kiosk_k1", db), password=KIOSK_PASSWORD, autocommit=True,
                         sslmode="disable") as k1:
        k1.execute("SELECT lobby.take_number('01824', 'NOI', current_date, 'k1', %s)",
                   [ref(1)])
    config = LobbyConfig(url=pg.url(OWNER, db), password=OWNER_PASSWORD)
    result = init(config)
    assert (result.before, result.after) == (1, LATEST)
    with psycopg.connect(pg.url("kiosk_k1", db), password=KIOSK_PASSWORD, autocommit=True,
                         sslmode="disable") as k1:
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="no time zone"):
            k1.execute(TAKE, ["k1", ref(2)])
        add_kiosk(config, "01824", "Asia/Ho_Chi_Minh", "k1", "kiosk_k1")
        assert k1.execute(TAKE, ["k1", ref(2)]).fetchone() == (2,)
