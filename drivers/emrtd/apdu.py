"""Command and response APDUs (ISO 7816-4), short and extended length."""

from __future__ import annotations

from dataclasses import dataclass

from drivers.emrtd.errors import ParseError, key_step_error, status_error

SW_OK = 0x9000


@dataclass(frozen=True)
class Command:
    cla: int
    ins: int
    p1: int
    p2: int
    data: bytes = b""
    # None: no response data expected; 0 is not used (say 256 / 65536).
    le: int | None = None

    @property
    def header(self) -> bytes:
        return bytes((self.cla, self.ins, self.p1, self.p2))

    def needs_extended(self) -> bool:
        return len(self.data) > 255 or (self.le is not None and self.le > 256)

    def encode(self, extended: bool | None = None) -> bytes:
        """Encode; extended length is used when needed or when asked for."""
        ext = self.needs_extended() if extended is None else extended
        if not ext and self.needs_extended():
            raise ValueError("command needs extended length")
        out = bytearray(self.header)
        if self.data:
            n = len(self.data)
            out += bytes((0, n >> 8, n & 0xFF)) if ext else bytes((n,))
            out += self.data
        if self.le is not None:
            if not 1 <= self.le <= 65536:
                raise ValueError("Le out of range")
            if ext:
                le = self.le & 0xFFFF  # 65536 encodes as 0000
                out += (bytes((0,)) if not self.data else b"") + le.to_bytes(2, "big")
            else:
                out.append(self.le & 0xFF)  # 256 encodes as 00
        return bytes(out)

    @staticmethod
    def decode(raw: bytes) -> Command:
        """Parse an encoded command (used by the virtual card)."""
        if len(raw) < 4:
            raise ParseError("APDU shorter than its header")
        cla, ins, p1, p2 = raw[:4]
        body = raw[4:]
        if not body:
            return Command(cla, ins, p1, p2)
        if len(body) == 1:
            return Command(cla, ins, p1, p2, le=body[0] or 256)
        if body[0] != 0:  # short
            n = body[0]
            if len(body) == 1 + n:
                return Command(cla, ins, p1, p2, body[1:])
            if len(body) == 2 + n:
                return Command(cla, ins, p1, p2, body[1 : 1 + n], body[-1] or 256)
            raise ParseError("short APDU length mismatch")
        if len(body) == 3:  # extended Le only
            return Command(cla, ins, p1, p2, le=int.from_bytes(body[1:3], "big") or 65536)
        if len(body) < 3:
            raise ParseError("truncated extended APDU")
        n = int.from_bytes(body[1:3], "big")
        if n == 0:
            raise ParseError("extended Lc of zero")
        rest = body[3:]
        if len(rest) == n:
            return Command(cla, ins, p1, p2, rest)
        if len(rest) == n + 2:
            le = int.from_bytes(rest[-2:], "big") or 65536
            return Command(cla, ins, p1, p2, rest[:n], le)
        raise ParseError("extended APDU length mismatch")


@dataclass(frozen=True)
class Response:
    data: bytes
    sw: int

    @staticmethod
    def decode(raw: bytes) -> Response:
        if len(raw) < 2:
            raise ParseError("response shorter than a status word")
        return Response(raw[:-2], int.from_bytes(raw[-2:], "big"))

    def encode(self) -> bytes:
        return self.data + self.sw.to_bytes(2, "big")

    @property
    def ok(self) -> bool:
        return self.sw == SW_OK

    def check(self, context: str = "", *, key_step: bool = False) -> bytes:
        """The data, or the typed error for the status word (`key_step`: the answer to
        the step that proves the key, where 6988/6982 also mean a wrong key)."""
        if self.sw != SW_OK and (self.sw >> 8) != 0x62:  # 62xx: warning, data valid
            raise (key_step_error if key_step else status_error)(self.sw, context)
        return self.data
