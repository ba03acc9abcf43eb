"""The kiosk's connection to the lobby database, within a time budget, behind a breaker.

Every call runs on one worker thread that owns the psycopg connection; the
caller waits at most the budget (`[lobby] timeout_ms`, 300 ms by default) and
then decides without the lobby (decision 0132):

* at most one request is in flight: while one is still unanswered, the next
  patient is answered "offline" at once instead of queueing behind it, so a
  freeze of any length leaves at most one late request per kiosk;
* a request over its budget is cancelled on the server (a cancel request from
  another thread): a slow server rolls it back instead of taking a number
  behind the patient's back;
* the breaker opens after `FAILURES_TO_OPEN` consecutive failures, not one slow
  answer, and once `retry_after_s` has passed it sends a probe (`SELECT 1`) of
  its own in the background; patients get shared numbers again only after the
  probe came back.

The worker is a daemon thread: a call stuck on a dead socket never delays the
process's exit, and TCP user/keepalive timeouts free it within a few seconds.
"""

from __future__ import annotations

import datetime as dt
import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
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
FAILURES_TO_OPEN = 3  # consecutive failures (unanswered or unreachable) open the breaker
# The kiosk's clock against the server's (decision 0130): numbers take the server's
# day whatever the kiosk's clock says; a skew beyond these is logged and fails doctor.
SKEW_WARN_S = 2.0
SKEW_FAIL_S = 30.0


class LobbyError(RuntimeError):
    """The lobby database could not do what was asked."""


class LobbyUnavailable(LobbyError):
    """Unreachable, too slow, or the breaker is open: decide without it."""


class LobbyRefused(LobbyError):
    """Credentials, privileges or the server's certificate refused: a configuration
    problem, not an outage."""


class LobbyRateLimited(LobbyError):
    """This kiosk took more numbers this minute than the lobby allows it (decision 0131):
    the server is up, the patient gets an offline number."""


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
    if isinstance(exc, psycopg.errors.ConfigurationLimitExceeded):
        return LobbyRateLimited(_first_line(text))
    if isinstance(exc, psycopg.OperationalError) and any(
            marker in text for marker in _MISCONFIGURED):
        return LobbyRefused(_misconfigured_hint(text))
    if isinstance(exc, psycopg.errors.InsufficientPrivilege | psycopg.errors.InvalidPassword |
                  psycopg.errors.InvalidAuthorizationSpecification):
        return LobbyRefused(_first_line(text))
    if isinstance(exc, psycopg.OperationalError) and any(
            marker in text for marker in ("password authentication failed",
                                          "pg_hba.conf", "role \"",
                                          "permission denied", "does not exist")):
        return LobbyRefused(_misconfigured_hint(text) if "database" in text
                            and "does not exist" in text else _first_line(text))
    return LobbyUnavailable(_first_line(text) or type(exc).__name__)


# libpq's words for a server the kiosk must not trust or cannot find by name: a
# configuration problem (exit 6, doctor FAIL), not an outage to wait out offline.
_MISCONFIGURED = ("certificate", "does not match host name",
                  "root certificate file", "could not translate host name",
                  "Name or service not known", "server does not support SSL")


def _misconfigured_hint(text: str) -> str:
    line = _first_line(text)
    if "database" in line and "does not exist" in line:
        return f"{line} (check the database name at the end of [lobby] url)"
    if "could not translate host name" in text or "Name or service not known" in text:
        return f"{line} (check the host name in [lobby] url)"
    return f"{line} (check [lobby] sslrootcert and the server's certificate name)"


def _first_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    # libpq prefixes "connection failed: connection to server at ... failed:" lines
    for line in lines:
        if not line.startswith(("connection failed:", "connection to server at")):
            return line
    return lines[0] if lines else ""


