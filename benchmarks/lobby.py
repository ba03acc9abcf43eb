"""Lobby queue numbers (issues 14 and 26).

1. Number allocation latency, p50/p99, with 1, 4 and 16 kiosk processes taking numbers
   of the same department at once from a real PostgreSQL 15 on loopback (fsync on,
   scram-sha-256, TLS negotiated as `sslmode = prefer` does), against the local SQLite
   allocator in the same run: each process numbering in its own kiosk file (BEGIN
   IMMEDIATE, WAL, synchronous=FULL), which is what every kiosk does without a lobby.
2. Time to decide "offline": PostgreSQL stopped (connections refused) and PostgreSQL
   hanging (a loopback proxy that stops forwarding: packets dropped, nothing refused),
   for the first patient (target ≤ 300 ms) and the next while the breaker is open
   (target ≤ 5 ms).

Since issue 26 each process is its own kiosk with its own login (CONNECTION LIMIT 4, as
docs/deployment.md has the DBA create them), provisioned by `add_kiosk`, and a number
is `lobby.take_number_today` (the server's day, the per-kiosk rate limit, ownership).

Allocation runs twice: back to back (every process takes numbers as fast as it can:
a stress far beyond any lobby) and paced (`--pace-ms`, 50 by default: each kiosk one
number every 50 ms, still ~600 times a busy kiosk's rate).

Usage: python benchmarks/lobby.py [--calls 200] [--kiosks 1,4,16] [--pace-ms 50]
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
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


def _lobby_worker(start: Any, out: Any, url: str, pace_s: float, kiosk: str, calls: int
                  ) -> None:
    url = url.replace("kiosk_b", f"kiosk_{kiosk}")  # each kiosk its own login
    client = LobbyClient(LobbyConfig(url=url, password=KIOSK_PASSWORD, timeout_ms=10_000),
                         "01824", kiosk)
    client.warm(wait_s=30)
    start.wait()
    times = []
    for _ in range(calls):
        began = time.perf_counter()
        client.take_number("NOI", uuid.uuid4().hex)
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


def allocation(pg: PgCluster, db: str, kiosks: list[int], calls: int, pace_ms: float
               ) -> None:
    url = pg.url("kiosk_b", db)
    print("kiosk processes  pace ms   lobby p50   p99 ms   sqlite p50   p99 ms   "
          "ratio p50   p99")
    with tempfile.TemporaryDirectory(dir=".") as tmp:
        for pace in (0.0, pace_ms):
            for n in kiosks:
                lobby = _run(_lobby_worker, n, (url, pace / 1000), calls)
                local = _run(_sqlite_worker, n, (tmp, pace / 1000), calls)
                lp50, lp99 = statistics.median(lobby), _pct(lobby, 0.99)
                sp50, sp99 = statistics.median(local), _pct(local, 0.99)
                print(f"{n:>15}  {pace:>7.0f}   {lp50:>9.2f} {lp99:>8.2f}   {sp50:>10.2f} "
                      f"{sp99:>8.2f}   {lp50 / sp50:>8.2f}x {lp99 / sp99:>5.2f}x")


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
        print(f"PostgreSQL {version} on 127.0.0.1 (fsync on), {args.calls} numbers per process")
        allocation(pg, db, [int(k) for k in args.kiosks.split(",")], args.calls,
                   args.pace_ms)
        offline(pg, db)
    finally:
        pg.remove()


if __name__ == "__main__":
    main()
