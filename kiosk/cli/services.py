"""`kiosk services list [--json]`: the configured services and whether each is open now."""

from __future__ import annotations

import argparse

from kiosk.cli.common import EXIT_OK, add_config_argument, load_config, print_json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("services", help="departments / exam services")
    s = p.add_subparsers(dest="services_command", metavar="ACTION", required=True)
    ls = s.add_parser("list", help="services with room and whether open now")
    ls.add_argument("--json", action="store_true", help="JSON output")
    add_config_argument(ls)
    ls.set_defaults(handler=_list)


def _list(args: argparse.Namespace) -> int:
    import datetime as dt

    from kiosk.services.registration import catalogue
    from kiosk.store import connect

    config = load_config(args)
    db = connect(config.database_path) if config.database_path.exists() else None
    try:
        rows = [{"code": s.code, "name": s.name, "room": s.room, "open": s.open}
                for s in catalogue(config, dt.datetime.now(dt.UTC), db)]
    finally:
        if db is not None:
            db.conn.close()
    if args.json:
        print_json(rows)
    else:
        for r in rows:
            print(f"{r['code']:<12} {'mở ' if r['open'] else 'đóng'}  {r['name']} — {r['room']}")
    return EXIT_OK
