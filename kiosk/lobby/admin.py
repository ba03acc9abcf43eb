"""`kiosk lobby init|add-kiosk|status`: the shared schema and what it holds.

`init` runs the pending schema versions in one transaction under an advisory
lock, so two technicians (or two kiosks' installers) running it at once do it
once; running it again changes nothing. It waits for that lock at most
`lock_wait_s` and then names the session holding it. It needs the database
owner's login (the kiosks' role may not create anything), as does `add_kiosk`,
which binds a kiosk id to the one login allowed to use it; `status` works with
either.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from kiosk.config.model import LobbyConfig
from kiosk.lobby.client import LobbyError, LobbyRefused, LobbyUnavailable, classify
from kiosk.lobby.client import connect_kwargs as _kwargs
from kiosk.lobby.schema import (
    DEFAULT_MAX_PER_MINUTE,
    KIOSK_ROLE,
    LATEST,
    LOCK_KEY,
    MAX_CONNECTIONS_PER_LOGIN,
    MIGRATIONS,
)


@dataclass(frozen=True)
class InitResult:
    before: int
    after: int

    @property
    def changed(self) -> bool:
        return self.after != self.before


def _connect(config: LobbyConfig, url: str | None = None, budget_s: float = 5.0) -> Any:
    import psycopg

    kwargs = _kwargs(config, "kiosk lobby")
    kwargs["connect_timeout"] = max(2, int(budget_s))
    try:
        return psycopg.connect(url or config.url, **kwargs)
    except Exception as exc:
        raise classify(exc) from None


def schema_version(conn: Any) -> int:
    """0 when the schema does not exist yet."""
    if conn.execute("SELECT to_regclass('lobby.schema_version')").fetchone()[0] is None:
        return 0
    row = conn.execute("SELECT max(version) FROM lobby.schema_version").fetchone()
    return int(row[0] or 0)


def _lock_holder(conn: Any) -> str:
    """Who holds init's advisory lock, as pg_stat_activity shows it to this login."""
    row = conn.execute(
        "SELECT a.pid, a.usename, a.application_name, a.client_addr::text, a.state "
        "FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
        "WHERE l.locktype = 'advisory' AND l.granted AND l.classid = 0 AND l.objid = %s "
        "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
        "LIMIT 1", [LOCK_KEY]).fetchone()
    if row is None:
        return "a session that has since let go"
    pid, user, app, addr, state = row
    return (f"process {pid} (login {user or '?'}, application {app or '?'!r}, "
            f"from {addr or 'local'}, {state or 'state hidden'})")


def _take_lock(conn: Any, wait_s: float) -> None:
    import time

    deadline = time.monotonic() + wait_s
    while not conn.execute("SELECT pg_try_advisory_xact_lock(%s)", [LOCK_KEY]).fetchone()[0]:
        if time.monotonic() >= deadline:
            raise LobbyBusy(f"another session has held the lobby's init lock (advisory "
                            f"{LOCK_KEY}) for more than {wait_s:.0f} s: {_lock_holder(conn)}")
        time.sleep(0.1)


class LobbyBusy(LobbyUnavailable):
    """Someone else holds what `init` needs; the message names the session."""


def init(config: LobbyConfig, url: str | None = None, *, lock_wait_s: float = 10.0
         ) -> InitResult:
    """Create or migrate the lobby schema. LobbyUnavailable (LobbyBusy: the lock is held
    longer than `lock_wait_s`) / LobbyRefused on failure."""
    conn = _connect(config, url)
    try:
        # The database's own bounds (v2) are for kiosks: a migration may take longer,
        # but waits for a table lock no longer than for the advisory lock.
        conn.execute("SET statement_timeout = 0")
        conn.execute("SET idle_in_transaction_session_timeout = 0")
        conn.execute(f"SET lock_timeout = '{max(1, int(lock_wait_s))}s'")
        conn.autocommit = False
        with conn.transaction():
            _take_lock(conn, lock_wait_s)
            before = schema_version(conn)
            if before > LATEST:
                raise LobbyRefused(f"the lobby schema is v{before}, newer than this kiosk "
                                   f"knows (v{LATEST}); update this kiosk first")
            for version, sql in MIGRATIONS:
                if version > before:
                    conn.execute(sql)
                    conn.execute("INSERT INTO lobby.schema_version (version) VALUES (%s)",
                                 [version])
        return InitResult(before, max(before, LATEST))
    except LobbyError:
        raise
    except Exception as exc:
        import psycopg

        if isinstance(exc, psycopg.errors.LockNotAvailable):
            raise LobbyBusy(f"a table of the lobby is locked by another session for more "
                            f"than {lock_wait_s:.0f} s: {_first_line(str(exc))}") from None
        raise classify(exc) from None
    finally:
        conn.close()


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else ""


