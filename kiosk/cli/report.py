"""`kiosk report …`: the hospital's reports from the kiosk's own database.

`kiosk report health-book --from YYYY-MM-DD --to YYYY-MM-DD [--json | --format csv]`
prints the health-book activation counts per kiosk and day (a table to read, or JSON
or CSV for machines) (the weekly
figures health departments rank hospitals on). With a `[lobby]` it reports every
kiosk of the facility from the lobby database (this kiosk's counters are
published first), per kiosk and in total; `--database FILE` reads one kiosk's
own SQLite file instead.

`kiosk report follow-ups` (same options) prints follow-up appointment check-ins
per day and department, and the patients whose appointment could not be looked
up (`kiosk.services.appointment_stats`).

`kiosk report lobby [--day D | --from D --to D] [--json]` sums the facility's
kiosks from the lobby database (kiosk.lobby.report): registrations per
department per kiosk, offline share, voids, health-book offers/completions.
"""

from __future__ import annotations

import argparse
import datetime as dt
from typing import Any

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
    for name, help_text in (
            ("health-book", "health-book (Sổ sức khỏe điện tử) activation counts per day"),
            ("follow-ups", "follow-up appointment check-ins per day and department, and "
                           "lookups that found nothing because the HIS did not answer")):
        _add_report(report_sub.add_parser(name, help=help_text), name)
    lobby = report_sub.add_parser("lobby", help="every kiosk of the facility: registrations, "
                                  "offline share, voids, health-book (from the lobby)")
    lobby.add_argument("--day", type=_date, metavar="YYYY-MM-DD",
                       help="one day (default: today, facility-local)")
    lobby.add_argument("--from", dest="day_from", type=_date, metavar="YYYY-MM-DD")
    lobby.add_argument("--to", dest="day_to", type=_date, metavar="YYYY-MM-DD")
    lobby.add_argument("--json", action="store_true", help="JSON output")
    lobby.add_argument("--html", action="store_true",
                       help="a printable HTML page (for the daily meeting) on stdout")
    add_config_argument(lobby)
    lobby.set_defaults(handler=_lobby_report)


def _add_report(hb: argparse.ArgumentParser, name: str) -> None:
    hb.add_argument("--from", dest="day_from", type=_date, required=True, metavar="YYYY-MM-DD")
    hb.add_argument("--to", dest="day_to", type=_date, required=True, metavar="YYYY-MM-DD")
    hb.add_argument("--format", choices=("text", "json", "csv"), default="text")
    hb.add_argument("--json", dest="format", action="store_const", const="json",
                    help="JSON output (same as --format json)")
    hb.add_argument("--kiosk", help="only this kiosk id (default: every kiosk of the facility "
                    "in the lobby database, or in the kiosk's own database without [lobby])")
    hb.add_argument("--database", help="SQLite file (default: the lobby database when "
                    "configured, else the configured state directory)")
    add_config_argument(hb)
    hb.set_defaults(handler=_report, report_name=name)


def _report(args: argparse.Namespace) -> int:
    from pathlib import Path

    from kiosk.services import appointment_stats, health_book_stats
    from kiosk.services.health_book_stats import RangeError
    from kiosk.store import connect

    stats: Any = {"health-book": health_book_stats,
                  "follow-ups": appointment_stats}[args.report_name]
    title = TITLES[args.report_name]

    config = None if args.database else load_config(args)
    if config is not None and config.lobby is not None:
        try:
            report = _from_lobby(config, args, stats.lobby_counts)
        except RangeError as exc:
            raise CliError(str(exc)) from None
        _print(report, args.format, stats.csv_rows, title)
        return EXIT_OK
    path = Path(args.database) if args.database or config is None else config.database_path
    if not path.exists():  # a report must not create an empty database as a side effect
        raise CliError(f"no kiosk database at {path}", EXIT_UNAVAILABLE)
    try:
        db = connect(path)
    except Exception as exc:  # unreadable/newer database: one clear line, no traceback
        raise CliError(f"cannot open the database {path}: {exc}", EXIT_UNAVAILABLE) from exc
    try:
        report = stats.counts(db, args.day_from, args.day_to, args.kiosk)
    except RangeError as exc:
        raise CliError(str(exc)) from None
    finally:
        db.conn.close()
    _print(report, args.format, stats.csv_rows, title)
    return EXIT_OK


