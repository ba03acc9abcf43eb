"""Serve a virtual card to pcscd through Debian's vsmartcard-vpcd driver.

vpcd (inside pcscd) listens on 127.0.0.1:35963 (reader "Virtual PCD 00 00");
the card connects to it. Frames are a 2-byte big-endian length and a payload;
1-byte payloads are control: 00 power off, 01 power on, 02 reset, 04 ATR.
vpcd writes length and APDU in two sends, so the socket needs TCP_NODELAY and
TCP_QUICKACK re-armed after every receive (Linux clears it), or delayed ACKs
cost ~44 ms per APDU.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from collections.abc import Callable
from typing import Protocol

log = logging.getLogger(__name__)
DEFAULT_PORT = 35963


class Card(Protocol):
    @property
    def atr(self) -> bytes: ...

    def process(self, raw: bytes) -> bytes: ...

    def reset(self) -> None: ...


def _quickack(sock: socket.socket) -> None:
    quickack = getattr(socket, "TCP_QUICKACK", None)
    if quickack is not None:
        sock.setsockopt(socket.IPPROTO_TCP, quickack, 1)


def _recv_exact(sock: socket.socket, n: int) -> bytes | None:
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
        _quickack(sock)
    return bytes(buf)


class VpcdCard:
    """Connects a card to vpcd and answers until `stop()`; reconnects if pcscd restarts.

    `remove_after` (tests): drop the connection after that many APDUs, which
    pcscd reports as the card leaving the field.
    """

    def __init__(
        self,
        card: Card,
        host: str = "127.0.0.1",
        port: int = DEFAULT_PORT,
        *,
        remove_after: int | None = None,
        on_apdu: Callable[[int], None] | None = None,
    ) -> None:
        self.card = card
        self.host, self.port = host, port
        self.remove_after = remove_after
        self.on_apdu = on_apdu
        self.apdus = 0
        self.connected = threading.Event()
        self._stop = threading.Event()
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------
    def start(self) -> VpcdCard:
        self._thread = threading.Thread(target=self.serve_forever, name="vpcd-card", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def remove(self) -> None:
        """Take the card out of the field now (keep serving stopped until insert())."""
        self.remove_after = self.apdus
        self._close()

    def _close(self) -> None:
        sock, self._sock = self._sock, None
        self.connected.clear()
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    # -- serving -------------------------------------------------------------------
    def serve_forever(self) -> None:
        while not self._stop.is_set():
            if self.remove_after is not None and self.apdus >= self.remove_after:
                time.sleep(0.05)
                continue
            try:
                sock = socket.create_connection((self.host, self.port), timeout=1.0)
            except OSError:
                time.sleep(0.1)  # pcscd not up yet, or restarting
                continue
            sock.settimeout(None)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            _quickack(sock)
            self._sock = sock
            self.connected.set()
            try:
                self._serve(sock)
            except OSError as exc:
                log.debug("vpcd connection ended: %s", exc)
            finally:
                self._close()

    def _serve(self, sock: socket.socket) -> None:
        while not self._stop.is_set():
            head = _recv_exact(sock, 2)
            if head is None:
                return
            size = int.from_bytes(head, "big")
            msg = _recv_exact(sock, size) if size else b""
            if msg is None:
                return
            if size == 1:
                ctrl = msg[0]
                if ctrl == 0x04:
                    self._send(sock, self.card.atr)
                elif ctrl in (0x00, 0x01, 0x02):
                    self.card.reset()
                continue
            if self.remove_after is not None and self.apdus >= self.remove_after:
                return  # the card "leaves the field" instead of answering
            self.apdus += 1
            if self.on_apdu:
                self.on_apdu(self.apdus)
            self._send(sock, self.card.process(msg))

    @staticmethod
    def _send(sock: socket.socket, data: bytes) -> None:
        sock.sendall(len(data).to_bytes(2, "big") + data)
        _quickack(sock)
