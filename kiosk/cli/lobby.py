"""`kiosk lobby init|add-kiosk|remove-kiosk|status`: the database a lobby's kiosks share.

`kiosk lobby init [--url postgresql://OWNER@HOST:PORT/DBNAME] [--sslrootcert CA]
[--password-file F]` creates or migrates the shared schema as the database owner.
With `--url`, the owner's password comes from `--password-file`, `PGPASSWORD`,
`~/.pgpass` or a prompt on a terminal (none: exit 6), and off loopback the server
must prove its name (`sslmode=verify-full` against `--sslrootcert`). Exit 0, also
when nothing had to change; 5 when the server is unreachable or another session
holds init's lock past `--lock-wait` (named); 6 when credentials, the certificate or
privileges are refused.

`kiosk lobby add-kiosk KIOSK_ID --login LOGIN [--max-per-minute N]` (the owner,
same connection options) binds a kiosk id of this facility to the one database
login that may use it, and records the facility's time zone (the day numbers
belong to); `remove-kiosk KIOSK_ID` retires one. `kiosk lobby status [--json]`
shows reachability, the schema version, the facility's kiosks with their last
heartbeat and today's last number per department (exit 0 reachable, 5 not, 6
refused).
"""

from __future__ import annotations

import argparse
from typing import Any

from kiosk.cli.common import (
    EXIT_BAD_INPUT,
    EXIT_MISCONFIGURED,
    EXIT_OK,
    EXIT_UNAVAILABLE,
    CliError,
    add_config_argument,
    load_config,
    print_json,
)
from kiosk.lobby.schema import DEFAULT_MAX_PER_MINUTE


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("lobby", help="the lobby database shared by several kiosks")
    lobby_sub = p.add_subparsers(dest="lobby_command", metavar="ACTION", required=True)
    init = lobby_sub.add_parser("init", help="create or migrate the shared schema")
    _owner_arguments(init)
    init.add_argument("--lock-wait", type=float, default=10.0, metavar="S",
                      help="longest wait for another init's lock (default 10 s)")
    add_config_argument(init)
    init.set_defaults(handler=_init)
    add = lobby_sub.add_parser("add-kiosk", help="bind a kiosk id to its database login "
                               "(the lobby owner)")
    add.add_argument("kiosk_id")
    add.add_argument("--login", required=True, help="the kiosk's PostgreSQL login")
    add.add_argument("--max-per-minute", type=int, default=DEFAULT_MAX_PER_MINUTE,
                     help=f"new numbers it may take per minute (default "
                          f"{DEFAULT_MAX_PER_MINUTE})")
    _owner_arguments(add)
    add_config_argument(add)
    add.set_defaults(handler=_add_kiosk)
    remove = lobby_sub.add_parser("remove-kiosk", help="retire a kiosk id (the lobby owner)")
    remove.add_argument("kiosk_id")
    _owner_arguments(remove)
    add_config_argument(remove)
    remove.set_defaults(handler=_remove_kiosk)
    listing = lobby_sub.add_parser("tickets", help="every ticket of a day, shared and "
                                   "offline, in printing order")
    listing.add_argument("--day", type=_date, help="YYYY-MM-DD (default: today, "
                         "facility-local)")
    listing.add_argument("--department", help="only this department")
    listing.add_argument("--json", action="store_true", help="JSON output")
    add_config_argument(listing)
    listing.set_defaults(handler=_tickets)
    status = lobby_sub.add_parser("status", help="reachability, kiosks, today's numbers")
    status.add_argument("--json", action="store_true", help="JSON output")
    add_config_argument(status)
    status.set_defaults(handler=_status)


def _owner_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--url", help="connect as this login instead of [lobby] url "
                   "(the database owner: kiosks' roles may not create tables)")
    p.add_argument("--sslrootcert", metavar="CA", help="the CA file that signed the "
                   "server's certificate (required with --url off loopback)")
    p.add_argument("--password-file", metavar="FILE", help="the owner's password, "
                   "first line (else PGPASSWORD, ~/.pgpass or a prompt)")


