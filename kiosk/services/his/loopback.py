"""A small JSON HTTP server on 127.0.0.1 for the HIS simulator and test servers.

It can misbehave on purpose, the ways a hospital's HIS does: refuse
connections (paused), answer 4xx/5xx, send garbage, answer slowly, or do
the work and then drop the connection before answering (the case that makes
idempotent writes necessary).
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

log = logging.getLogger(__name__)


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any  # parsed JSON, or None
    raw: bytes = b""

    def param(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None


@dataclass
class Reply:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"


App = Callable[[Request], Reply]


@dataclass
class Faults:
    """What the server does wrong. `mode`: None, "status" (answer `status`), "garbage",
    "slow" (sleep `delay_s` first), "drop" (handle, then close without answering).
    `count`: how many requests are affected (None: all until cleared)."""

    mode: str | None = None
    status: int = 500
    delay_s: float = 0.0
    count: int | None = None
    paths: tuple[str, ...] = ()  # only requests whose path starts with one of these

    def take(self, path: str) -> str | None:
        if self.mode is None or (self.paths and not path.startswith(self.paths)):
            return None
        if self.count is not None:
            if self.count <= 0:
                return None
            self.count -= 1
        return self.mode


class LoopbackServer:
    def __init__(self, app: App, *, port: int = 0, name: str = "his",
                 ssl_context: ssl.SSLContext | None = None) -> None:
        self.app = app
        self.ssl_context = ssl_context  # serve HTTPS (a kiosk verifying the HIS's certificate)
        self.name = name
        self.port = port
        self.faults = Faults()
        self.requests = 0
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._connections: set[socket.socket] = set()

    @property
    def url(self) -> str:
        return f"{'https' if self.ssl_context else 'http'}://127.0.0.1:{self.port}"

    def start(self) -> str:
        handler = _handler(self)
        server = ThreadingHTTPServer(("127.0.0.1", self.port), handler)
        server.daemon_threads = True
        if self.ssl_context is not None:
            server.socket = self.ssl_context.wrap_socket(server.socket, server_side=True)
        self.port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, args=(0.05,),
                                        name=f"{self.name}-http", daemon=True)
        self._thread.start()
        return self.url

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        # Kept-alive connections would go on being served: a down HIS answers nothing.
        with self._lock:
            open_now, self._connections = list(self._connections), set()
        for conn in open_now:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

    def pause(self) -> None:
        """Stop listening: clients get "connection refused" (the HIS is down)."""
        self.stop()

    def resume(self) -> None:
        """Listen again on the same port (nothing to do while listening)."""
        if self._server is not None:
            return
        for _ in range(50):
            try:
                self.start()
                return
            except OSError:  # the port lingers a moment after close
                time.sleep(0.1)
        raise RuntimeError(f"cannot listen on 127.0.0.1:{self.port} again")

    def set_faults(self, **kw: Any) -> None:
        with self._lock:
            self.faults = Faults(**kw)

    def _take_fault(self, path: str) -> tuple[str | None, Faults]:
        with self._lock:
            self.requests += 1
            return self.faults.take(path), self.faults


def _handler(owner: LoopbackServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive: clients reuse connections

        def setup(self) -> None:
            super().setup()
            # Headers and body go out as two writes; without NODELAY, Nagle + delayed ACK
            # add ~40 ms to every kept-alive request.
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with owner._lock:
                owner._connections.add(self.connection)

        def finish(self) -> None:
            with owner._lock:
                owner._connections.discard(self.connection)
            with contextlib.suppress(OSError):
                super().finish()

        def log_message(self, format: str, *args: Any) -> None:
            log.debug("%s %s", owner.name, format % args)

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            parts = urlsplit(self.path)
            fault, faults = owner._take_fault(parts.path)
            if fault == "slow":
                time.sleep(faults.delay_s)
            if fault == "status":
                self._send(Reply(faults.status, {"error": "simulated failure"}))
                return
            if fault == "garbage":
                self._send_bytes(200, b"<html>Proxy error \x00\xff", "text/html")
                return
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                self._send(Reply(400, {"error": "body is not JSON"}))
                return
            request = Request(self.command, parts.path, parse_qs(parts.query),
                              {k.lower(): v for k, v in self.headers.items()}, body, raw)
            try:
                reply = owner.app(request)
            except Exception:
                log.exception("%s simulator failed", owner.name)
                reply = Reply(500, {"error": "internal error"})
            if fault == "drop":  # the work is done, the answer is lost
                self.close_connection = True
                self.connection.close()
                return
            self._send(reply)

        def _send(self, reply: Reply) -> None:
            data = b"" if reply.body is None else json.dumps(
                reply.body, ensure_ascii=False).encode()
            self._send_bytes(reply.status, data, reply.content_type, reply.headers)

        def _send_bytes(self, status: int, data: bytes, content_type: str,
                        headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

    return Handler
