"""Registration durability and HIS sync throughput (issue 6).

1. Durable-write latency of `RegistrationService.register` (queue number + record +
   outbox row in one BEGIN IMMEDIATE transaction, WAL, synchronous=FULL: one fsync per
   commit), p50/p99, against the same write with synchronous=NORMAL (no fsync at commit)
   in the same run.
2. Drain rate of the sync daemon into the FHIR test server and the vendor-style REST
   HIS simulator on loopback, against the HIS's raw create rate: the same adapter calls
   made directly in a loop, without the database (what the HIS itself can take).
3. A backlog of N registrations made while the HIS was down (default 10 000), drained
   when it comes back: ratio drain rate / raw create rate (target ≥ 0.8).

Usage: python benchmarks/outbox.py [--writes 2000] [--backlog 10000] [--repeat 2] [--quick]
The database lives on the disk under the working directory (not tmpfs) so fsync is real.
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kiosk.config import Config
from kiosk.config.loader import demo_config
from kiosk.domain.identity import Identity
from kiosk.domain.insurance import InsuranceCard, InsuranceResult
from kiosk.services.his.fhir import FhirAdapter
from kiosk.services.his.fhir.server import FhirTestServer
from kiosk.services.his.simulator import HisSimulator, SimulatorAdapter, mapping
from kiosk.services.registration import RegistrationService
from kiosk.services.sync import (
    SYNC_DAEMON_SYNCHRONOUS,
    SyncDaemon,
    SyncSettings,
    his_patient,
    his_visit,
)
from kiosk.store import connect

NOW = dt.datetime.now(dt.UTC).replace(hour=3)


def identity(n: int) -> Identity:
    return Identity(full_name="Nguyễn Thị Minh Khai", date_of_birth=dt.date(1968, 3, 14),
                    sex="Nữ", source="chip", verification="chip_verified",
                    id_number=f"0011{n:08d}", residence="Số 12 Phố Huế, Hà Nội",
                    bhyt_card=f"GD479{n:010d}")


def insurance(n: int) -> InsuranceResult:
    card = f"GD479{n:010d}"
    return InsuranceResult("usable", "000", "Thẻ BHYT còn hạn sử dụng.", "Valid.", "000",
                           InsuranceCard(card_number=card, valid_from=dt.date(2026, 1, 1),
                                         valid_to=dt.date(2026, 12, 31)),
                           NOW, "gateway", card)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def write_latency(workdir: Path, count: int, synchronous: str) -> list[float]:
    config = demo_config(workdir / f"state-{synchronous}")
    db = connect(config.database_path)
    db.execute(f"PRAGMA synchronous={synchronous}")
    service = RegistrationService(db, config, now=lambda: NOW)
    services = [s.code for s in config.services]
    times = []
    for n in range(count):
        start = time.perf_counter()
        service.register(identity(n), insurance(n), services[n % len(services)], f"k{n}")
        times.append((time.perf_counter() - start) * 1000)
    db.conn.close()
    return times


def backlog(workdir: Path, name: str, count: int) -> tuple[Config, Any]:
    config = demo_config(workdir / f"backlog-{name}")
    db = connect(config.database_path)
    service = RegistrationService(db, config, now=lambda: NOW)
    codes = [s.code for s in config.services]
    for n in range(count):
        # every 5th patient comes back for a second department the same day
        who = n if n % 5 else n // 5
        service.register(identity(who), insurance(who), codes[n % len(codes)], f"k{n}")
    return config, db


def rows(db: Any) -> list[dict[str, Any]]:
    cursor = db.execute("SELECT * FROM registrations ORDER BY created_at")
    names = [c[0] for c in cursor.description]
    return [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]


def raw_rate(make: Callable[[], tuple[Any, Any]], data: list[dict[str, Any]],
             config: Config) -> float:
    """The HIS's own pace: the same calls, straight from memory, no outbox."""
    server, adapter = make()
    try:
        start = time.perf_counter()
        for row in data:
            ref = adapter.find_or_create_patient(his_patient(row))
            adapter.create_visit(ref, his_visit(row, config))
        return len(data) / (time.perf_counter() - start)
    finally:
        adapter.close()
        server.stop()


def drain_rate(make: Callable[[], tuple[Any, Any]], config: Config, db: Any,
               count: int) -> float:
    server, adapter = make()
    db.execute(f"PRAGMA synchronous={SYNC_DAEMON_SYNCHRONOUS}")  # as `kiosk sync` runs
    try:
        daemon = SyncDaemon(db, config, adapter, settings=SyncSettings(), recheck=False,
                            purge=False)
        start = time.perf_counter()
        report = daemon.drain()
        elapsed = time.perf_counter() - start
        assert report.sent == count, report
        return count / elapsed
    finally:
        adapter.close()
        server.stop()


def fhir_pair() -> tuple[Any, Any]:
    server = FhirTestServer()
    server.start()
    return server, FhirAdapter({"url": server.url, "timeout_s": 10.0})


def rest_pair() -> tuple[Any, Any]:
    server = HisSimulator()
    server.start()
    return server, SimulatorAdapter(mapping(server.url, timeout_s=10.0))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--writes", type=int, default=2000)
    parser.add_argument("--drain", type=int, default=2000)
    parser.add_argument("--backlog", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=2, help="runs per measurement (best)")
    parser.add_argument("--quick", action="store_true", help="small sizes (smoke run)")
    args = parser.parse_args()
    if args.quick:
        args.writes, args.drain, args.backlog = 200, 200, 500
    work = Path(tempfile.mkdtemp(prefix="outbox-bench-", dir=Path.cwd()))
    print(f"work dir {work} (on the same disk as the kiosk database)")
    try:
        run(args, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run(args: argparse.Namespace, work: Path) -> None:

    full = write_latency(work, args.writes, "FULL")
    normal = write_latency(work, args.writes, "NORMAL")
    print(f"\ndurable write ({args.writes} registrations: queue number + record + outbox row)")
    print(f"{'synchronous':<12} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    for name, values in (("FULL", full), ("NORMAL", normal)):
        print(f"{name:<12} {percentile(values, 50):>8.2f} {percentile(values, 99):>8.2f} "
              f"{max(values):>8.2f}")
    print(f"fsync cost at p50: FULL/NORMAL = "
          f"{statistics.median(full) / statistics.median(normal):.1f}x")

    for label, size in (("drain", args.drain), ("backlog after an outage", args.backlog)):
        print(f"\n{label}: {size} registrations")
        print(f"{'HIS':<6} {'raw reg/s':>10} {'drain reg/s':>12} {'ratio':>6}")
        for his, make in (("FHIR", fhir_pair), ("REST", rest_pair)):
            # Alternate raw and drain runs and keep each one's best: the 2 cores are shared
            # with the in-process HIS server and whatever else runs on the machine.
            raws, drains = [], []
            for attempt in range(args.repeat):
                config, db = backlog(work, f"{his}-{size}-{attempt}", size)
                raws.append(raw_rate(make, rows(db), config))
                drains.append(drain_rate(make, config, db, size))
                db.conn.close()
            raw, drained = max(raws), max(drains)
            print(f"{his:<6} {raw:>10.0f} {drained:>12.0f} {drained / raw:>6.2f}")


if __name__ == "__main__":
    main()