def _owner_password(args: argparse.Namespace, user: str) -> str:
    """The --url login's password; '' when libpq will find it in ~/.pgpass."""
    import getpass
    import os
    import sys
    from pathlib import Path

    if args.password_file:
        try:
            lines = Path(args.password_file).read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise CliError(f"Không đọc được / cannot read {args.password_file}: "
                           f"{exc.strerror}", EXIT_MISCONFIGURED) from None
        if lines and lines[0]:
            return lines[0]
    elif os.environ.get("PGPASSWORD"):
        return os.environ["PGPASSWORD"]
    elif Path(os.environ.get("PGPASSFILE", Path.home() / ".pgpass")).is_file():
        return ""
    elif sys.stdin.isatty():
        return getpass.getpass(f"Mật khẩu / password for {user}: ")
    raise CliError(f"Thiếu mật khẩu / no password for {user}: give --password-file, "
                   "PGPASSWORD or ~/.pgpass, or run it on a terminal", EXIT_MISCONFIGURED)


def _lobby_config(config: Any, url: str | None = None,
                  args: argparse.Namespace | None = None) -> Any:
    import dataclasses
    from urllib.parse import urlsplit

    from kiosk.config.model import LobbyConfig
    from kiosk.config.sections import _LOOPBACK

    if url:
        host = urlsplit(url).hostname or ""
        user = urlsplit(url).username or "?"
        base = config.lobby or LobbyConfig(url=url)
        same = config.lobby is not None and url == config.lobby.url
        # another login: the kiosk's password is not its password
        password = base.password if same else _owner_password(args, user) if args else ""
        rootcert = (args.sslrootcert if args is not None and args.sslrootcert
                    else base.sslrootcert)
        sslmode = base.sslmode
        if not _LOOPBACK.fullmatch(host):
            if not rootcert:
                raise CliError(f"Máy chủ {host} ở trên mạng: cần --sslrootcert / {host} is "
                               "not this machine: give --sslrootcert CA (the file that "
                               "signed the server's certificate)", EXIT_MISCONFIGURED)
            sslmode = "verify-full"
        return dataclasses.replace(base, url=url, password=password, sslmode=sslmode,
                                   sslrootcert=rootcert)
    if config.lobby is None:
        raise CliError("Chưa cấu hình [lobby] / no [lobby] section in the configuration "
                       "(add url = \"postgresql://USER@HOST:PORT/DBNAME\")", EXIT_MISCONFIGURED)
    return config.lobby


def _init(args: argparse.Namespace) -> int:
    from kiosk.lobby.admin import init
    from kiosk.lobby.client import LobbyRefused, LobbyUnavailable, masked_url

    config = load_config(args)
    lobby = _lobby_config(config, args.url, args)
    try:
        result = init(lobby, lock_wait_s=args.lock_wait)
    except LobbyUnavailable as exc:
        raise CliError(f"Không kết nối được CSDL sảnh / lobby database unreachable "
                       f"({masked_url(lobby.url)}): {exc}", EXIT_UNAVAILABLE) from None
    except LobbyRefused as exc:
        raise CliError(f"CSDL sảnh từ chối / lobby database refused "
                       f"({masked_url(lobby.url)}): {exc}", EXIT_MISCONFIGURED) from None
    if result.changed:
        print(f"lobby schema v{result.before} → v{result.after}")
    else:
        print(f"lobby schema v{result.after}: already current, nothing changed")
    return EXIT_OK


def _owner_call(args: argparse.Namespace, fn: Any) -> Any:
    from kiosk.lobby.client import LobbyRefused, LobbyUnavailable, masked_url

    config = load_config(args)
    lobby = _lobby_config(config, args.url, args)
    try:
        return config, fn(config, lobby)
    except LobbyUnavailable as exc:
        raise CliError(f"Không kết nối được CSDL sảnh / lobby database unreachable "
                       f"({masked_url(lobby.url)}): {exc}", EXIT_UNAVAILABLE) from None
    except LobbyRefused as exc:
        raise CliError(f"CSDL sảnh từ chối / lobby database refused "
                       f"({masked_url(lobby.url)}): {exc}", EXIT_MISCONFIGURED) from None


def _add_kiosk(args: argparse.Namespace) -> int:
    from kiosk.lobby.admin import add_kiosk

    config, done = _owner_call(args, lambda config, lobby: add_kiosk(
        lobby, config.facility.code, config.facility.timezone, args.kiosk_id, args.login,
        max_per_minute=args.max_per_minute))
    print(f"kiosk {done.kiosk_id} of {config.facility.code}: login {done.login}, "
          f"{done.max_per_minute} numbers a minute, {done.connection_limit} connections"
          f"{'' if done.changed else ' (unchanged)'}")
    return EXIT_OK


