"""`kiosk outbox list [--json] [--state S]` and `kiosk outbox retry ID`: what is waiting
for the HIS, what became a dead letter (with its reason), and sending one again."""

from __future__ import annotations

import argparse

from kiosk.cli.common import (
    EXIT_BAD_INPUT,
    EXIT_OK,
    CliError,
    add_config_argument,
    load_config,
    print_json,
)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("outbox", help="registrations waiting for / failed at the HIS")
    s = p.add_subparsers(dest="outbox_command", metavar="ACTION", required=True)
    ls = s.add_parser("list", help="outbox entries, newest first")
    ls.add_argument("--json", action="store_true", help="JSON output")
    ls.add_argument("--state", choices=("pending", "done", "dead"), action="append",
                    help="only these states (repeatable; default: all)")
    add_config_argument(ls)
    ls.set_defaults(handler=_list)
    rt = s.add_parser("retry", help="send a dead (or waiting) entry again now")
    rt.add_argument("id", type=int, help="outbox entry id (from `kiosk outbox list`)")
    rt.add_argument("--json", action="store_true", help="JSON output: {id, state}")
    add_config_argument(rt)
    rt.set_defaults(handler=_retry)


def _list(args: argparse.Namespace) -> int:
    from kiosk.services import outbox
    from kiosk.store import connect

    config = load_config(args)
    from kiosk.store.retention import unsynced_summary

    rows: list[dict[str, object]] = []
    unsynced = None
    if config.database_path.exists():  # listing must not create a database
        db = connect(config.database_path)
        try:
            states = tuple(args.state) if args.state else outbox.STATES
            numbers = dict(db.execute(
                "SELECT id, queue_number || ' ' || service_code FROM registrations").fetchall())
            for item in outbox.list_items(db, states):
                rows.append({**item.to_json(), "ticket": numbers.get(item.registration_id)})
            unsynced = unsynced_summary(db, config)
        finally:
            db.conn.close()
    if args.json:
        print_json(rows)
    else:
        for r in rows:
            print(f"{r['id']:>6} {r['state']:<8} attempts {r['attempts']:<3} {r['ticket']}  "
                  f"{r['last_error'] or ''}")
        if unsynced is not None and unsynced.count:
            # Staff must know: these patients are not in the HIS, and the kiosk forgets them.
            print(f"{unsynced.count} registrations not in the HIS ({unsynced.failed} failed); "
                  f"the oldest ({unsynced.oldest_created_at}) is purged at {unsynced.purge_at} "
                  f"(retention.unsynced_days = {config.retention.unsynced_days})")
    return EXIT_OK


def _retry(args: argparse.Namespace) -> int:
    import datetime as dt

    from kiosk.services import outbox
    from kiosk.store import audit, connect

    config = load_config(args)
    db = connect(config.database_path)
    try:
        item = outbox.retry(db, args.id, dt.datetime.now(dt.UTC))
        if item is None:
            raise CliError(f"no outbox entry {args.id}", EXIT_BAD_INPUT)
        if item.state == "done":
            raise CliError(f"outbox entry {args.id} already reached the HIS", EXIT_BAD_INPUT)
        audit(db, config.kiosk_id, "outbox.retry", str(args.id))
    finally:
        db.conn.close()
    if args.json:
        print_json({"id": args.id, "state": "pending"})
    else:
        print(f"outbox entry {args.id}: queued for the next sync pass")
    return EXIT_OK
