"""A loopback TCP proxy in front of PostgreSQL that can "hang": it then forwards
nothing either way and answers no new connection beyond the kernel's handshake,
as a server behind a firewall that drops packets does (no refusal, no reset)."""

from __future__ import annotations

import contextlib
import select
import socket
import threading


class BlackholeProxy:
    def __init__(self, target_port: int) -> None:
        self.target = ("127.0.0.1", target_port)
        self.listener = socket.create_server(("127.0.0.1", 0), backlog=128)
        self.port = int(self.listener.getsockname()[1])
        self.hanging = threading.Event()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._sockets: list[socket.socket] = []
        self._spawn(self._accept)

    def _spawn(self, target: object, *args: object) -> None:
        t = threading.Thread(target=target, args=args, daemon=True)  # type: ignore[arg-type]
        t.start()
        self._threads.append(t)

    def _accept(self) -> None:
        self.listener.settimeout(0.1)
        while not self._stop.is_set():
            try:
                client, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self._sockets.append(client)
            if self.hanging.is_set():
                continue  # accepted and never answered
            try:
                upstream = socket.create_connection(self.target, timeout=2)
            except OSError:
                client.close()
                continue
            self._sockets.append(upstream)
            self._spawn(self._pump, client, upstream)

    def _pump(self, a: socket.socket, b: socket.socket) -> None:
        pair = {a: b, b: a}
        while not self._stop.is_set():
            if self.hanging.is_set():  # hold everything; read nothing
                self._stop.wait(0.05)
                continue
            ready, _, _ = select.select([a, b], [], [], 0.05)
            for s in ready:
                try:
                    data = s.recv(65536)
                except OSError:
                    data = b""
                if not data:
                    for x in (a, b):
                        with contextlib.suppress(OSError):
                            x.close()
                    return
                try:
                    pair[s].sendall(data)
                except OSError:
                    return

    def hang(self) -> None:
        self.hanging.set()

    def resume(self) -> None:
        self.hanging.clear()

    def close(self) -> None:
        self._stop.set()
        self.listener.close()
        for s in self._sockets:
            with contextlib.suppress(OSError):
                s.close()
