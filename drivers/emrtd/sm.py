"""Secure messaging (ICAO 9303-11 §9.8): DO85/87, DO97, DO99, DO8E.

One object per session holds the keys and the send sequence counter (SSC).
Both directions are here: the terminal side (`protect` / `unprotect`) and
the chip side (`unprotect_command` / `protect_response`, used by the virtual
card), so the two cannot drift apart.
"""

from __future__ import annotations

import hmac
from abc import ABC, abstractmethod

from drivers.emrtd import crypto
from drivers.emrtd.apdu import Command, Response
from drivers.emrtd.errors import ParseError, SecureMessagingError, status_error
from drivers.emrtd.tlv import iter_tlv, read_tlv, tlv


class SecureMessaging(ABC):
    """Base class; subclasses fix the cipher (3DES after BAC, AES after PACE)."""

    block = 8
    name = "?"

    def __init__(self, ks_enc: bytes, ks_mac: bytes, ssc: int = 0) -> None:
        self.ks_enc = ks_enc
        self.ks_mac = ks_mac
        self.ssc = ssc

    # -- cipher-specific ---------------------------------------------------
    @abstractmethod
    def _encrypt(self, data: bytes) -> bytes: ...

    @abstractmethod
    def _decrypt(self, data: bytes) -> bytes: ...

    @abstractmethod
    def _mac(self, padded: bytes) -> bytes: ...

    # -- helpers -------------------------------------------------------------
    @property
    def ssc_bytes(self) -> bytes:
        return self.ssc.to_bytes(self.block, "big")

    def _pad(self, data: bytes) -> bytes:
        return crypto.pad(data, self.block)

    def mac(self, data: bytes) -> bytes:
        """MAC over SSC ‖ data (pads itself)."""
        return self._mac(self._pad(self.ssc_bytes + data))

    # -- terminal side -----------------------------------------------------
    def protect(self, cmd: Command) -> bytes:
        """Wrap a plain command (extended length when Le > 256 or the body needs it)."""
        cla = cmd.cla | 0x0C
        self.ssc += 1
        header = self._pad(bytes((cla, cmd.ins, cmd.p1, cmd.p2)))
        do87 = b""
        if cmd.data:
            ct = self._encrypt(self._pad(cmd.data))
            do87 = tlv(0x85, ct) if cmd.ins & 1 else tlv(0x87, b"\x01" + ct)
        do97 = b""
        ext = (cmd.le or 0) > 256
        if cmd.le is not None:
            le = cmd.le
            if ext:
                do97 = tlv(0x97, (le & 0xFFFF).to_bytes(2, "big"))
            else:
                do97 = tlv(0x97, bytes((le & 0xFF,)))
        cc = self._mac(self._pad(self.ssc_bytes + header + do87 + do97))
        body = do87 + do97 + tlv(0x8E, cc)
        ext = ext or len(body) > 255
        return Command(cla, cmd.ins, cmd.p1, cmd.p2, body, 65536 if ext else 256).encode(ext)

    def unprotect(self, raw: bytes) -> Response:
        """Check and unwrap a protected response; a bad MAC raises, never returns data."""
        resp = Response.decode(raw)
        if not resp.data:
            # Cards answer some errors (6982, 6988, 6300) without SM objects;
            # the session is over either way.
            if resp.sw == 0x9000:
                raise SecureMessagingError("unprotected 9000 inside a secure session")
            raise status_error(resp.sw)
        self.ssc += 1
        do87_raw = do99_raw = b""
        cc = b""
        try:
            objs = list(_iter_raw(resp.data))
        except ParseError as exc:
            raise SecureMessagingError(f"malformed protected response: {exc}") from None
        for tag, value, raw_obj in objs:
            if tag in (0x85, 0x87):
                do87_raw = raw_obj
            elif tag == 0x99:
                do99_raw = raw_obj
            elif tag == 0x8E:
                cc = value
        if not cc:
            raise SecureMessagingError("protected response has no MAC (DO8E)")
        expected = self.mac(do87_raw + do99_raw)
        if not hmac.compare_digest(expected, cc):
            raise SecureMessagingError("response MAC does not verify")
        sw = resp.sw
        if do99_raw:
            if len(do99_raw) != 4:
                raise SecureMessagingError("DO99 must hold a 2-byte status word")
            sw = int.from_bytes(do99_raw[2:4], "big")
        data = b""
        if do87_raw:
            data = self._open_do87(do87_raw)
        return Response(data, sw)

    def _open_do87(self, raw_obj: bytes) -> bytes:
        tag, value = next(iter_tlv(raw_obj))
        if tag == 0x87:
            if not value or value[0] != 0x01:
                raise SecureMessagingError("DO87 without padding indicator 01")
            value = value[1:]
        if not value or len(value) % self.block:
            raise SecureMessagingError("encrypted data is not a whole number of blocks")
        plain = self._decrypt(value)
        return crypto.unpad(plain) if tag == 0x87 else plain

    # -- chip side -----------------------------------------------------------
    def unprotect_command(self, cmd: Command) -> Command:
        """Chip side: verify and open a protected command."""
        if cmd.cla & 0x0C != 0x0C:
            raise SecureMessagingError("command is not protected")
        self.ssc += 1
        do87_raw = do97_raw = b""
        cc = b""
        try:
            objs = list(_iter_raw(cmd.data))
        except ParseError as exc:
            raise SecureMessagingError(f"malformed protected command: {exc}") from None
        for tag, value, raw_obj in objs:
            if tag in (0x85, 0x87):
                do87_raw = raw_obj
            elif tag == 0x97:
                do97_raw = raw_obj
            elif tag == 0x8E:
                cc = value
        header = self._pad(cmd.header)
        if not cc or not hmac.compare_digest(
            self._mac(self._pad(self.ssc_bytes + header + do87_raw + do97_raw)), cc
        ):
            raise SecureMessagingError("command MAC does not verify")
        data = self._open_do87(do87_raw) if do87_raw else b""
        le: int | None = None
        if do97_raw:
            v = do97_raw[2:]
            n = int.from_bytes(v, "big")
            le = n or (256 if len(v) == 1 else 65536)
        return Command(cmd.cla & ~0x0C & 0xFF, cmd.ins, cmd.p1, cmd.p2, data, le)

    def protect_response(self, data: bytes, sw: int) -> bytes:
        """Chip side: wrap response data and status word."""
        self.ssc += 1
        do87 = tlv(0x87, b"\x01" + self._encrypt(self._pad(data))) if data else b""
        do99 = tlv(0x99, sw.to_bytes(2, "big"))
        cc = self.mac(do87 + do99)
        return do87 + do99 + tlv(0x8E, cc) + sw.to_bytes(2, "big")


