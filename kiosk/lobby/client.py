"""The kiosk's connection to the lobby database, within a time budget, behind a breaker.

Every call runs on one worker thread that owns the psycopg connection; the
caller waits at most the budget (`[lobby] timeout_ms`, 300 ms by default) and
then decides without the lobby. A server that refuses answers at once; one
that hangs (packets dropped) costs the budget once, then the breaker (the
BHXH client's `CircuitBreaker`, opened by a single failure) answers "offline"
in microseconds until a probe after `retry_after_s` finds it back. The worker
is a daemon thread: a call stuck on a dead socket never delays the process's
exit, and TCP user/keepalive timeouts free it within a few seconds.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any, TypeVar
from urllib.parse import urlsplit

from kiosk.config.model import LobbyConfig
from kiosk.runtime.breaker import CircuitBreaker

log = logging.getLogger(__name__)
T = TypeVar("T")

# libpq's connect_timeout is whole seconds (2 at least); the budget is enforced by
# waiting on the worker, these only bound how long the worker itself stays stuck.
CONNECT_TIMEOUT_S = 2
TCP_USER_TIMEOUT_MS = 3000


class LobbyError(RuntimeError):
    """The lobby database could not do what was asked."""


class LobbyUnavailable(LobbyError):
    """Unreachable, too slow, or the breaker is open: decide without it."""


class LobbyRefused(LobbyError):
    """Credentials or privileges refused: a configuration problem, not an outage."""


def masked_url(url: str) -> str:
    """The url as it may be logged (it never holds a password; strip one anyway)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return parts._replace(netloc=netloc).geturl()


def connect_kwargs(config: LobbyConfig, application_name: str) -> dict[str, Any]:
    kwargs: dict[str, Any] = {
        "sslmode": config.sslmode,
        "connect_timeout": CONNECT_TIMEOUT_S,
        "tcp_user_timeout": TCP_USER_TIMEOUT_MS,
        "keepalives": 1, "keepalives_idle": 5, "keepalives_interval": 2,
        "keepalives_count": 2,
        "application_name": application_name[:63],
        "autocommit": True,
    }
    if config.password:
        kwargs["password"] = config.password
    if config.sslrootcert:
        kwargs["sslrootcert"] = config.sslrootcert
    return kwargs


def classify(exc: BaseException) -> LobbyError:
    """psycopg's errors as the kiosk acts on them."""
    import psycopg

    text = str(exc)
    if isinstance(exc, psycopg.errors.InsufficientPrivilege | psycopg.errors.InvalidPassword |
                  psycopg.errors.InvalidAuthorizationSpecification):
        return LobbyRefused(_first_line(text))
    if isinstance(exc, psycopg.OperationalError) and any(
            marker in text for marker in ("password authentication failed",
                                          "pg_hba.conf", "role \"",
                                          "permission denied", "does not exist")):
        return LobbyRefused(_first_line(text))
    return LobbyUnavailable(_first_line(text) or type(exc).__name__)


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else ""


class _Worker:
    """One daemon thread running jobs in order against one connection."""

    def __init__(self, name: str) -> None:
        self.jobs: queue.Queue[tuple[Callable[[], Any], Future[Any]]] = queue.Queue()
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)
        self.thread.start()

    def submit(self, fn: Callable[[], T]) -> Future[T]:
        future: Future[T] = Future()
        self.jobs.put((fn, future))
        return future

    def _run(self) -> None:
        while True:
            fn, future = self.jobs.get()
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(fn())
            except BaseException as exc:
                future.set_exception(exc)


