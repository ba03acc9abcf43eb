"""A card session: secure-messaging wrapper, file selection and adaptive reading.

Reading strategy (DOMAIN.md §3): the largest READ BINARY the card accepts.
Under secure messaging a short response holds at most 223 plaintext bytes
with AES (231 with 3DES); when the reader can, a first extended read takes a
whole file in one APDU. `6700` / `6Cxx` step the size down and the smaller
size sticks for the rest of the session. Files are cached: never read twice.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from drivers.emrtd.apdu import Command, Response
from drivers.emrtd.errors import ParseError, StatusWordError, WrongLengthError
from drivers.emrtd.sm import SecureMessaging
from drivers.emrtd.tlv import header_length, read_tlv, tlv
from drivers.emrtd.transport import Transport

EMRTD_AID = bytes.fromhex("A0000002471001")
SHORT_SM_MAX = {"AES": 223, "3DES": 231}
SHORT_PLAIN_MAX = 256
EXTENDED_MAX = 0x7FFF
BACKOFF = (223, 160, 112, 64, 32)
MAX_FILE = 0x10000


@dataclass
class Stats:
    apdus: int = 0
    bytes_sent: int = 0
    bytes_received: int = 0
    bytes_read: int = 0
    crypto_seconds: float = 0.0


class CardSession:
    def __init__(self, transport: Transport, *, chunk: int | None = None) -> None:
        self.transport = transport
        self.sm: SecureMessaging | None = None
        self.stats = Stats()
        self._cache: dict[int, bytes] = {}
        self._chunk_override = chunk
        self._chunk: int | None = None
        self._extended_ok: bool | None = None if transport.extended_length else False

    # -- raw exchange ---------------------------------------------------------
    def raw(self, apdu: bytes) -> bytes:
        self.stats.apdus += 1
        self.stats.bytes_sent += len(apdu)
        out = self.transport.transmit(apdu)
        self.stats.bytes_received += len(out)
        return out

    def send(self, cmd: Command) -> Response:
        """Send a command, wrapped in secure messaging when a session is up."""
        if self.sm is None:
            return Response.decode(self.raw(cmd.encode()))
        t = time.perf_counter()
        wrapped = self.sm.protect(cmd)
        self.stats.crypto_seconds += time.perf_counter() - t
        raw = self.raw(wrapped)
        t = time.perf_counter()
        try:
            return self.sm.unprotect(raw)
        finally:
            self.stats.crypto_seconds += time.perf_counter() - t

    def start_sm(self, sm: SecureMessaging) -> None:
        self.sm = sm
        self._cache.clear()

    # -- files ------------------------------------------------------------------
    def select_applet(self) -> None:
        self.send(Command(0x00, 0xA4, 0x04, 0x0C, EMRTD_AID)).check("SELECT eMRTD application")

    def select_ef(self, fid: int) -> None:
        self.send(Command(0x00, 0xA4, 0x02, 0x0C, fid.to_bytes(2, "big"))).check(
            f"SELECT EF {fid:04X}"
        )

    def _short_max(self) -> int:
        if self.sm is None:
            return SHORT_PLAIN_MAX
        return SHORT_SM_MAX.get(self.sm.name, 223)

    def _read(self, offset: int, length: int) -> bytes:
        if offset > 0x7FFF:
            # Offsets past 15 bits need READ BINARY with odd INS and DO54.
            cmd = Command(0x00, 0xB1, 0, 0, tlv(0x54, offset.to_bytes(3, "big")), le=length)
            data = self.send(cmd).check("READ BINARY")
            tag, value, _ = read_tlv(data)
            if tag != 0x53:
                raise ParseError("READ BINARY (B1) answer is not DO53")
            return value
        return self.send(Command(0x00, 0xB0, offset >> 8, offset & 0xFF, le=length)).check(
            "READ BINARY"
        )

    def _read_sized(self, offset: int, want: int) -> bytes:
        """One READ BINARY of up to `want` bytes, adapting the size on 6700/6Cxx."""
        while True:
            size = self._current_chunk(want)
            try:
                data = self._read(offset, size)
            except WrongLengthError as exc:
                self._step_down(size, exc.exact_length)
                continue
            if size > self._short_max():
                self._extended_ok = True
            return data

    def _current_chunk(self, want: int) -> int:
        short = self._short_max()
        if self._chunk_override is not None:
            limit = self._chunk_override
            if self._extended_ok is False:
                limit = min(limit, short)
            return min(want, limit)
        if self._extended_ok is not False and want > short:
            return min(want, EXTENDED_MAX)  # until the reader or card refuses
        return min(want, self._chunk or short)

    def _step_down(self, size: int, exact: int | None) -> None:
        self._chunk_override = None
        if size > self._short_max():
            self._extended_ok = False
            self._chunk = self._short_max()
            return
        if exact and exact < size:
            self._chunk = exact
            return
        smaller = [b for b in BACKOFF if b < size]
        if not smaller:
            raise WrongLengthError(0x6700, "READ BINARY at the smallest size")
        self._chunk = smaller[0]

    def read_ef(self, fid: int) -> bytes:
        """Select and read a whole file (TLV length from the first chunk)."""
        if fid in self._cache:
            return self._cache[fid]
        self.select_ef(fid)
        first = self._read_sized(0, MAX_FILE)
        if len(first) < 2:
            raise ParseError(f"EF {fid:04X} is empty")
        _, total = header_length(first[:8])
        if total > MAX_FILE:
            raise ParseError(f"EF {fid:04X} claims {total} bytes")
        buf = bytearray(first[:total])
        while len(buf) < total:
            part = self._read_sized(len(buf), total - len(buf))
            if not part:
                raise ParseError(f"EF {fid:04X} ended early at {len(buf)} of {total} bytes")
            buf += part[: total - len(buf)]
        data = bytes(buf)
        self.stats.bytes_read += len(data)
        self._cache[fid] = data
        return data

    def read_ef_optional(self, fid: int) -> bytes | None:
        try:
            return self.read_ef(fid)
        except StatusWordError as exc:
            if exc.sw in (0x6A82, 0x6A80, 0x6A86, 0x6982, 0x6B00):
                return None
            raise

    @property
    def read_size(self) -> str:
        """What the session settled on, for stats: "extended" or a byte count."""
        if self._chunk_override is not None:
            return str(self._chunk_override)
        if self._extended_ok:
            return "extended"
        return str(self._chunk or self._short_max())