RETIRED = "-"  # db_role of a retired kiosk id: no login has that name


@dataclass(frozen=True)
class Provisioned:
    kiosk_id: str
    login: str
    max_per_minute: int
    connection_limit: int
    changed: bool


def add_kiosk(config: LobbyConfig, facility: str, timezone: str, kiosk_id: str, login: str,
              *, url: str | None = None, max_per_minute: int = DEFAULT_MAX_PER_MINUTE
              ) -> Provisioned:
    """Bind `kiosk_id` of `facility` to the database login `login` (the lobby's owner
    only). The login must be a member of the kiosks' role, not a superuser, and have a
    CONNECTION LIMIT of at most MAX_CONNECTIONS_PER_LOGIN; a kiosk id already bound
    to another login is refused (retire it first: `remove-kiosk`)."""
    conn = _connect(config, url)
    try:
        row = conn.execute(
            "SELECT rolsuper, rolconnlimit, pg_has_role(oid, %s, 'MEMBER') FROM pg_roles "
            "WHERE rolname = %s", [KIOSK_ROLE, login]).fetchone()
        if row is None:
            raise LobbyRefused(f"there is no database login {login!r}: the DBA creates it "
                               f"(docs/deployment.md, 'the lobby database')")
        superuser, limit, member = row
        if superuser or not member:
            raise LobbyRefused(f"login {login!r} must be a member of {KIOSK_ROLE} and not a "
                               f"superuser")
        if not 1 <= int(limit) <= MAX_CONNECTIONS_PER_LOGIN:
            raise LobbyRefused(
                f"login {login!r} has no connection limit: the DBA runs ALTER ROLE {login} "
                f"CONNECTION LIMIT 4 (at most {MAX_CONNECTIONS_PER_LOGIN})")
        with conn.transaction():
            conn.execute("INSERT INTO lobby.facilities (facility, timezone) VALUES (%s, %s) "
                         "ON CONFLICT (facility) DO UPDATE SET timezone = excluded.timezone",
                         [facility, timezone])
            conn.execute("SELECT now() AT TIME ZONE %s", [timezone])  # a zone PG knows
            owner = conn.execute("SELECT db_role FROM lobby.kiosks WHERE facility = %s AND "
                                 "kiosk_id = %s", [facility, kiosk_id]).fetchone()
            if owner is not None and owner[0] not in (login, RETIRED):
                raise LobbyRefused(f"kiosk {kiosk_id} already belongs to login {owner[0]}: "
                                   f"'kiosk lobby remove-kiosk {kiosk_id}' first")
            conn.execute(
                "INSERT INTO lobby.kiosks (facility, kiosk_id, db_role, max_per_minute) "
                "VALUES (%s, %s, %s, %s) ON CONFLICT (facility, kiosk_id) "
                "DO UPDATE SET db_role = excluded.db_role, "
                "max_per_minute = excluded.max_per_minute",
                [facility, kiosk_id, login, max_per_minute])
        return Provisioned(kiosk_id, login, max_per_minute, int(limit),
                           owner is None or owner[0] != login)
    except LobbyError:
        raise
    except Exception as exc:
        raise classify(exc) from None
    finally:
        conn.close()


def remove_kiosk(config: LobbyConfig, facility: str, kiosk_id: str, *,
                 url: str | None = None) -> bool:
    """Unbind a retired kiosk's id: its login can no longer take numbers or publish.
    Its numbers and statistics stay (the day's list and reports keep them)."""
    conn = _connect(config, url)
    try:
        return conn.execute(
            "UPDATE lobby.kiosks SET db_role = %s WHERE facility = %s AND kiosk_id = %s",
            [RETIRED, facility, kiosk_id]).rowcount > 0
    except Exception as exc:
        raise classify(exc) from None
    finally:
        conn.close()


