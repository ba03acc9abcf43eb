"""PACE v2, Generic Mapping over ECDH (ICAO 9303-11 §4.4), both sides.

Passwords: MRZ (reference 01, K = SHA-1(MRZ information)) and CAN
(reference 02, K = the digits). Parameters come from EF.CardAccess.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from drivers.emrtd import crypto
from drivers.emrtd.apdu import Command, Response
from drivers.emrtd.ec import STANDARD_CURVES, Curve
from drivers.emrtd.errors import ParseError, ProtocolError, UnsupportedError
from drivers.emrtd.sm import AesSecureMessaging
from drivers.emrtd.tlv import expect, iter_tlv, parse_dict, tlv

PW_MRZ = 0x01
PW_CAN = 0x02
ID_PACE = "0.4.0.127.0.7.2.2.4"
# id-PACE-ECDH-GM-AES-CBC-CMAC-{128,192,256}
ECDH_GM_AES = {f"{ID_PACE}.2.2": 16, f"{ID_PACE}.2.3": 24, f"{ID_PACE}.2.4": 32}


def oid_to_der(oid: str) -> bytes:
    parts = [int(p) for p in oid.split(".")]
    out = bytearray([parts[0] * 40 + parts[1]])
    for n in parts[2:]:
        chunk = [n & 0x7F]
        n >>= 7
        while n:
            chunk.append(0x80 | (n & 0x7F))
            n >>= 7
        out += bytes(reversed(chunk))
    return bytes(out)


def oid_from_der(raw: bytes) -> str:
    if not raw:
        raise ParseError("empty OID")
    parts = [min(raw[0] // 40, 2)]
    parts.append(raw[0] - 40 * parts[0])
    n = 0
    for b in raw[1:]:
        n = (n << 7) | (b & 0x7F)
        if not b & 0x80:
            parts.append(n)
            n = 0
    if raw[-1] & 0x80:
        raise ParseError("truncated OID")
    return ".".join(map(str, parts))


@dataclass(frozen=True)
class PaceInfo:
    protocol: str
    version: int
    parameter_id: int | None

    @property
    def supported(self) -> bool:
        return self.protocol in ECDH_GM_AES and self.parameter_id in STANDARD_CURVES

    @property
    def key_length(self) -> int:
        return ECDH_GM_AES[self.protocol]

    @property
    def curve(self) -> Curve:
        if self.parameter_id is None or self.parameter_id not in STANDARD_CURVES:
            raise UnsupportedError(f"PACE domain parameters {self.parameter_id} not supported")
        return STANDARD_CURVES[self.parameter_id]

    def encode(self) -> bytes:
        body = tlv(0x06, oid_to_der(self.protocol)) + tlv(0x02, bytes((self.version,)))
        if self.parameter_id is not None:
            body += tlv(0x02, bytes((self.parameter_id,)))
        return tlv(0x30, body)


def parse_card_access(raw: bytes) -> list[PaceInfo]:
    """PACEInfo entries of EF.CardAccess (other SecurityInfos are skipped)."""
    out = []
    for tag, value in iter_tlv(expect(raw, 0x31)):
        if tag != 0x30:
            continue
        items = list(iter_tlv(value))
        if len(items) < 2 or items[0][0] != 0x06:
            continue
        oid = oid_from_der(items[0][1])
        if not oid.startswith(ID_PACE + ".") or items[1][0] != 0x02:
            continue
        param = None
        if len(items) > 2 and items[2][0] == 0x02 and 0 < len(items[2][1]) <= 4:
            param = int.from_bytes(items[2][1], "big")
        if not 0 < len(items[1][1]) <= 4:
            raise ParseError("PACEInfo version is not a small integer")
        out.append(PaceInfo(oid, int.from_bytes(items[1][1], "big"), param))
    return out


def choose(infos: list[PaceInfo]) -> PaceInfo:
    for info in infos:
        if info.supported:
            return info
    raise UnsupportedError("no supported PACE protocol in EF.CardAccess")


def password_key(password: str, ref: int) -> bytes:
    """K from the password: SHA-1 of MRZ information, or the CAN digits as they are."""
    if ref == PW_MRZ:
        return hashlib.sha1(password.encode("ascii")).digest()
    return password.encode("ascii")


def _token(ks_mac: bytes, oid: str, curve: Curve, pk: tuple[int, int]) -> bytes:
    data = tlv(0x7F49, tlv(0x06, oid_to_der(oid)) + tlv(0x86, curve.encode(pk)))
    return crypto.aes_cmac(ks_mac, data)[:8]


def _ga(transmit: Callable[[bytes], bytes], tag: int, value: bytes, last: bool = False) -> bytes:
    data = tlv(0x7C, tlv(tag, value) if tag else b"")
    raw = transmit(Command(0x00 if last else 0x10, 0x86, 0, 0, data, le=256).encode())
    body = Response.decode(raw).check("GENERAL AUTHENTICATE", key_step=last)
    return parse_dict(expect(body, 0x7C)).get(tag + 1 if tag else 0x80, b"")


def terminal_authenticate(
    transmit: Callable[[bytes], bytes],
    password: str,
    ref: int,
    info: PaceInfo,
    *,
    scalar: Callable[[Curve], int] | None = None,
) -> AesSecureMessaging:
    """Run PACE; returns the AES secure-messaging session (SSC 0)."""
    if not info.supported:
        raise UnsupportedError(f"PACE protocol {info.protocol} not supported")
    curve, klen = info.curve, info.key_length
    rand = scalar or (lambda c: 1 + secrets.randbelow(c.n - 1))
    mse = tlv(0x80, oid_to_der(info.protocol)) + tlv(0x83, bytes((ref,)))
    Response.decode(transmit(Command(0x00, 0x22, 0xC1, 0xA4, mse).encode())).check("MSE:Set AT")

    z = _ga(transmit, 0, b"")
    if len(z) % 16 or not z:
        raise ProtocolError("PACE nonce has a bad length")
    k_pi = crypto.kdf(password_key(password, ref), 3, "AES", klen)
    s = int.from_bytes(crypto.aes_cbc_decrypt(k_pi, z), "big")

    sk_map = rand(curve)
    pk_map_ic = curve.decode(_ga(transmit, 0x81, curve.encode(curve.mul(sk_map, curve.g))))
    h = curve.mul(sk_map, pk_map_ic)
    g_map = curve.add(curve.mul(s, curve.g), h)
    if g_map is None or h is None:
        raise ProtocolError("PACE mapping produced the point at infinity")

    sk_eph = rand(curve)
    pk_ifd = curve.mul(sk_eph, g_map)
    assert pk_ifd is not None
    pk_ic = curve.decode(_ga(transmit, 0x83, curve.encode(pk_ifd)))
    if pk_ic == pk_ifd:
        raise ProtocolError("chip echoed the terminal's ephemeral key")
    shared = curve.mul(sk_eph, pk_ic)
    if shared is None:
        raise ProtocolError("PACE shared secret is the point at infinity")
    x = shared[0].to_bytes(curve.size, "big")
    ks_enc = crypto.kdf(x, 1, "AES", klen)
    ks_mac = crypto.kdf(x, 2, "AES", klen)

    # A wrong password only shows here: the chip answers 6300 (or 6988/6982) to our
    # token, raised as AuthenticationFailedError.
    t_ic = _ga(transmit, 0x85, _token(ks_mac, info.protocol, curve, pk_ic), last=True)
    if not hmac.compare_digest(t_ic, _token(ks_mac, info.protocol, curve, pk_ifd)):
        raise ProtocolError("chip's PACE authentication token does not verify")
    return AesSecureMessaging(ks_enc, ks_mac, 0)


class ChipPace:
    """Chip side of PACE-GM-ECDH, driven one GENERAL AUTHENTICATE at a time."""

    def __init__(self, info: PaceInfo, passwords: dict[int, str]) -> None:
        self.info = info
        self.passwords = passwords
        self.curve = info.curve
        self.ref: int | None = None
        self.step = 0
        self._s = 0
        self._sk = 0
        self._g: tuple[int, int] = self.curve.g
        self._pk_ifd: tuple[int, int] | None = None
        self._pk_ic: tuple[int, int] | None = None
        self._ks: tuple[bytes, bytes] | None = None

    def set_at(self, data: bytes) -> bool:
        fields = parse_dict(data)
        oid = oid_from_der(fields.get(0x80, b""))
        ref = fields.get(0x83, b"\x00")[0]
        if oid != self.info.protocol or ref not in self.passwords:
            return False
        self.ref, self.step = ref, 1
        return True

    def general_authenticate(self, data: bytes) -> bytes | None:
        """Dynamic-authentication-data response body, or None for 6300 (wrong password)."""
        if self.ref is None:
            raise ProtocolError("GENERAL AUTHENTICATE before MSE:Set AT")
        curve, klen = self.curve, self.info.key_length
        fields = parse_dict(expect(data, 0x7C)) if data else {}
        rand = 1 + secrets.randbelow(curve.n - 1)
        if self.step == 1:
            nonce = secrets.token_bytes(16)
            self._s = int.from_bytes(nonce, "big")
            k_pi = crypto.kdf(password_key(self.passwords[self.ref], self.ref), 3, "AES", klen)
            self.step = 2
            return tlv(0x80, crypto.aes_cbc_encrypt(k_pi, nonce))
        if self.step == 2:
            pk_map = curve.decode(fields.get(0x81, b""))
            h = curve.mul(rand, pk_map)
            g = curve.add(curve.mul(self._s, curve.g), h)
            if g is None:
                raise ProtocolError("mapping failed")
            self._g, self.step = g, 3
            return tlv(0x82, curve.encode(curve.mul(rand, curve.g)))
        if self.step == 3:
            self._pk_ifd = curve.decode(fields.get(0x83, b""))
            self._sk = rand
            self._pk_ic = curve.mul(rand, self._g)
            shared = curve.mul(rand, self._pk_ifd)
            if shared is None or self._pk_ic is None:
                raise ProtocolError("bad terminal key")
            x = shared[0].to_bytes(curve.size, "big")
            self._ks = (crypto.kdf(x, 1, "AES", klen), crypto.kdf(x, 2, "AES", klen))
            self.step = 4
            return tlv(0x84, curve.encode(self._pk_ic))
        if self.step == 4 and self._ks and self._pk_ic and self._pk_ifd:
            self.step = 5
            expected = _token(self._ks[1], self.info.protocol, curve, self._pk_ic)
            if not hmac.compare_digest(fields.get(0x85, b""), expected):
                return None
            return tlv(0x86, _token(self._ks[1], self.info.protocol, curve, self._pk_ifd))
        raise ProtocolError("unexpected GENERAL AUTHENTICATE")

    def session(self) -> AesSecureMessaging:
        if self._ks is None or self.step != 5:
            raise ProtocolError("PACE not finished")
        return AesSecureMessaging(self._ks[0], self._ks[1], 0)
