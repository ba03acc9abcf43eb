"""Cut a request's connection when its deadline passes, whatever it is waiting for.

`bounded_http.read_body` checks the deadline between pieces of the body, and the
per-read timeout bounds a server that sends nothing. Neither bounds what comes
before the body: a status line and headers (or a TLS handshake) sent a byte a second
keep every read short and never finish, and urllib3 reads them all before the caller
sees a response (decision 0106). Here one watchdog thread shuts the socket(s) a
request uses down at its deadline; the blocked read then fails and the caller's own
error handling (a retry, "unavailable") takes over.

Use: `watched(session)` once, then `bounded_http.bounded_request` (or run the request
and the reading of its body inside `with cut_at(deadline) as cut:`; `cut()` says
whether it was cut).
"""

from __future__ import annotations

import heapq
import itertools
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

# The cut comes this long after the deadline: a server that went silent is reported by
# the read timeout callers set to the deadline; the cut is for one that keeps trickling.
GRACE_S = 0.2
_LOCAL = threading.local()  # .entry: what the current `cut_at` watches, or None


def _watch(sock: Any) -> None:
    entry = getattr(_LOCAL, "entry", None)
    if entry is not None and sock is not None:
        entry.add(sock)


class _Watched:
    """Registers the socket of every request made inside `cut_at`: a new connection's
    (before its TLS handshake) and a kept-alive one's."""

    def _new_conn(self) -> socket.socket:
        sock: socket.socket = super()._new_conn()  # type: ignore[misc]
        _watch(sock)
        return sock

    def request(self, *args: Any, **kwargs: Any) -> None:
        _watch(getattr(self, "sock", None))
        super().request(*args, **kwargs)  # type: ignore[misc]


class _WatchedHTTPConnection(_Watched, HTTPConnection):
    pass


class _WatchedHTTPSConnection(_Watched, HTTPSConnection):
    pass


class _WatchedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


_POOLS = {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}


class DeadlineAdapter(HTTPAdapter):
    """requests' adapter whose connections `cut_at` can cut (through an http(s) proxy
    too; a SOCKS proxy keeps its own connections, bounded by the read timeouts only)."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = dict(_POOLS)

    def proxy_manager_for(self, proxy: str, **kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **kwargs)
        if not proxy.lower().startswith("socks"):
            manager.pool_classes_by_scheme = dict(_POOLS)
        return manager


def watched(session: requests.Session) -> requests.Session:
    """`session`, its requests cuttable by `cut_at`."""
    for scheme in ("http://", "https://"):
        session.mount(scheme, DeadlineAdapter())
    return session


def not_cut() -> bool:
    """What `cut` is before `cut_at` ran (an exception before the request)."""
    return False


def _shut(sock: Any) -> None:
    with suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


class _Entry:
    """One request under watch: its deadline, the sockets it uses, and whether it was
    cut (`fired`) or finished first (`done`); the lock makes the two exclusive."""

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.sockets: list[Any] = []
        self.fired = False
        self.done = False
        self.lock = threading.Lock()

    def add(self, sock: Any) -> None:
        with self.lock:
            self.sockets.append(sock)
            if self.fired:  # a connection opened after the deadline: cut at once
                _shut(sock)

    def cut(self) -> None:
        with self.lock:
            if self.done:
                return
            self.fired = True
            for sock in self.sockets:
                _shut(sock)

    def finish(self) -> None:
        with self.lock:
            self.done = True


class _Watchdog:
    """One daemon thread for every request's deadline: starting a thread per request
    cost more than the request itself on loopback (benchmarks/deadline_cut.py)."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.heap: list[tuple[float, int, _Entry]] = []
        self.order = itertools.count()
        self.thread: threading.Thread | None = None

    def watch(self, entry: _Entry) -> None:
        with self.cond:
            heapq.heappush(self.heap, (entry.deadline, next(self.order), entry))
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(target=self._run, name="request-deadlines",
                                               daemon=True)
                self.thread.start()
            elif self.heap[0][2] is entry:
                self.cond.notify()

    def _run(self) -> None:
        with self.cond:
            while True:
                while self.heap and self.heap[0][2].done:
                    heapq.heappop(self.heap)
                if not self.heap:
                    self.cond.wait()
                    continue
                wait = self.heap[0][0] - time.monotonic()
                if wait > 0:
                    self.cond.wait(wait)
                    continue
                heapq.heappop(self.heap)[2].cut()


_WATCHDOG = _Watchdog()


@contextmanager
def cut_at(deadline: float) -> Iterator[Callable[[], bool]]:
    """Shut down, at `deadline` (a `time.monotonic()` instant) + `GRACE_S`, every socket
    a request of this thread opens or reuses inside the block. Yields "was it cut?"."""
    entry = _Entry(deadline + GRACE_S)
    _LOCAL.entry = entry
    _WATCHDOG.watch(entry)
    try:
        yield lambda: entry.fired
    finally:
        entry.finish()
        _LOCAL.entry = None
