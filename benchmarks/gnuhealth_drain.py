"""Sync throughput into a real GNU Health server (issue 6).

The HIS's raw create rate (the adapter's patient + checked-in appointment calls made
straight from memory) against the sync daemon's drain rate of the same backlog
from the outbox, each run on a fresh copy of the same GNU Health database.
Target: drain / raw ≥ 0.8.

Usage: python benchmarks/gnuhealth_drain.py [--count 300] [--repeat 2]
(needs .cache/gnuhealth-venv: `make .setup-stamps/gnuhealth`)
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from outbox import backlog, drain_rate, raw_rate, rows  # noqa: E402

from kiosk.services.his.gnuhealth import GnuHealthAdapter  # noqa: E402
from tests.e2e.gnuhealth.server import (  # noqa: E402
    DB,
    PASSWORD,
    GnuHealthServer,
    built_database,
)


def pair_factory(work: Path) -> Any:
    database = built_database(ROOT / ".cache")
    runs = iter(range(1000))

    def make() -> tuple[Any, Any]:
        directory = work / f"gh-{next(runs)}"
        directory.mkdir()
        shutil.copy(database, directory / f"{DB}.sqlite")
        server = GnuHealthServer(directory).start()
        adapter = GnuHealthAdapter({"url": server.url, "database": DB, "username": "admin",
                                    "password": PASSWORD, "institution_code": "01824"})
        return server, adapter

    return make


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="gh-bench-", dir=Path.cwd()))
    try:
        make = pair_factory(work)
        raws, drains = [], []
        for attempt in range(args.repeat):
            config, db = backlog(work, f"gh-{attempt}", args.count)
            raws.append(raw_rate(make, rows(db), config))
            drains.append(drain_rate(make, config, db, args.count))
            db.conn.close()
        raw, drained = max(raws), max(drains)
        print(f"GNU Health 5 on SQLite, {args.count} registrations (best of {args.repeat})")
        print(f"{'raw reg/s':>10} {'drain reg/s':>12} {'ratio':>6}")
        print(f"{raw:>10.1f} {drained:>12.1f} {drained / raw:>6.2f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
