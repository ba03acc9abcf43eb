"""A network ESC/POS printer on 127.0.0.1 (raw TCP, like port 9100) that answers
the real-time status queries DLE EOT 1 and DLE EOT 4 with configured bytes and
keeps everything it was sent."""

from __future__ import annotations

import contextlib
import socket
import threading

PRINTER_OK = b"\x16"  # DLE EOT 1: fixed bits 1,2,4 set, bit 3 (offline) clear
PRINTER_OFFLINE = b"\x1e"  # bit 3 set
PAPER_OK = b"\x12"  # DLE EOT 4: fixed bits 1,4
PAPER_LOW = b"\x1e"  # + bits 2,3 (near end)
PAPER_OUT = b"\x72"  # + bits 5,6 (paper end)


class FakeNetworkPrinter:
    def __init__(self, printer: bytes = PRINTER_OK, paper: bytes = PAPER_OK,
                 answers: bool = True) -> None:
        self.printer, self.paper, self.answers = printer, paper, answers
        self.jobs: list[bytes] = []
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen()
        self.port = self._sock.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            with conn:
                data = b""
                while chunk := conn.recv(65536):
                    before = len(data)
                    data += chunk
                    window = data[max(0, before - 2):]
                    if self.answers and window.endswith(b"\x10\x04\x01"):
                        conn.sendall(self.printer)
                    elif self.answers and window.endswith(b"\x10\x04\x04"):
                        conn.sendall(self.paper)
                self.jobs.append(data)

    def close(self) -> None:
        with contextlib.suppress(OSError):  # shutdown wakes accept(); close() alone does not
            self._sock.shutdown(socket.SHUT_RDWR)
        self._sock.close()
