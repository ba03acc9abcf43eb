"""One number per patient, service and day across a lobby (issue 27, decision 0143):
what the keyed-hash check costs a patient.

Per call, p50/p99 in ms, against a real PostgreSQL 15 on loopback (fsync on), in the
same run and the same database:

* `take_number_today` — the v2 call, no check (what a kiosk without `holding_key` does);
* `take_number_once`, a new patient — the check, the holding recorded and a number
  taken, in one transaction;
* `take_number_once`, a patient already holding — the check answering with the holding
  (no number taken).

1 and 4 kiosk processes, each calling every `--pace-ms` (50: far above a kiosk's rate).
Since schema v4 the client calls both through their `…_durably` procedures (decision
0134: committed without waiting for the flush, then flushed by a second commit).

Usage: python benchmarks/lobby_once.py [--calls 300] [--kiosks 1,4] [--pace-ms 50]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.lobby import _pct
from kiosk.config.model import LobbyConfig
from kiosk.lobby.admin import add_kiosk, init
from kiosk.lobby.client import LobbyClient
from tests.e2e.lobby.pg import KIOSK_PASSWORD, OWNER, OWNER_PASSWORD, PgCluster

KINDS = ("take_number_today", "once: new patient", "once: already holding")


def _worker(start: Any, out: Any, url: str, kiosk: str, kind: str, calls: int,
            pace_s: float) -> None:
    client = LobbyClient(LobbyConfig(url=url, password=KIOSK_PASSWORD, timeout_ms=10_000),
                         "01824", kiosk)
    client.warm(wait_s=30)
    held = os.urandom(32)
    if kind == KINDS[2]:
        client.take_number_once("NOI", uuid.uuid4().hex, held)
    start.wait()
    times = []
    for _ in range(calls):
        began = time.perf_counter()
        if kind == KINDS[0]:
            client.take_number("NOI", uuid.uuid4().hex)
        elif kind == KINDS[1]:
            client.take_number_once("NOI", uuid.uuid4().hex, os.urandom(32))
        else:
            assert client.take_number_once("NOI", uuid.uuid4().hex, held).held_by == kiosk
        times.append((time.perf_counter() - began) * 1000)
        time.sleep(pace_s)
    client.close()
    out.put(times)


def _run(pg: PgCluster, db: str, n: int, kind: str, calls: int, pace_s: float,
         first: int) -> list[float]:
    ctx = multiprocessing.get_context("spawn")
    start, out = ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(
        start, out, pg.url(f"kiosk_o{first + i}", db), f"o{first + i}", kind, calls, pace_s))
        for i in range(n)]
    for p in procs:
        p.start()
    time.sleep(0.5)
    start.set()
    times = [t for _ in procs for t in out.get(timeout=600)]
    for p in procs:
        p.join(60)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300, help="calls per process")
    parser.add_argument("--kiosks", default="1,4")
    parser.add_argument("--pace-ms", type=float, default=50.0)
    args = parser.parse_args()
    counts = [int(k) for k in args.kiosks.split(",")]
    pg = PgCluster(durable=True)
    try:
        pg.init()
        pg.start()
        pg.setup_roles()
        db = pg.new_database()
        owner = LobbyConfig(url=pg.url(OWNER, db), password=OWNER_PASSWORD)
        init(owner)
        logins = sum(counts) * len(KINDS)
        for i in range(logins):
            pg.sql(f"CREATE ROLE kiosk_o{i} LOGIN PASSWORD '{KIOSK_PASSWORD}' "
                   "CONNECTION LIMIT 4 IN ROLE lobby_kiosk")
            add_kiosk(owner, "01824", "Asia/Ho_Chi_Minh", f"o{i}", f"kiosk_o{i}",
                      max_per_minute=6000)
        version = pg.sql("SHOW server_version")[0][0]
        print(f"PostgreSQL {version} on 127.0.0.1 (fsync on), {args.calls} calls per "
              f"process, one every {args.pace_ms:.0f} ms")
        print(f"{'call':<24} {'kiosks':>6} {'p50 ms':>8} {'p99 ms':>8}")
        first = 0
        for n in counts:
            for kind in KINDS:
                times = _run(pg, db, n, kind, args.calls, args.pace_ms / 1000, first)
                first += n
                print(f"{kind:<24} {n:>6} {statistics.median(times):>8.2f} "
                      f"{_pct(times, 0.99):>8.2f}")
    finally:
        pg.remove()


if __name__ == "__main__":
    main()