def _from_lobby(config: Any, args: argparse.Namespace, lobby_counts: Any) -> dict[str, Any]:
    """Every kiosk of the facility; this kiosk's newest counters go up first."""
    from kiosk.lobby.client import LobbyClient, LobbyError
    from kiosk.lobby.sync import publish
    from kiosk.store import connect

    client = LobbyClient.from_config(config, budget_s=5.0)
    assert client is not None
    try:
        if config.database_path.exists():
            db = connect(config.database_path)
            try:
                publish(db, client, config.kiosk_id)
            except LobbyError:
                pass  # reported below, by the read that matters
            finally:
                db.conn.close()
        try:
            return lobby_counts(client, args.day_from, args.day_to, args.kiosk)
        except LobbyError as exc:
            raise CliError(f"Không kết nối được CSDL sảnh / lobby database unavailable: {exc} "
                           "(--database FILE reports one kiosk's own counts)",
                           EXIT_UNAVAILABLE) from None
    finally:
        client.close()


def _lobby_report(args: argparse.Namespace) -> int:
    from kiosk.cli.common import EXIT_BAD_INPUT, EXIT_MISCONFIGURED
    from kiosk.domain.queue import queue_day
    from kiosk.lobby.client import LobbyClient, LobbyError, LobbyRefused
    from kiosk.lobby.report import from_lobby, to_html
    from kiosk.lobby.sync import publish
    from kiosk.store import connect

    config = load_config(args)
    if config.lobby is None:
        raise CliError("Chưa cấu hình [lobby] / no [lobby] section in the configuration",
                       EXIT_MISCONFIGURED)
    if args.day and (args.day_from or args.day_to):
        raise CliError("--day or --from/--to, not both", EXIT_BAD_INPUT)
    today = dt.date.fromisoformat(queue_day(dt.datetime.now(dt.UTC), config.facility.timezone))
    day_from = args.day or args.day_from or args.day_to or today
    day_to = args.day or args.day_to or day_from
    client = LobbyClient.from_config(config, budget_s=5.0)
    assert client is not None
    try:
        if config.database_path.exists():  # this kiosk's newest counters first
            db = connect(config.database_path)
            try:
                publish(db, client, config.kiosk_id)
            except LobbyError:
                pass  # reported below, by the read that matters
            finally:
                db.conn.close()
        report = from_lobby(client, day_from, day_to)
    except ValueError as exc:
        raise CliError(str(exc), EXIT_BAD_INPUT) from None
    except LobbyError as exc:
        raise CliError(f"CSDL sảnh / lobby database: {exc}", EXIT_MISCONFIGURED
                       if isinstance(exc, LobbyRefused) else EXIT_UNAVAILABLE) from None
    finally:
        client.close()
    report = {"facility": config.facility.code, **report}
    if args.json:
        print_json(report)
        return EXIT_OK
    if args.html:
        print(to_html(report), end="")
        return EXIT_OK
    print(f"{report['facility']} {report['from']} – {report['to']}")
    for part in (*report["kiosks"], {"kiosk_id": "TOTAL", **report["totals"]}):
        depts = ", ".join(f"{d} {n}" for d, n in sorted(part["registrations"].items()))
        print(f"  {part['kiosk_id']:<10} {part['registrations_total']:>5} registrations "
              f"({depts or '-'}); offline {part['offline']} "
              f"({part['offline_share']:.0%}); voids {part['voids']}; health book "
              f"{part['health_book']['offered']} offered, "
              f"{part['health_book']['completed']} completed")
    return EXIT_OK


TITLES = {"health-book": "Sổ sức khỏe điện tử / health book",
          "follow-ups": "Khám lại theo lịch hẹn / follow-up check-ins"}


def _print(report: dict[str, Any], fmt: str, csv_rows: Any, title: str) -> None:
    import csv
    import sys

    if fmt == "json":
        print_json(report)
        return
    header, rows = csv_rows(report)
    if fmt == "csv":
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
        return
    # A table to read: the day's counts per kiosk, then the totals (JSON/CSV: every column).
    shown = header[:6]
    totals = report["totals"]
    # The columns before the first counted one name the row (kiosk, date): "total"
    # goes under the last of them.
    lead = max(1, next((i for i, field in enumerate(shown) if field in totals), 1))
    table = [shown, *(row[:6] for row in rows),
             [*[""] * (lead - 1), "total", *(totals.get(field, "") for field in shown[lead:])]]
    widths = [max(len(str(row[i])) for row in table) for i in range(len(shown))]
    print(f"{title}, {report['from']} – {report['to']}")
    for row in table:
        print("  ".join(str(v).ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())
