"""`kiosk sync [--once]`: deliver the outbox to the HIS (the sync daemon).

Without `--once` it runs until SIGTERM/SIGINT (the systemd service); with
`--once` it makes one pass — BHYT re-checks, everything due, retention purge —
prints a summary and exits 0, or 5 when the HIS could not be reached. With a
`[lobby]`, each pass (every 15 s at most) also heartbeats to the lobby database,
settles this kiosk's queue numbers (used/void) and publishes its counters; the
lobby being away shows in the log, never in the exit code.
"""

from __future__ import annotations

import argparse
from typing import Any

from kiosk.cli.common import (
    EXIT_MISCONFIGURED,
    EXIT_OK,
    EXIT_UNAVAILABLE,
    CliError,
    add_config_argument,
    load_config,
    print_json,
)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sync", help="send registrations to the HIS (outbox daemon)")
    p.add_argument("--once", action="store_true", help="one pass, then exit")
    p.add_argument("--json", action="store_true", help="summary as JSON (with --once)")
    add_config_argument(p)
    p.set_defaults(handler=_sync)


def open_adapter(config: Any) -> Any:
    from kiosk.services.his import build_adapter

    try:
        return build_adapter(config)
    except (ValueError, ImportError) as exc:
        raise CliError(f"his: {exc}", EXIT_MISCONFIGURED) from None


def _sync(args: argparse.Namespace) -> int:
    import logging
    import signal
    import threading

    from kiosk.services.sync import SYNC_DAEMON_SYNCHRONOUS, SyncBusy, SyncDaemon, daemon_lock
    from kiosk.store import connect

    config = load_config(args)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    db = connect(config.database_path)
    db.execute(f"PRAGMA synchronous={SYNC_DAEMON_SYNCHRONOUS}")
    adapter = open_adapter(config)
    daemon: SyncDaemon | None = None
    try:
        with daemon_lock(config.state_dir, wait=not args.once):
            daemon = SyncDaemon(db, config, adapter)
            if args.once:
                report = daemon.tick()
                if args.json:
                    print_json(report.to_json())
                else:
                    print(f"sent {report.sent}, retrying {report.retried}, dead {report.dead}, "
                          f"HIS unavailable {report.unavailable}, re-checked {report.rechecked}"
                          f", purged {report.purged}")
                return EXIT_UNAVAILABLE if report.unavailable else EXIT_OK
            stop = threading.Event()
            for sig in (signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, lambda *_: stop.set())
            daemon.run(stop)
            return EXIT_OK
    except SyncBusy as exc:
        raise CliError(str(exc), EXIT_UNAVAILABLE) from None
    finally:
        if daemon is not None:
            daemon.close()
        close = getattr(adapter, "close", None)
        if callable(close):
            close()
        db.conn.close()
