"""`kiosk lobby init|status`: the PostgreSQL database the kiosks of a lobby share.

`kiosk lobby init [--url postgresql://OWNER@HOST:PORT/DBNAME]` creates or migrates
the shared schema (run it with the database owner's login; the password from
`[lobby] password`, `PGPASSWORD` or `~/.pgpass`): exit 0, also when nothing
had to change; 5 when the server is unreachable; 6 when credentials or
privileges are refused. `kiosk lobby status [--json]` shows reachability, the
schema version, the facility's kiosks with their last heartbeat and today's
last number per department (exit 0 reachable, 5 not, 6 refused).
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
    p = sub.add_parser("lobby", help="the lobby database shared by several kiosks")
    lobby_sub = p.add_subparsers(dest="lobby_command", metavar="ACTION", required=True)
    init = lobby_sub.add_parser("init", help="create or migrate the shared schema")
    init.add_argument("--url", help="connect as this login instead of [lobby] url "
                      "(the database owner: kiosks' roles may not create tables)")
    add_config_argument(init)
    init.set_defaults(handler=_init)
    status = lobby_sub.add_parser("status", help="reachability, kiosks, today's numbers")
    status.add_argument("--json", action="store_true", help="JSON output")
    add_config_argument(status)
    status.set_defaults(handler=_status)


def _lobby_config(config: Any, url: str | None = None) -> Any:
    import dataclasses

    from kiosk.config.model import LobbyConfig

    if url:
        base = config.lobby or LobbyConfig(url=url)
        # another login: the kiosk's password is not its password
        return dataclasses.replace(base, url=url, password="" if config.lobby is None or
                                   url != config.lobby.url else base.password)
    if config.lobby is None:
        raise CliError("Chưa cấu hình [lobby] / no [lobby] section in the configuration "
                       "(add url = \"postgresql://USER@HOST:PORT/DBNAME\")", EXIT_MISCONFIGURED)
    return config.lobby


def _init(args: argparse.Namespace) -> int:
    from kiosk.lobby.admin import init
    from kiosk.lobby.client import LobbyRefused, LobbyUnavailable, masked_url

    config = load_config(args)
    lobby = _lobby_config(config, args.url)
    try:
        result = init(lobby)
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


def _status(args: argparse.Namespace) -> int:
    import datetime as dt

    from kiosk.domain.queue import format_queue_number, queue_day
    from kiosk.lobby.admin import status
    from kiosk.lobby.client import LobbyRefused, masked_url

    config = load_config(args)
    lobby = _lobby_config(config)
    today = dt.date.fromisoformat(queue_day(dt.datetime.now(dt.UTC), config.facility.timezone))
    try:
        out = status(lobby, config.facility.code, today)
    except LobbyRefused as exc:
        raise CliError(f"CSDL sảnh từ chối / lobby database refused "
                       f"({masked_url(lobby.url)}): {exc}", EXIT_MISCONFIGURED) from None
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
    if not out["reachable"]:
        return EXIT_UNAVAILABLE
    return EXIT_MISCONFIGURED if out.get("error") else EXIT_OK


def _print(out: dict[str, Any]) -> None:
    state = "reachable" if out["reachable"] else "UNREACHABLE"
    print(f"lobby {out['url']}: {state}, schema v{out['schema_version'] or 0}")
    if out.get("error"):
        print(f"  {out['error']}")
    for k in out["kiosks"]:
        print(f"  kiosk {k['kiosk_id']}: last heartbeat {k['last_heartbeat'] or 'never'}"
              f" (version {k['version'] or '?'})")
    for d in out["departments"]:
        print(f"  {out['day']} {d['department']}: last {d['last_number'] or d['last_seq']} "
              f"({d['used']} used, {d['void']} void, {d['taken']} being registered)")