def _skew(server: dt.datetime, sent: float, received: float) -> float:
    return server.timestamp() - (sent + received) / 2


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
                 retry_after_s: float = 10.0, version: str = "",
                 clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self.facility = facility
        self.kiosk_id = kiosk_id
        self.version = version
        self.budget_s = config.timeout_ms / 1000 if budget_s is None else budget_s
        self.breaker = breaker or CircuitBreaker(failure_threshold=FAILURES_TO_OPEN,
                                                 reset_after_s=retry_after_s)
        import psycopg  # noqa: F401  (loading libpq is not the patient's wait)

        self._conn: Any = None
        self._worker: _Worker | None = None
        self._inflight: Future[Any] | None = None
        self._lock = threading.Lock()
        self.skew_s: float | None = None  # server clock minus this kiosk's, last seen
        self.clock = clock  # this kiosk's wall clock (tests skew it)

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
                # Only a connection that died is re-made and the call repeated; a
                # request the server cancelled (over budget) or refused is not re-run.
                if fresh or self._conn is None or not (self._conn.broken
                                                       or self._conn.closed):
                    if self._conn is not None and self._conn.broken:
                        self._drop()
                    raise
                self._drop()
            except BaseException:
                if self._conn is not None and self._conn.broken:
                    self._drop()
                raise
            return fn(self._connection())
        return job

    def call(self, fn: Callable[[Any], T], *, budget_s: float | None = None) -> T:
        """`fn(connection)` within the budget, or LobbyUnavailable/LobbyRefused/
        LobbyRateLimited."""
        if not self.breaker.allow():
            raise LobbyUnavailable(f"lobby database offline (next try in "
                                   f"{self.breaker.retry_in_s():.0f} s)")
        if self.breaker.state == "half_open":  # allow() granted the probe: ours, not theirs
            self._probe()
            raise LobbyUnavailable("lobby database offline (probing it now)")
        with self._lock:
            if self._inflight is not None and not self._inflight.done():
                raise LobbyUnavailable("the previous lobby request is still unanswered")
            if self._worker is None:
                self._worker = _Worker(f"lobby-{self.kiosk_id}")
            future = self._worker.submit(self._job(fn))
            self._inflight = future
        budget = self.budget_s if budget_s is None else budget_s
        try:
            result = future.result(timeout=budget)
        except FutureTimeout:
            self._cancel_late(future)
            self._failed()
            raise LobbyUnavailable(f"no answer within {budget * 1000:.0f} ms") from None
        except LobbyError:
            self._failed()
            raise
        except Exception as exc:
            error = classify(exc)
            if isinstance(error, LobbyUnavailable):
                self._failed()
            else:  # the server answered: it is up, the request is what is wrong
                self.breaker.record_success()
            raise error from None
        self.breaker.record_success()
        return result

    def _failed(self) -> None:
        was_open = self.breaker.state != "closed"
        self.breaker.record_failure()
        if not was_open and self.breaker.state == "open":
            log.warning("lobby database: %d requests in a row failed; offline numbers for "
                        "%.0f s, then a probe", FAILURES_TO_OPEN, self.breaker.reset_after_s)

    def _probe(self) -> None:
        """`SELECT 1` in the background; its answer closes or re-opens the breaker."""
        def probe(conn: Any) -> None:
            conn.execute("SELECT 1")

        def settle(done: Future[Any]) -> None:
            if done.exception() is None:
                self.breaker.record_success()
                log.info("lobby database answers again: shared numbers")
            else:
                self.breaker.record_failure()

        with self._lock:
            if self._worker is None:
                self._worker = _Worker(f"lobby-{self.kiosk_id}")
            future = self._worker.submit(self._job(probe))
            self._inflight = future
        future.add_done_callback(settle)

    def _cancel_late(self, future: Future[Any]) -> None:
        """Ask the server to cancel the request the patient no longer waits for (from a
        thread of its own: the cancel itself may hang on a dead network)."""
        conn = self._conn

        def cancel() -> None:
            if conn is None or future.done():
                return
            try:
                conn.cancel_safe(timeout=CONNECT_TIMEOUT_S)
            except Exception as exc:  # unreachable: the request dies with its socket
                log.debug("cancelling the late lobby request: %s", exc)

        threading.Thread(target=cancel, name=f"lobby-cancel-{self.kiosk_id}",
                         daemon=True).start()

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
    def take_number(self, department: str, reg_ref: str) -> tuple[str, int]:
        """(day, seq): the department's next shared number, for the day the server's
        clock says it is in the facility's time zone (ISO date), on the server's disk
        before it is returned (decision 0134: a burst of kiosks shares the WAL flushes)."""
        def take(conn: Any) -> tuple[str, int, float]:
            sent = self.clock()
            row = conn.execute("CALL lobby.take_number_durably(%s, %s, %s, %s)",
                               [self.facility, department, self.kiosk_id, reg_ref]).fetchone()
            return row[0].isoformat(), int(row[1]), _skew(row[2], sent, self.clock())
        day, seq, skew = self.call(take)
        self._note_skew(skew)
        return day, seq

    def server_skew(self, *, budget_s: float | None = None) -> float:
        """The server's clock minus this kiosk's, in seconds (± half a round trip)."""
        def clock(conn: Any) -> float:
            sent = self.clock()
            server = conn.execute("SELECT clock_timestamp()").fetchone()[0]
            return _skew(server, sent, self.clock())
        skew = self.call(clock, budget_s=budget_s)
        self._note_skew(skew)
        return skew

    def _note_skew(self, skew: float) -> None:
        """Log when the kiosk's clock drifts past the bound, and when it is back, once."""
        was_off = self.skew_s is not None and abs(self.skew_s) > SKEW_WARN_S
        self.skew_s = skew
        if abs(skew) > SKEW_WARN_S and not was_off:
            log.warning("this kiosk's clock is %+.1f s off the lobby server's (bound %.0f s):"
                        " numbers follow the server's day; check NTP", -skew, SKEW_WARN_S)
        elif was_off and abs(skew) <= SKEW_WARN_S:
            log.info("this kiosk's clock agrees with the lobby server's again (%+.1f s)",
                     -skew)

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

    def publish_offline(self, tickets: list[tuple[str, str, int, str, str]], *,
                        budget_s: float | None = None) -> int:
        """(department, day, seq, reg_ref, printed_at ISO) of offline numbers printed
        here; re-sending one changes nothing."""
        columns: list[list[Any]] = [[t[i] for t in tickets] for i in range(5)]

        def publish(conn: Any) -> int:
            row = conn.execute(
                "SELECT lobby.publish_offline_numbers(%s, %s, %s, %s::date[], %s, %s, "
                "%s::timestamptz[])", [self.facility, self.kiosk_id, *columns]).fetchone()
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

    # -- one number per patient, service and day across the lobby (decision 0143) ----
    def take_number_once(self, department: str, reg_ref: str, holder: bytes) -> SharedNumber:
        """The number a kiosk of the lobby already holds for `holder` (its keyed hash of
        the patient, day and service) today, or the department's next shared number for
        `reg_ref`, recorded under `holder` in the same transaction; on the server's
        disk before it is returned, as `take_number`'s."""
        def take(conn: Any) -> tuple[SharedNumber, float]:
            sent = self.clock()
            row = conn.execute("CALL lobby.take_number_once_durably(%s, %s, %s, %s, %s)",
                               [self.facility, department, self.kiosk_id, reg_ref,
                                holder]).fetchone()
            return (SharedNumber(row[0].isoformat(), int(row[1]), row[3], row[4], row[5]),
                    _skew(row[2], sent, self.clock()))
        number, skew = self.call(take)
        self._note_skew(skew)
        return number


@dataclass(frozen=True)
class SharedNumber:
    """A shared number: this registration's (held_by None), or the one kiosk `held_by`
    already holds for the same patient and service today (registration `held_ref`,
    taken at `held_at`)."""

    day: str  # ISO date, the server's facility-local day
    seq: int
    held_by: str | None = None
    held_ref: str | None = None
    held_at: dt.datetime | None = None
