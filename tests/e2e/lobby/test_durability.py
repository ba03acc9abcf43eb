"""A number is on the lobby server's disk before the kiosk prints it (decision 0134),
though it is taken in a transaction that commits without waiting for the WAL flush:
PostgreSQL killed with SIGKILL right after a kiosk printed never gives that number out
again.

The test server runs with `synchronous_commit = off` (conftest: speed), so nothing but
the take's own synchronous second step can save a printed number here; the first test
also shows that the same kill loses a take that lacks it."""

from __future__ import annotations

import multiprocessing
import time
import uuid
from collections import Counter
from pathlib import Path

import psycopg
import pytest

from kiosk.config import load_file
from kiosk.store import connect
from tests.e2e.lobby.conftest import kiosk_config
from tests.e2e.lobby.pg import KIOSK_PASSWORD
from tests.e2e.lobby.test_concurrency import _wait_for, assert_gap_free, local_rows, settle_all
from tests.e2e.lobby.test_numbers import Kiosk
from tests.e2e.lobby.workers import read_log, register_loop

pytestmark = pytest.mark.e2e

HOLDING_KEY = "5e" * 32  # the lobby's shared secret (test_one_number's)
# The WAL writer writes asynchronous commits every wal_writer_delay (200 ms by default);
# 10 s keeps it from saving the control's take in the few ms before the kill.
SLOW_WAL_WRITER = {"wal_writer_delay": "'10s'", "autovacuum": "off"}


def _counter(lobby, department: str) -> int:
    rows = lobby.sql("SELECT coalesce(max(last_seq), 0) FROM lobby.queue_counters "
                     f"WHERE facility = '01824' AND department = '{department}'")
    return int(rows[0][0])  # type: ignore[call-overload]


def _crash_and_restart(pg) -> None:
    pg.crash()
    pg.start()


def _take_asynchronously(lobby, kiosk: str) -> int:
    """What a take without the flush step would be: committed, not on disk."""
    with psycopg.connect(lobby.url(f"kiosk_{kiosk}"), password=KIOSK_PASSWORD,
                         autocommit=True) as conn:
        # some WAL for the writer: it leaves its idle sleep (which any commit would
        # cut short) and writes this, then sleeps wal_writer_delay
        conn.execute("SELECT lobby.heartbeat('01824', %s, 'x')", [kiosk])
        time.sleep(0.1)
        conn.execute("BEGIN")
        conn.execute("SET LOCAL synchronous_commit = off")
        seq = conn.execute("SELECT queue_seq FROM lobby.take_number_today('01824', 'ASYNC', "
                           "%s, %s)", [kiosk, uuid.uuid4().hex]).fetchone()[0]
        conn.execute("COMMIT")
    return int(seq)


def test_a_printed_number_survives_kill_9_of_postgresql(lobby, pg, tmp_path):
    for name, value in SLOW_WAL_WRITER.items():
        pg.sql(f"ALTER SYSTEM SET {name} = {value}")
    pg.sql("SELECT pg_reload_conf()")
    pg.sql("CHECKPOINT")  # the fixture's lobby (committed asynchronously here) on disk
    try:
        # Control: the kill loses a committed take that was never flushed. (The WAL
        # writer may still have written it in the instant before the kill: three tries.)
        for _ in range(3):
            seq = _take_asynchronously(lobby, "k3")
            _crash_and_restart(pg)
            if _counter(lobby, "ASYNC") < seq:
                break
        else:
            pytest.fail("kill -9 lost no unflushed take: the test below would prove nothing")

        # The kiosk's take (one number per patient across the lobby: through
        # take_number_once_durably; the test below goes through take_number_durably):
        # printed, then PostgreSQL killed at once.
        k1 = Kiosk(kiosk_config(tmp_path / "k1", "k1", lobby.url("kiosk_k1"),
                                holding_key=HOLDING_KEY))
        try:
            number, _ = k1.register()
            reg = k1.db.execute("SELECT id, department, queue_seq FROM registrations "
                                "WHERE queue_number = ?", [number]).fetchone()
            _crash_and_restart(pg)
        finally:
            k1.close()
        ref, department, seq = reg
        assert number == "A-001" and seq == 1
        assert lobby.sql(f"SELECT seq FROM lobby.queue_numbers WHERE reg_ref = '{ref}'") == [
            (seq,)]
        assert _counter(lobby, department) >= seq
        assert lobby.sql(f"SELECT count(*) FROM lobby.holdings WHERE reg_ref = '{ref}'") == [
            (1,)]  # taken through take_number_once_durably, and kept with its number
        k2 = Kiosk(kiosk_config(tmp_path / "k2", "k2", lobby.url("kiosk_k2")))
        try:
            assert k2.register()[0] == "A-002"  # not A-001 a second time
        finally:
            k2.close()
    finally:
        for name in SLOW_WAL_WRITER:
            pg.sql(f"ALTER SYSTEM RESET {name}")
        pg.sql("SELECT pg_reload_conf()")


def test_kill_9_of_postgresql_mid_run_prints_no_number_twice(lobby, pg, tmp_path):
    """Two kiosks registering back to back; PostgreSQL killed under them and restarted:
    every shared number printed before the kill is still the lobby's, none is printed
    again, and the day stays gap-free once the kiosks settle."""
    configs = [kiosk_config(tmp_path / f"k{i}", f"k{i}", lobby.url(f"kiosk_k{i}"))
               for i in (1, 2)]
    for c in configs:
        connect(load_file(c).database_path).conn.close()
    pg.sql("CHECKPOINT")  # the fixture's lobby (committed asynchronously here) on disk
    ctx = multiprocessing.get_context("spawn")
    stop = tmp_path / "stop"
    logs = [tmp_path / f"log{i}" for i in range(2)]
    procs = [ctx.Process(target=register_loop,
                         args=(None, str(configs[i]), 100_000, str(logs[i]), i, 0.0, 0.3,
                               0.0, str(stop)))
             for i in range(2)]
    for p in procs:
        p.start()
    try:
        _wait_for(lambda: all(len(read_log(log)) >= 20 for log in logs), 60)
        pg.crash()
        before = [r for log in logs for r in read_log(log)]
    finally:
        pg.start()
    marks = [len(read_log(log)) for log in logs]
    _wait_for(lambda: all(any("-k" not in r["number"] for r in read_log(log)[mark:])
                          for log, mark in zip(logs, marks, strict=True)), 60)
    stop.touch()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    shared_before = [r for r in before if f"-{r['kiosk']}-" not in r["number"]]
    kept = {str(ref) for (ref,) in lobby.sql("SELECT reg_ref FROM lobby.queue_numbers")}
    assert shared_before and all(r["id"] in kept for r in shared_before)
    printed = [r for log in logs for r in read_log(log)]
    numbers = Counter(r["number"] for r in printed)
    assert max(numbers.values()) == 1, numbers.most_common(3)
    rows = {r[0]: r for c in configs for r in local_rows(c)}
    assert all(rows[r["id"]][4] == r["number"] for r in printed)
    settle_all([Path(c) for c in configs])
    assert_gap_free(lobby)