def status(config: LobbyConfig, facility: str, today: dt.date, timezone: str = "UTC"
           ) -> dict[str, Any]:
    """Reachability, schema version, the facility's kiosks and today's numbers, in one
    shape whatever happens: `state` is ok, unreachable, refused or no_schema, `error`
    says why (None when ok); times are the facility's (`timezone`), ISO 8601 with their
    offset."""
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(timezone)

    def _iso(value: dt.datetime | None) -> str | None:
        return value.astimezone(zone).isoformat(timespec="seconds") if value else None

    out: dict[str, Any] = {"state": "unreachable", "reachable": False, "schema_version": None,
                           "facility": facility, "day": today.isoformat(), "error": None,
                           "server_time": None, "kiosks": [], "departments": []}
    try:
        conn = _connect(config, budget_s=2.0)
    except LobbyError as exc:
        out["state"] = "refused" if isinstance(exc, LobbyRefused) else "unreachable"
        out["error"] = str(exc)
        return out
    try:
        out["reachable"] = True
        version = schema_version(conn)
        out["schema_version"] = version
        out["server_time"] = conn.execute("SELECT clock_timestamp()").fetchone()[0].astimezone(
            zone).isoformat(timespec="milliseconds")
        if version == 0:
            out["state"] = "no_schema"
            out["error"] = "the lobby schema does not exist yet: run 'kiosk lobby init'"
            return out
        out["kiosks"] = [
            {"kiosk_id": k, "login": role, "first_seen": _iso(first),
             "last_heartbeat": _iso(beat), "version": ver}
            for k, role, first, beat, ver in conn.execute(
                "SELECT kiosk_id, db_role, first_seen, last_heartbeat, version "
                "FROM lobby.kiosks WHERE facility = %s ORDER BY kiosk_id",
                [facility]).fetchall()]
        out["departments"] = [
            {"department": dept, "last_seq": int(last), "used": int(used), "void": int(void),
             "taken": int(taken)}
            for dept, last, used, void, taken in conn.execute(
                "SELECT c.department, c.last_seq, "
                "count(*) FILTER (WHERE n.state = 'used'), "
                "count(*) FILTER (WHERE n.state = 'void'), "
                "count(*) FILTER (WHERE n.state = 'taken') "
                "FROM lobby.queue_counters c LEFT JOIN lobby.queue_numbers n "
                "ON n.facility = c.facility AND n.department = c.department AND n.day = c.day "
                "WHERE c.facility = %s AND c.day = %s GROUP BY c.department, c.last_seq "
                "ORDER BY c.department", [facility, today]).fetchall()]
        offline = dict(conn.execute(
            "SELECT department, count(*) FROM lobby.offline_numbers WHERE facility = %s "
            "AND day = %s GROUP BY 1", [facility, today]).fetchall())
        for dept in out["departments"]:
            dept["offline"] = int(offline.pop(dept["department"], 0))
        out["departments"] += [{"department": d, "last_seq": 0, "used": 0, "void": 0,
                                "taken": 0, "offline": int(n)} for d, n in sorted(offline.items())]
        out["state"] = "ok"
        return out
    except Exception as exc:
        error = classify(exc)
        out["state"] = "refused" if isinstance(error, LobbyRefused) else "unreachable"
        out["error"] = str(error)
        return out
    finally:
        conn.close()



def tickets(config: LobbyConfig, facility: str, day: dt.date, timezone: str,
            department: str | None = None) -> list[dict[str, Any]]:
    """Every ticket of the facility's `day`, shared and offline (published by their
    kiosks when the lobby was back), in printing order: kind, department, seq,
    kiosk_id, printed_at (facility-local ISO), state (taken, used, void; offline
    numbers are 'used': a kiosk publishes only what it stored and printed)."""
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(timezone)
    conn = _connect(config, budget_s=5.0)
    try:
        rows = conn.execute(
            "SELECT 'shared', department, seq, kiosk_id, taken_at, state FROM "
            "lobby.queue_numbers WHERE facility = %(f)s AND day = %(d)s "
            "AND (%(dept)s::text IS NULL OR department = %(dept)s) "
            "UNION ALL SELECT 'offline', department, seq, kiosk_id, printed_at, 'used' FROM "
            "lobby.offline_numbers WHERE facility = %(f)s AND day = %(d)s "
            "AND (%(dept)s::text IS NULL OR department = %(dept)s) "
            "ORDER BY 5, 1 DESC, 3",
            {"f": facility, "d": day, "dept": department}).fetchall()
    except Exception as exc:
        raise classify(exc) from None
    finally:
        conn.close()
    return [{"kind": kind, "department": dept, "seq": int(seq), "kiosk_id": kiosk,
             "printed_at": at.astimezone(zone).isoformat(timespec="seconds"), "state": state}
            for kind, dept, seq, kiosk, at, state in rows]