class LobbyClient:
    """Calls into the lobby database for one kiosk of one facility."""

    def __init__(self, config: LobbyConfig, facility: str, kiosk_id: str, *,
                 budget_s: float | None = None, breaker: CircuitBreaker | None = None,
                 retry_after_s: float = 10.0, version: str = "") -> None:
        self.config = config
        self.facility = facility
        self.kiosk_id = kiosk_id
        self.version = version
        self.budget_s = config.timeout_ms / 1000 if budget_s is None else budget_s
        self.breaker = breaker or CircuitBreaker(failure_threshold=1,
                                                 reset_after_s=retry_after_s)
        import psycopg  # noqa: F401  (loading libpq is not the patient's wait)

        self._conn: Any = None
        self._worker: _Worker | None = None
        self._lock = threading.Lock()

    @classmethod
    def from_config(cls, config: Any, **kwargs: Any) -> LobbyClient | None:
        """The client for a kiosk `Config`, or None when it has no `[lobby]`."""
        if config.lobby is None:
            return None
        from kiosk import __version__

        kwargs.setdefault("version", __version__)
        return cls(config.lobby, config.facility.code, config.kiosk_id, **kwargs)

    # -- plumbing -------------------------------------------------------------------
    def _connection(self) -> Any:
        import psycopg

        if self._conn is None or self._conn.closed:
            self._conn = psycopg.connect(
                self.config.url, **connect_kwargs(self.config, f"kiosk {self.kiosk_id}"))
        return self._conn

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except Exception as exc:  # closing a dead socket: nothing more to do
                log.debug("closing the lobby connection: %s", exc)

    def _job(self, fn: Callable[[Any], T]) -> Callable[[], T]:
        """Run `fn(connection)`; a connection that went stale since its last use (the
        server restarted) is replaced once, so the first patient after a restart still
        gets a shared number. Callers' functions must be safe to repeat."""
        def job() -> T:
            import psycopg

            fresh = self._conn is None or self._conn.closed
            try:
                return fn(self._connection())
            except psycopg.OperationalError:
                self._drop()
                if fresh:
                    raise
            except BaseException:
                if self._conn is not None and self._conn.broken:
                    self._drop()
                raise
            return fn(self._connection())
        return job

    def call(self, fn: Callable[[Any], T], *, budget_s: float | None = None) -> T:
        """`fn(connection)` within the budget, or LobbyUnavailable/LobbyRefused."""
        if not self.breaker.allow():
            raise LobbyUnavailable(f"lobby database offline (next try in "
                                   f"{self.breaker.retry_in_s():.0f} s)")
        with self._lock:
            if self._worker is None:
                self._worker = _Worker(f"lobby-{self.kiosk_id}")
            future = self._worker.submit(self._job(fn))
        budget = self.budget_s if budget_s is None else budget_s
        try:
            result = future.result(timeout=budget)
        except FutureTimeout:
            self.breaker.record_failure()
            raise LobbyUnavailable(f"no answer within {budget * 1000:.0f} ms") from None
        except LobbyError:
            self.breaker.record_failure()
            raise
        except Exception as exc:
            error = classify(exc)
            if isinstance(error, LobbyUnavailable):
                self.breaker.record_failure()
            else:  # the server answered: it is up, the request is what is wrong
                self.breaker.record_success()
            raise error from None
        self.breaker.record_success()
        return result

    def warm(self, *, wait_s: float | None = None) -> bool:
        """Open the connection ahead of the first patient (TLS and SCRAM cost a few
        milliseconds of CPU each, far more on a busy 2-core box at boot). With `wait_s`
        None it returns at once; a failure opens the breaker like any other."""
        if wait_s is None:
            self._submit_warm()
            return True
        try:
            self.call(lambda conn: None, budget_s=wait_s)
        except LobbyError as exc:
            log.warning("lobby database not reachable at start: %s", exc)
            return False
        return True

    def _submit_warm(self) -> None:
        with self._lock:
            if self._worker is None:
                self._worker = _Worker(f"lobby-{self.kiosk_id}")
            self._worker.submit(self._job(lambda conn: None))

    def stop(self) -> None:  # the kiosk assembly stops its handles
        self.close()

    def close(self) -> None:
        worker = self._worker
        if worker is None:
            return
        done = worker.submit(self._drop)
        try:
            done.result(timeout=self.budget_s)
        except (FutureTimeout, Exception) as exc:  # stuck on a dead socket: let it be
            log.debug("lobby connection not closed cleanly: %s", exc)

    # -- what kiosks do ------------------------------------------------------------
    def take_number(self, department: str, day: str, reg_ref: str) -> int:
        """The department's next shared number for `day` (facility-local ISO date)."""
        def take(conn: Any) -> int:
            row = conn.execute("SELECT lobby.take_number(%s, %s, %s, %s, %s)",
                               [self.facility, department, day, self.kiosk_id,
                                reg_ref]).fetchone()
            return int(row[0])
        return self.call(take)

    def heartbeat(self, *, budget_s: float | None = None) -> None:
        self.call(lambda conn: conn.execute("SELECT lobby.heartbeat(%s, %s, %s)",
                                            [self.facility, self.kiosk_id, self.version]),
                  budget_s=budget_s)

    def unsettled(self, grace_s: float, *, budget_s: float | None = None
                  ) -> list[tuple[str, str, str, int]]:
        """This kiosk's numbers still 'taken' after `grace_s` (by the server's clock):
        (reg_ref, department, day, seq)."""
        def query(conn: Any) -> list[tuple[str, str, str, int]]:
            rows = conn.execute(
                "SELECT reg_ref, department, day::text, seq FROM lobby.queue_numbers "
                "WHERE facility = %s AND kiosk_id = %s AND state = 'taken' "
                "AND taken_at <= now() - make_interval(secs => %s) ORDER BY taken_at LIMIT 500",
                [self.facility, self.kiosk_id, grace_s]).fetchall()
            return [(r[0], r[1], r[2], int(r[3])) for r in rows]
        return self.call(query, budget_s=budget_s)

    def settle(self, used: list[str], void: list[str], *, budget_s: float | None = None
               ) -> int:
        def settle(conn: Any) -> int:
            row = conn.execute("SELECT lobby.settle_numbers(%s, %s, %s, %s)",
                               [self.facility, self.kiosk_id, used, void]).fetchone()
            return int(row[0])
        return self.call(settle, budget_s=budget_s)

    def publish(self, day: str, values: dict[str, int], *, budget_s: float | None = None
                ) -> int:
        metrics = sorted(values)

        def publish(conn: Any) -> int:
            row = conn.execute("SELECT lobby.publish_statistics(%s, %s, %s, %s, %s)",
                               [self.facility, self.kiosk_id, day, metrics,
                                [values[m] for m in metrics]]).fetchone()
            return int(row[0])
        return self.call(publish, budget_s=budget_s)

    def statistics(self, day_from: str, day_to: str, like: str, kiosk_id: str | None = None,
                   *, budget_s: float | None = None) -> list[tuple[str, str, str, int]]:
        """(kiosk_id, day, metric, value) of every kiosk of this facility."""
        def query(conn: Any) -> list[tuple[str, str, str, int]]:
            sql = ("SELECT kiosk_id, day::text, metric, value FROM lobby.statistics "
                   "WHERE facility = %s AND day BETWEEN %s AND %s AND metric LIKE %s")
            params: list[Any] = [self.facility, day_from, day_to, like]
            if kiosk_id is not None:
                sql += " AND kiosk_id = %s"
                params.append(kiosk_id)
            return [(r[0], r[1], r[2], int(r[3]))
                    for r in conn.execute(sql, params).fetchall()]
        return self.call(query, budget_s=budget_s)