def _remove_kiosk(args: argparse.Namespace) -> int:
    from kiosk.lobby.admin import remove_kiosk

    _, found = _owner_call(args, lambda config, lobby: remove_kiosk(
        lobby, config.facility.code, args.kiosk_id))
    if not found:
        raise CliError(f"Không có ki-ốt / no kiosk {args.kiosk_id} in the lobby",
                       EXIT_BAD_INPUT)
    print(f"kiosk {args.kiosk_id} retired: its login can no longer take numbers")
    return EXIT_OK


def _date(text: str) -> Any:
    import datetime as dt

    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2026-12-01") from None


def _tickets(args: argparse.Namespace) -> int:
    import datetime as dt

    from kiosk.domain.queue import format_offline_number, format_queue_number, queue_day
    from kiosk.lobby.admin import tickets
    from kiosk.lobby.client import LobbyRefused, LobbyUnavailable, masked_url

    config = load_config(args)
    lobby = _lobby_config(config)
    tz = config.facility.timezone
    day = args.day or dt.date.fromisoformat(queue_day(dt.datetime.now(dt.UTC), tz))
    try:
        rows = tickets(lobby, config.facility.code, day, tz, args.department)
    except LobbyUnavailable as exc:
        raise CliError(f"Không kết nối được CSDL sảnh / lobby database unreachable "
                       f"({masked_url(lobby.url)}): {exc}", EXIT_UNAVAILABLE) from None
    except LobbyRefused as exc:
        raise CliError(f"CSDL sảnh từ chối / lobby database refused "
                       f"({masked_url(lobby.url)}): {exc}", EXIT_MISCONFIGURED) from None
    prefixes = {s.department: s.prefix for s in config.services}
    for row in rows:
        prefix = prefixes.get(row["department"], "?")
        row["number"] = (format_offline_number(prefix, row["kiosk_id"], row["seq"])
                         if row["kind"] == "offline" else
                         format_queue_number(config.facility.queue_format, prefix, row["seq"],
                                             row["department"]))
    if args.json:
        print_json({"facility": config.facility.code, "day": day.isoformat(),
                    "tickets": rows})
        return EXIT_OK
    print(f"{config.facility.code} {day.isoformat()}: {len(rows)} tickets")
    for row in rows:
        print(f"  {row['printed_at'][11:19]}  {row['number']:<12} {row['department']:<10} "
              f"kiosk {row['kiosk_id']:<8} {row['kind']:<8} {row['state']}")
    return EXIT_OK


def _status(args: argparse.Namespace) -> int:
    import datetime as dt

    from kiosk.domain.queue import format_queue_number, queue_day
    from kiosk.lobby.admin import status
    from kiosk.lobby.client import masked_url

    config = load_config(args)
    lobby = _lobby_config(config)
    today = dt.date.fromisoformat(queue_day(dt.datetime.now(dt.UTC), config.facility.timezone))
    out = status(lobby, config.facility.code, today, config.facility.timezone)
    prefixes = {s.department: s.prefix for s in config.services}
    for dept in out["departments"]:
        prefix = prefixes.get(dept["department"])
        dept["last_number"] = format_queue_number(
            config.facility.queue_format, prefix, dept["last_seq"], dept["department"]
        ) if prefix else None
    out = {"url": masked_url(lobby.url), **out}
    if args.json:
        print_json(out)
    else:
        _print(out)
    return {"ok": EXIT_OK, "unreachable": EXIT_UNAVAILABLE}.get(out["state"],
                                                               EXIT_MISCONFIGURED)


def _print(out: dict[str, Any]) -> None:
    schema = f", schema v{out['schema_version']}" if out["reachable"] else ""
    print(f"lobby {out['url']}: {out['state'].upper().replace('_', ' ')}{schema}")
    if out["error"]:
        print(f"  {out['error']}")
    for k in out["kiosks"]:
        print(f"  kiosk {k['kiosk_id']} (login {k['login']}): last heartbeat "
              f"{k['last_heartbeat'] or 'never'} (version {k['version'] or '?'})")
    for d in out["departments"]:
        print(f"  {out['day']} {d['department']}: last {d['last_number'] or d['last_seq']} "
              f"({d['used']} used, {d['void']} void, {d['taken']} being registered, "
              f"{d['offline']} offline published)")
