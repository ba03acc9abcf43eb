"""`kiosk lobby init` and `kiosk lobby status`: the shared schema and what it holds.

`init` runs the pending schema versions in one transaction under an advisory
lock, so two technicians (or two kiosks' installers) running it at once do it
once; running it again changes nothing. It needs the database owner's login
(the kiosks' role may not create anything); `status` works with either.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from kiosk.config.model import LobbyConfig
from kiosk.lobby.client import LobbyError, LobbyRefused, LobbyUnavailable, classify
from kiosk.lobby.client import connect_kwargs as _kwargs
from kiosk.lobby.schema import LATEST, LOCK_KEY, MIGRATIONS


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


def init(config: LobbyConfig, url: str | None = None) -> InitResult:
    """Create or migrate the lobby schema. LobbyUnavailable / LobbyRefused on failure."""
    conn = _connect(config, url)
    try:
        conn.autocommit = False
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK_KEY])
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
        raise classify(exc) from None
    finally:
        conn.close()


def status(config: LobbyConfig, facility: str, today: dt.date) -> dict[str, Any]:
    """Reachability, schema version, the facility's kiosks and today's numbers."""
    out: dict[str, Any] = {"reachable": False, "schema_version": None, "facility": facility,
                           "day": today.isoformat(), "kiosks": [], "departments": []}
    try:
        conn = _connect(config, budget_s=2.0)
    except LobbyUnavailable as exc:
        out["error"] = str(exc)
        return out
    try:
        out["reachable"] = True
        version = schema_version(conn)
        out["schema_version"] = version
        if version == 0:
            out["error"] = "the lobby schema does not exist yet: run 'kiosk lobby init'"
            return out
        out["kiosks"] = [
            {"kiosk_id": k, "first_seen": _iso(first), "last_heartbeat": _iso(beat),
             "version": ver}
            for k, first, beat, ver in conn.execute(
                "SELECT kiosk_id, first_seen, last_heartbeat, version FROM lobby.kiosks "
                "WHERE facility = %s ORDER BY kiosk_id", [facility]).fetchall()]
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
        return out
    except Exception as exc:
        error = classify(exc)
        out["error"] = str(error)
        if isinstance(error, LobbyRefused):
            raise error from None
        return out
    finally:
        conn.close()


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") if value is not None else None
