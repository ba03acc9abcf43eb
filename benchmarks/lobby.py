"""Lobby queue numbers (issues 14 and 26).

1. Number allocation latency, p50/p99, with 1, 4 and 16 kiosk processes taking numbers
   of the same department at once from a real PostgreSQL 15 on loopback (fsync on,
   scram-sha-256, TLS negotiated as `sslmode = prefer` does), against the local SQLite
   allocator in the same run: each process numbering in its own kiosk file (BEGIN
   IMMEDIATE, WAL, synchronous=FULL), which is what every kiosk does without a lobby.
2. The same burst from pgbench (C clients, one process and login per kiosk): the
   server's answer without n Python kiosks competing with it for the 2 cores.
3. Time to decide "offline": PostgreSQL stopped (connections refused) and PostgreSQL
   hanging (a loopback proxy that stops forwarding: packets dropped, nothing refused),
   for the first patient (target ≤ 300 ms) and the next while the breaker is open
   (target ≤ 5 ms).

Since issue 26 each process is its own kiosk with its own login (CONNECTION LIMIT 4, as
docs/deployment.md has the DBA create them), provisioned by `add_kiosk`, and a number
is `lobby.take_number_today` (the server's day, the per-kiosk rate limit, ownership).

Allocation runs twice: back to back (every process takes numbers as fast as it can:
a stress far beyond any lobby) and paced (`--pace-ms`, 50 by default: each kiosk one
number every 50 ms, still ~600 times a busy kiosk's rate).

Since schema v4 (decision 0134) a kiosk takes a number with `lobby.take_number_durably`:
the take commits without waiting for the WAL flush, then a synchronous rewrite of the
number flushes it. Each row runs it against the previous way in the same run ("at
commit": `take_number_today` alone, the department's counter row held through its
commit's WAL flush), with the ratio of their p99 and the WAL flushes (fsync calls,
pg_stat_wal) per 100 numbers. The 1-minute load average is printed at the start (above
~1: other work was running, the figures are "under load", not idle) and after each row
(it then counts this benchmark's own 2 × N processes too).

Usage: python benchmarks/lobby.py [--calls 200] [--kiosks 1,4,16] [--pace-ms 50]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kiosk.config.model import LobbyConfig
from kiosk.lobby.admin import add_kiosk, init
from kiosk.lobby.client import LobbyClient, LobbyUnavailable
from tests.e2e.lobby.pg import (
    BIN,
    KIOSK_PASSWORD,
    OWNER,
    OWNER_PASSWORD,
    PgCluster,
)
from tests.e2e.lobby.proxy import BlackholeProxy

DAY = "2026-11-30"


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


AT_COMMIT = "SELECT * FROM lobby.take_number_today(%s, %s, %s, %s)"  # before v4


def _lobby_worker(start: Any, out: Any, url: str, pace_s: float, at_commit: bool,
                  kiosk: str, calls: int) -> None:
    url = url.replace("kiosk_b", f"kiosk_{kiosk}")  # each kiosk its own login
    client = LobbyClient(LobbyConfig(url=url, password=KIOSK_PASSWORD, timeout_ms=10_000),
                         "01824", kiosk)
    client.warm(wait_s=30)
    start.wait()
    times = []
    for _ in range(calls):
        ref = uuid.uuid4().hex
        began = time.perf_counter()
        if at_commit:
            client.call(lambda conn, r=ref: conn.execute(AT_COMMIT, ["01824", "NOI", kiosk, r])
                        .fetchone())
        else:
            client.take_number("NOI", ref)
        times.append((time.perf_counter() - began) * 1000)
        if pace_s:
            time.sleep(pace_s)
    client.close()
    out.put(times)


def _sqlite_worker(start: Any, out: Any, directory: str, pace_s: float, kiosk: str,
                   calls: int) -> None:
    from kiosk.store import connect, transaction

    db = connect(Path(directory) / kiosk / "kiosk.sqlite3")
    start.wait()
    times = []
    for _ in range(calls):
        began = time.perf_counter()
        with transaction(db) as conn:
            conn.execute("INSERT INTO queue_counters (department, day, last_seq) "
                         "VALUES (?, ?, 1) ON CONFLICT (department, day) "
                         "DO UPDATE SET last_seq = last_seq + 1 RETURNING last_seq",
                         ["NOI", DAY]).fetchone()
        times.append((time.perf_counter() - began) * 1000)
        if pace_s:
            time.sleep(pace_s)
    db.conn.close()
    out.put(times)


def _run(target: Any, n: int, args: tuple[Any, ...], calls: int) -> list[float]:
    ctx = multiprocessing.get_context("spawn")
    start, out = ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=target, args=(start, out, *args, f"b{i}", calls))
             for i in range(n)]
    for p in procs:
        p.start()
    time.sleep(0.5)
    start.set()
    times = [t for _ in procs for t in out.get(timeout=600)]
    for p in procs:
        p.join(60)
    return times


def _lobby_run(pg: PgCluster, db: str, n: int, pace_ms: float, at_commit: bool,
               calls: int) -> tuple[list[float], float]:
    """Latencies (ms) and WAL flushes per 100 numbers."""
    pg.sql("SELECT pg_stat_reset_shared('wal')")
    times = _run(_lobby_worker, n, (pg.url("kiosk_b", db), pace_ms / 1000, at_commit), calls)
    flushes = int(pg.sql("SELECT wal_sync FROM pg_stat_wal")[0][0])  # type: ignore[call-overload]
    return times, 100 * flushes / len(times)


def allocation(pg: PgCluster, db: str, kiosks: list[int], calls: int, pace_ms: float
               ) -> None:
    print("                  lobby, v4 (0134)         at commit (before)       p99      "
          "sqlite")
    print("kiosks  pace ms   p50    p99  flush/100   p50    p99  flush/100   before/v4  "
          "p50    p99  load after")
    with tempfile.TemporaryDirectory(dir=".") as tmp:
        for pace in (0.0, pace_ms):
            for n in kiosks:
                new, new_flushes = _lobby_run(pg, db, n, pace, False, calls)
                old, old_flushes = _lobby_run(pg, db, n, pace, True, calls)
                local = _run(_sqlite_worker, n, (tmp, pace / 1000), calls)
                np99, op99 = _pct(new, 0.99), _pct(old, 0.99)
                print(f"{n:>6}  {pace:>7.0f}  {statistics.median(new):>5.2f} {np99:>6.2f}"
                      f"  {new_flushes:>8.0f}  {statistics.median(old):>5.2f} {op99:>6.2f}"
                      f"  {old_flushes:>8.0f}   {op99 / np99:>8.2f}x  "
                      f"{statistics.median(local):>5.2f} {_pct(local, 0.99):>6.2f}"
                      f"  {os.getloadavg()[0]:>5.1f}")


def _pgbench(pg: PgCluster, db: str, n: int, calls: int, sql: str, tmp: Path) -> list[float]:
    """Latencies (ms) of `n` pgbench processes at once, one kiosk and login each."""
    procs = []
    for i in range(n):
        script = tmp / f"b{i}.sql"
        script.write_text(sql.format(kiosk=f"b{i}") + "\n")
        procs.append(subprocess.Popen(
            [str(BIN / "pgbench"), "-n", "-c", "1", "-t", str(calls), "-M", "extended",
             "-f", str(script), "-l", "--log-prefix", str(tmp / f"log{i}"),
             "-h", "127.0.0.1", "-p", str(pg.port), "-U", f"kiosk_b{i}", db],
            env={**os.environ, "PGPASSWORD": KIOSK_PASSWORD, "PGSSLMODE": "prefer"},
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=tmp))
    for proc in procs:
        _, err = proc.communicate(timeout=600)
        if proc.returncode:
            raise SystemExit(f"pgbench failed: {err.decode()[-300:]}")
    times = []  # pgbench's log: client, transaction, latency in µs, …
    for log in tmp.glob("log*"):
        times += [int(line.split()[2]) / 1000 for line in log.read_text().splitlines()]
        log.unlink()
    return times


def server_side(pg: PgCluster, db: str, n: int, calls: int) -> None:
    """The same takes from C clients (pgbench), so that the 2 cores go to the server and
    not to n Python kiosks: what the server answers when kiosks are other machines."""
    print(f"{n} kiosks back to back as pgbench processes (C, one login each), "
          f"{calls} numbers each:")
    print("method                            p50      p99   load after")
    with tempfile.TemporaryDirectory(dir=".") as tmp:
        args = "'01824', 'NOI', '{kiosk}', md5(random()::text)"
        for name, sql in (("v4: take_number_durably", f"CALL lobby.take_number_durably({args})"),
                          ("at commit: take_number_today",
                           f"SELECT * FROM lobby.take_number_today({args})")):
            times = _pgbench(pg, db, n, calls, sql, Path(tmp).resolve())
            print(f"{name:<30} {statistics.median(times):>6.2f} {_pct(times, 0.99):>8.2f}"
                  f"   {os.getloadavg()[0]:>6.1f}")


def _decide(client: LobbyClient) -> float:
    began = time.perf_counter()
    try:
        client.take_number("NOI", uuid.uuid4().hex)
    except LobbyUnavailable:
        pass
    else:
        raise SystemExit("the lobby answered while it should be away")
    return (time.perf_counter() - began) * 1000


def offline(pg: PgCluster, db: str, rounds: int = 5) -> None:
    print("lobby away            first patient ms   next patient ms          target")
    proxy = BlackholeProxy(pg.port)
    try:
        hung_first, hung_next = [], []
        for i in range(rounds):  # a login each: a hung client still holds its connection
            client = LobbyClient(LobbyConfig(
                url=f"postgresql://kiosk_b{i}@127.0.0.1:{proxy.port}/{db}",
                password=KIOSK_PASSWORD), "01824", f"b{i}")
            client.warm(wait_s=30)
            proxy.hang()
            hung_first.append(_decide(client))
            hung_next.append(_decide(client))
            proxy.resume()
        down_first, down_next = [], []
        clients = []
        for i in range(rounds):
            client = LobbyClient(LobbyConfig(url=pg.url(f"kiosk_b{rounds + i}", db),
                                             password=KIOSK_PASSWORD), "01824",
                                 f"b{rounds + i}")
            client.warm(wait_s=30)
            clients.append(client)
        pg.stop("fast")
        pg.wait_down()
        for client in clients:
            down_first.append(_decide(client))
            down_next.append(_decide(client))
        pg.start()
    finally:
        proxy.close()
    for name, first, nxt in (("stopped (refused)", down_first, down_next),
                             ("hanging (dropped)", hung_first, hung_next)):
        print(f"{name:<20}  {statistics.median(first):>8.1f} (max {max(first):>5.1f})"
              f"   {statistics.median(nxt):>8.3f} (max {max(nxt):>6.3f})"
              f"      ≤ 300 / ≤ 5")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200, help="numbers per process")
    parser.add_argument("--kiosks", default="1,4,16")
    parser.add_argument("--pace-ms", type=float, default=50.0,
                        help="second run: each kiosk takes a number every this many ms "
                        "(a busy kiosk takes one per 30 s or so; 0 = back to back)")
    args = parser.parse_args()
    pg = PgCluster(durable=True)
    try:
        pg.init()
        pg.start()
        pg.setup_roles()
        db = pg.new_database()
        owner = LobbyConfig(url=pg.url(OWNER, db), password=OWNER_PASSWORD)
        init(owner)
        for i in range(max(10, *(int(k) for k in args.kiosks.split(",")))):
            pg.sql(f"CREATE ROLE kiosk_b{i} LOGIN PASSWORD '{KIOSK_PASSWORD}' "
                   "CONNECTION LIMIT 4 IN ROLE lobby_kiosk")
            add_kiosk(owner, "01824", "Asia/Ho_Chi_Minh", f"b{i}", f"kiosk_b{i}",
                      max_per_minute=6000)
        version = pg.sql("SHOW server_version")[0][0]
        print(f"PostgreSQL {version} on 127.0.0.1 (fsync on), {args.calls} numbers per process; "
              f"load average at start {os.getloadavg()[0]:.1f}")
        allocation(pg, db, [int(k) for k in args.kiosks.split(",")], args.calls,
                   args.pace_ms)
        server_side(pg, db, max(int(k) for k in args.kiosks.split(",")), args.calls)
        offline(pg, db)
    finally:
        pg.remove()


if __name__ == "__main__":
    main()
