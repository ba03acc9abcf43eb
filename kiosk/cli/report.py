"""`kiosk report …`: the hospital's reports from the kiosk's own database.

`kiosk report health-book --from YYYY-MM-DD --to YYYY-MM-DD --format csv|json`
prints the health-book activation counts per kiosk and day (the weekly
figures health departments rank hospitals on).
"""

from __future__ import annotations

import argparse
import datetime as dt

from kiosk.cli.common import (
    EXIT_OK,
    EXIT_UNAVAILABLE,
    CliError,
    add_config_argument,
    load_config,
    print_json,
)


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None


def register(sub: argparse._SubParsersAction) -> None:
    report = sub.add_parser("report", help="reports for the hospital")
    report_sub = report.add_subparsers(dest="report_command", metavar="REPORT", required=True)
    hb = report_sub.add_parser(
        "health-book", help="health-book (Sổ sức khỏe điện tử) activation counts per day")
    hb.add_argument("--from", dest="day_from", type=_date, required=True, metavar="YYYY-MM-DD")
    hb.add_argument("--to", dest="day_to", type=_date, required=True, metavar="YYYY-MM-DD")
    hb.add_argument("--format", choices=("json", "csv"), default="json")
    hb.add_argument("--json", dest="format", action="store_const", const="json",
                    help="JSON output (the default; same as --format json)")
    hb.add_argument("--kiosk", help="only this kiosk id (default: every kiosk in the database)")
    hb.add_argument("--database", help="SQLite file (default: the configured state directory)")
    add_config_argument(hb)
    hb.set_defaults(handler=_health_book)


def _health_book(args: argparse.Namespace) -> int:
    import csv
    import sys
    from pathlib import Path

    from kiosk.services.health_book_stats import RangeError, counts, csv_rows
    from kiosk.store import connect

    path = Path(args.database) if args.database else load_config(args).database_path
    if not path.exists():  # a report must not create an empty database as a side effect
        raise CliError(f"no kiosk database at {path}", EXIT_UNAVAILABLE)
    try:
        db = connect(path)
    except Exception as exc:  # unreadable/newer database: one clear line, no traceback
        raise CliError(f"cannot open the database {path}: {exc}", EXIT_UNAVAILABLE) from exc
    try:
        report = counts(db, args.day_from, args.day_to, args.kiosk)
    except RangeError as exc:
        raise CliError(str(exc)) from None
    finally:
        db.conn.close()
    if args.format == "json":
        print_json(report)
    else:
        header, rows = csv_rows(report)
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
    return EXIT_OK
