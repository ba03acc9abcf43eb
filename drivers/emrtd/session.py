"""A card session: secure-messaging wrapper, file selection and adaptive reading.

Reading strategy (DOMAIN.md §3, issue 18):

* Never ask for more than a file holds. The first READ BINARY of a file asks
  for its TLV header only (4 bytes cover every LDS file with a one-byte tag;
  a two-byte tag such as a bare DG2's 7F61 costs one more small read); the
  rest is read with exactly the length the header gives. Cards answer
  over-reads with 6282, and some leave that 6282 unprotected, which under
  secure messaging is indistinguishable from an attack (decision 0090).
* Select and read in one command: READ BINARY with a short EF identifier
  (P1 = 80 | SFI, ICAO 9303-10); later chunks use plain READ BINARY on the
  now-current file. A card that refuses SFI reads gets SELECT + READ for the
  rest of the session.
* The largest READ BINARY the card accepts. Under secure messaging a short
  response holds at most 223 plaintext bytes with AES (231 with 3DES); when
  the reader can, the rest of a file comes in one extended read. `6700` /
  `6Cxx` step the size down and the smaller size sticks for the session.
* An answer shorter than asked (6282 with its MAC, or 9000 with fewer bytes,
  as some chips answer Le=00) is kept and the reader asks for the rest; a
  bare 6282, 6B00 or 6A86 beyond the start is the end of the file. A file
  that ends before its header said is a clear ParseError.

Files are cached: never read twice.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from drivers.emrtd.apdu import Command, Response
from drivers.emrtd.errors import (
    EmptyFileError,
    ParseError,
    StatusWordError,
    WrongLengthError,
    status_error,
)
from drivers.emrtd.lds import EF_CARD_ACCESS, EF_COM, EF_SOD
from drivers.emrtd.sm import SecureMessaging
from drivers.emrtd.tlv import header_bytes_needed, header_length, read_tlv, tlv
from drivers.emrtd.transport import Transport

EMRTD_AID = bytes.fromhex("A0000002471001")
SHORT_SM_MAX = {"AES": 223, "3DES": 231}
SHORT_PLAIN_MAX = 256
EXTENDED_MAX = 0x7FFF
BACKOFF = (223, 160, 112, 64, 32)
MAX_FILE = 0x10000
HEADER_READ = 4  # one-byte tag + BER length of up to 3 bytes (DOMAIN.md §3)
# Files that cannot be shorter than this: the first read takes that much, not just the
# header, and still never asks past the end. An EF.SOD carries at least the security
# object, a signer info with its signature and (ICAO 9303-10) the document signer's
# certificate: far over 256 bytes (issue 24, decision 0111).
MIN_SIZE = {EF_SOD: 256}
# ICAO 9303-10 short EF identifiers: EF.CardAccess in the master file, the
# rest in the eMRTD application (DG n has SFI n).
SFI = {EF_CARD_ACCESS: 0x1C, EF_COM: 0x1E, EF_SOD: 0x1D} | {0x0100 + n: n for n in range(1, 17)}
# What cards without SFI support answer a READ BINARY with P1 = 80|SFI.
SFI_REFUSED = frozenset({0x6A86, 0x6A81, 0x6B00, 0x6D00, 0x6E00, 0x6986, 0x6981, 0x6A80})
# Beyond the end of the file: what a read at an offset past the last byte gets.
PAST_END = frozenset({0x6B00, 0x6A86, 0x6282})
SW_EOF = 0x6282


@dataclass
class Stats:
    apdus: int = 0
    bytes_sent: int = 0
    bytes_received: int = 0
    bytes_read: int = 0
    crypto_seconds: float = 0.0
    over_reads: int = 0  # READ BINARYs answered "end of file reached" (should stay 0)


class CardSession:
    def __init__(self, transport: Transport, *, chunk: int | None = None) -> None:
        self.transport = transport
        self.sm: SecureMessaging | None = None
        self.stats = Stats()
        self._cache: dict[int, bytes] = {}
        self._chunk_override = chunk
        self._chunk: int | None = None
        self._extended_ok: bool | None = None if transport.extended_length else False
        self._sfi: bool | None = None  # None: not tried yet; False: the card refuses SFI reads

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

    def _read(self, offset: int, length: int, sfi: int | None = None) -> bytes:
        """One READ BINARY; the data, possibly fewer bytes than asked; b"" past the end."""
        if sfi is not None:
            cmd = Command(0x00, 0xB0, 0x80 | sfi, offset, le=length)
        elif offset > 0x7FFF:
            # Offsets past 15 bits need READ BINARY with odd INS and DO54.
            cmd = Command(0x00, 0xB1, 0, 0, tlv(0x54, offset.to_bytes(3, "big")), le=length)
        else:
            cmd = Command(0x00, 0xB0, offset >> 8, offset & 0xFF, le=length)
        try:
            resp = self.send(cmd)
        except StatusWordError as exc:
            # A bare status word inside secure messaging: no SM objects, so no
            # data to trust; only "end of file" is taken from it (decision 0090).
            resp = Response(b"", exc.sw)
        if resp.sw == SW_EOF:
            self.stats.over_reads += 1
        if resp.sw not in (0x9000, SW_EOF):
            if resp.sw in PAST_END and sfi is None and offset > 0:
                return b""
            raise status_error(resp.sw, "READ BINARY")
        data = resp.data
        if cmd.ins == 0xB1 and data:
            tag, value, _ = read_tlv(data)
            if tag != 0x53:
                raise ParseError("READ BINARY (B1) answer is not DO53")
            data = value
        return data

    def _read_sized(self, offset: int, want: int, sfi: int | None = None) -> bytes:
        """One READ BINARY of up to `want` bytes, adapting the size on 6700/6Cxx."""
        while True:
            size = self._current_chunk(want)
            try:
                data = self._read(offset, size, sfi)
            except WrongLengthError as exc:
                exact = exc.exact_length
                if exact and exact < size <= self._short_max():
                    want = exact  # the card says how many bytes there are: this read only
                    continue
                self._step_down(size, exact)
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

    def _read_first(self, fid: int, length: int) -> bytes:
        """The first bytes of a file: by SFI when the card takes it, else SELECT + READ."""
        sfi = SFI.get(fid)
        refused_missing = False
        if sfi is not None and self._sfi is not False:
            try:
                data = self._read_sized(0, length, sfi)
            except StatusWordError as exc:
                if exc.sw == 0x6A82 and not self._sfi:
                    # A missing file, or a card that reads "SFI" as "no such file":
                    # SELECT tells which (costs an APDU only until SFI has worked once).
                    refused_missing = True
                elif exc.sw not in SFI_REFUSED:
                    raise
                else:
                    self._sfi = False
            else:
                self._sfi = True
                return data
        self.select_ef(fid)
        if refused_missing:
            self._sfi = False
        return self._read_sized(0, length)

    def read_ef(self, fid: int) -> bytes:
        """A whole file, reading no byte past its end (length from its TLV header)."""
        if fid in self._cache:
            return self._cache[fid]
        first = max(HEADER_READ, min(MIN_SIZE.get(fid, 0), self._short_max()))
        buf = bytearray(self._read_first(fid, first))
        if not buf:
            raise EmptyFileError(f"EF {fid:04X} is empty")
        while (need := header_bytes_needed(bytes(buf))) > len(buf):
            part = self._read_sized(len(buf), need - len(buf))
            if not part:
                raise ParseError(f"EF {fid:04X} ends inside its header ({len(buf)} bytes)")
            buf += part
        _, total = header_length(bytes(buf))
        if total > MAX_FILE:
            raise ParseError(f"EF {fid:04X} claims {total} bytes")
        del buf[total:]
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
