"""The virtual CCCD as an ISO 14443-4 Type A card on nfcpy's UDP "contactless frontend".

nfcpy ships a `udp:HOST:PORT` device that carries raw NFC frames as datagrams
(`b"106A <hex>"`), so its whole reader stack — anticollision, RATS, ISO-DEP
block chaining, WTX — runs unchanged against this emulator. That is how the
test suite exercises `drivers.nfc.NfcTransport` without a PN53x in the room.

The card side is written here (nfcpy's own listener binds 0.0.0.0; this one
binds loopback only): SENS/SDD/SEL, RATS → ATS, then I-blocks whose APDUs go to
the card object (`process(raw) -> raw`, like the vpcd server's). Slow answers
(PACE on the card side is pure Python) are covered by S(WTX) requests, as a
real chip does when its crypto takes longer than the frame waiting time.
"""

from __future__ import annotations

import binascii
import socket
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Protocol

UID = bytes.fromhex("08a1b2c3")  # random-UID form, like the CCCD chips (DOMAIN.md §10)
SENS_RES = bytes.fromhex("0400")
SEL_RES_ISO_DEP = bytes([0x20])  # UID complete, ISO/IEC 14443-4 compliant
FWI = 9  # frame waiting time 4096/13.56 MHz * 2^9 = 155 ms
ATS = bytes([0x05, 0x78, 0x80, FWI << 4, 0x00])  # FSCI 8 (256 bytes), TA/TB/TC present
FSD = 256  # the reader's frame size, from RATS "E0 80"; nfcpy's UDP device asks for 256
WTXM = 4  # each waiting time extension: 4 x FWT


class Card(Protocol):
    def process(self, raw: bytes) -> bytes: ...

    def reset(self) -> None: ...


class IsoDepUdpCard:
    """Serve `card` on 127.0.0.1:`port` until `stop()`; `remove()` takes it out of the
    field (it stops answering, as a card lifted off the reader)."""

    def __init__(self, card: Card, port: int = 0) -> None:
        self.card = card
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", port))
        self.sock.settimeout(0.05)
        self.port: int = self.sock.getsockname()[1]
        self.path = f"udp:127.0.0.1:{self.port}"
        self.apdus = 0
        self._present = threading.Event()
        self._present.set()
        self._stop = threading.Event()
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="virtual-chip")
        self._thread = threading.Thread(target=self._serve, name="nfc-udp-card", daemon=True)
        self._last: bytes = b""  # last block sent, for R(NAK) retransmission
        self._command = bytearray()  # chained command being received
        self._pending: bytes = b""  # rest of a chained response

    def start(self) -> IsoDepUdpCard:
        self._thread.start()
        return self

    def remove(self) -> None:
        self._present.clear()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._worker.shutdown(wait=True)
        self.sock.close()

    def __enter__(self) -> IsoDepUdpCard:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- the air interface --------------------------------------------------------
    def _receive(self) -> tuple[bytes, tuple[str, int]] | None:
        try:
            datagram, addr = self.sock.recvfrom(2048)
        except (TimeoutError, OSError):
            return None
        if not self._present.is_set():
            return None  # out of the field: silence
        parts = datagram.split()
        if len(parts) != 2 or parts[0] != b"106A":
            return None  # Type B polls, RFOFF, noise: a Type A card stays silent
        try:
            return binascii.unhexlify(parts[1]), addr
        except binascii.Error:
            return None

    def _send(self, frame: bytes, addr: tuple[str, int]) -> None:
        if self._present.is_set():
            self.sock.sendto(b"106A " + binascii.hexlify(frame), addr)

    def _serve(self) -> None:
        while not self._stop.is_set():
            got = self._receive()
            if got is None:
                continue
            frame, addr = got
            answer = self._answer(frame, addr)
            if answer is not None:
                self._last = answer
                self._send(answer, addr)

    def _answer(self, frame: bytes, addr: tuple[str, int]) -> bytes | None:
        if frame == b"\x26" or frame == b"\x52":  # SENS_REQ / ALL_REQ
            self.card.reset()
            self._command.clear()
            self._pending = b""
            return SENS_RES
        if frame == b"\x93\x20":  # SDD_REQ, cascade level 1
            return UID + bytes([UID[0] ^ UID[1] ^ UID[2] ^ UID[3]])
        if frame[:2] == b"\x93\x70" and frame[2:6] == UID:
            return SEL_RES_ISO_DEP
        if frame[:1] == b"\xe0":  # RATS
            return ATS
        if not frame:
            return None
        pcb = frame[0]
        if pcb & 0xE2 == 0x02:  # I-block
            return self._i_block(pcb, frame[1:], addr)
        if pcb & 0xF6 == 0xA2:  # R(ACK): the reader wants the next part of our answer
            return self._next_part(pcb & 1)
        if pcb & 0xF6 == 0xB2:  # R(NAK): our last block was lost
            return self._last or None
        if pcb == 0xC2:  # S(DESELECT)
            return b"\xc2"
        return None  # S(WTX) answers are consumed in _wait; anything else: silence

    def _i_block(self, pcb: int, inf: bytes, addr: tuple[str, int]) -> bytes | None:
        block = pcb & 1
        self._command += inf
        if pcb & 0x10:  # the reader chains: acknowledge, wait for the rest
            return bytes([0xA2 | block])
        apdu, self._command = bytes(self._command), bytearray()
        self.apdus += 1
        response = self._wait(self._worker.submit(self.card.process, apdu), addr)
        if response is None:
            return None
        self._pending = response
        return self._next_part(block)

    def _next_part(self, block: int) -> bytes:
        room = FSD - 3  # PCB and the two CRC bytes the real air interface adds
        part, self._pending = self._pending[:room], self._pending[room:]
        return bytes([(0x12 if self._pending else 0x02) | block]) + part

    def _wait(self, job: Future[bytes], addr: tuple[str, int]) -> bytes | None:
        """The card computes; ask for more time (S(WTX)) every half frame waiting time."""
        half_fwt = 4096 / 13.56e6 * 2**FWI / 2
        while True:
            try:
                return job.result(timeout=half_fwt)
            except TimeoutError:
                pass
            if self._stop.is_set() or not self._present.is_set():
                return None
            self._send(bytes([0xF2, WTXM]), addr)
            got = self._receive_wtx_answer()
            if got is None:
                return None

    def _receive_wtx_answer(self) -> bytes | None:
        for _ in range(20):  # the reader echoes the WTX block at once
            got = self._receive()
            if got is not None and got[0][:1] == b"\xf2":
                return got[0]
            if self._stop.is_set():
                return None
        return None
