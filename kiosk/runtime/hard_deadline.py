"""Cut a request's connection when its deadline passes, whatever it is waiting for.

`bounded_http.read_body` checks the deadline between pieces of the body, and the
per-read timeout bounds a server that sends nothing. Neither bounds what comes
before the body: a status line and headers (or a TLS handshake) sent a byte a second
keep every read short and never finish, and urllib3 reads them all before the caller
sees a response (decision 0106). Here a timer shuts the socket(s) the request uses
down at the deadline; the blocked read then fails and the caller's own error
handling (a retry, "unavailable") takes over.

Use: `watched(session)` once, then `bounded_http.bounded_request` (or run the request
and the reading of its body inside `with cut_at(deadline) as cut:`; `cut()` says
whether the timer fired).
"""

from __future__ import annotations

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

_LOCAL = threading.local()  # .sockets: the list the current `cut_at` watches, or None


def _watch(sock: Any) -> None:
    sockets = getattr(_LOCAL, "sockets", None)
    if sockets is not None and sock is not None:
        sockets.append(sock)


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


@contextmanager
def cut_at(deadline: float) -> Iterator[Callable[[], bool]]:
    """Shut down, at `deadline` (a `time.monotonic()` instant), every socket a request
    of this thread opens or reuses inside the block. Yields "did it fire?"."""
    sockets: list[Any] = []
    fired = threading.Event()

    def cut() -> None:
        fired.set()
        for sock in sockets:
            with suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    timer = threading.Timer(max(0.0, deadline - time.monotonic()), cut)
    timer.daemon = True
    _LOCAL.sockets = sockets
    timer.start()
    try:
        yield fired.is_set
    finally:
        timer.cancel()
        _LOCAL.sockets = None