def _iter_raw(buf: bytes) -> list[tuple[int, bytes, bytes]]:
    """Top-level TLVs with their raw encodings (MACs cover the encodings)."""
    out = []
    pos = 0
    while pos < len(buf):
        start = pos
        tag, value, pos = read_tlv(buf, pos)
        out.append((tag, value, buf[start:pos]))
    return out


class Des3SecureMessaging(SecureMessaging):
    """After BAC: 2-key 3DES CBC with zero IV, retail MAC, 8-byte SSC."""

    block = 8
    name = "3DES"

    def _encrypt(self, data: bytes) -> bytes:
        return crypto.des3_encrypt(self.ks_enc, data)

    def _decrypt(self, data: bytes) -> bytes:
        return crypto.des3_decrypt(self.ks_enc, data)

    def _mac(self, padded: bytes) -> bytes:
        return crypto.retail_mac(self.ks_mac, padded)


class AesSecureMessaging(SecureMessaging):
    """After PACE: AES CBC with IV = E(K_enc, SSC), CMAC truncated to 8 bytes."""

    block = 16
    name = "AES"

    def _iv(self) -> bytes:
        return crypto.aes_ecb_encrypt(self.ks_enc, self.ssc_bytes)

    def _encrypt(self, data: bytes) -> bytes:
        return crypto.aes_cbc_encrypt(self.ks_enc, data, self._iv())

    def _decrypt(self, data: bytes) -> bytes:
        return crypto.aes_cbc_decrypt(self.ks_enc, data, self._iv())

    def _mac(self, padded: bytes) -> bytes:
        return crypto.aes_cmac(self.ks_mac, padded)[:8]
