"""Basic Access Control (ICAO 9303-11 §4.3): keys from MRZ information, mutual authentication."""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Callable
from dataclasses import dataclass

from drivers.emrtd import crypto
from drivers.emrtd.apdu import Command, Response
from drivers.emrtd.errors import ProtocolError, SecureMessagingError
from drivers.emrtd.sm import Des3SecureMessaging


@dataclass(frozen=True)
class BacKeys:
    k_seed: bytes
    k_enc: bytes
    k_mac: bytes


def derive_keys(mrz_information: str) -> BacKeys:
    """Document number ‖ check ‖ DOB ‖ check ‖ expiry ‖ check → K_seed, K_enc, K_mac."""
    seed = hashlib.sha1(mrz_information.encode("ascii")).digest()[:16]
    return BacKeys(seed, crypto.kdf(seed, 1), crypto.kdf(seed, 2))


def session_from_seed(seed: bytes, rnd_ic: bytes, rnd_ifd: bytes) -> Des3SecureMessaging:
    ssc = int.from_bytes(rnd_ic[-4:] + rnd_ifd[-4:], "big")
    return Des3SecureMessaging(crypto.kdf(seed, 1), crypto.kdf(seed, 2), ssc)


def _mac(keys: BacKeys, data: bytes) -> bytes:
    return crypto.retail_mac(keys.k_mac, crypto.pad(data))


def terminal_authenticate(
    transmit: Callable[[bytes], bytes],
    keys: BacKeys,
    *,
    rnd_ifd: bytes | None = None,
    k_ifd: bytes | None = None,
) -> Des3SecureMessaging:
    """Run GET CHALLENGE + MUTUAL AUTHENTICATE; a refused key (6300, 63Cx, 6988, 6982)
    raises AuthenticationFailedError."""
    rnd_ic = Response.decode(transmit(Command(0x00, 0x84, 0, 0, le=8).encode())).check(
        "GET CHALLENGE"
    )
    if len(rnd_ic) != 8:
        raise ProtocolError("GET CHALLENGE did not return 8 bytes")
    rnd_ifd = rnd_ifd or os.urandom(8)
    k_ifd = k_ifd or os.urandom(16)
    e_ifd = crypto.des3_encrypt(keys.k_enc, rnd_ifd + rnd_ic + k_ifd)
    cmd_data = e_ifd + _mac(keys, e_ifd)
    raw = transmit(Command(0x00, 0x82, 0, 0, cmd_data, le=40).encode())
    resp = Response.decode(raw).check("MUTUAL AUTHENTICATE", key_step=True)
    if len(resp) != 40:
        raise ProtocolError("MUTUAL AUTHENTICATE response is not 40 bytes")
    e_ic, m_ic = resp[:32], resp[32:]
    if not hmac.compare_digest(_mac(keys, e_ic), m_ic):
        raise SecureMessagingError("chip's BAC MAC does not verify")
    r = crypto.des3_decrypt(keys.k_enc, e_ic)
    if r[:8] != rnd_ic or r[8:16] != rnd_ifd:
        raise ProtocolError("chip's BAC nonces do not match")
    k_ic = r[16:32]
    seed = bytes(a ^ b for a, b in zip(k_ifd, k_ic, strict=True))
    return session_from_seed(seed, rnd_ic, rnd_ifd)


def chip_respond(
    keys: BacKeys, rnd_ic: bytes, cmd_data: bytes, k_ic: bytes | None = None
) -> tuple[bytes, Des3SecureMessaging] | None:
    """Chip side of MUTUAL AUTHENTICATE; None when the terminal's key is wrong."""
    if len(cmd_data) != 40:
        return None
    e_ifd, m_ifd = cmd_data[:32], cmd_data[32:]
    if not hmac.compare_digest(_mac(keys, e_ifd), m_ifd):
        return None
    s = crypto.des3_decrypt(keys.k_enc, e_ifd)
    rnd_ifd, got_ic, k_ifd = s[:8], s[8:16], s[16:32]
    if got_ic != rnd_ic:
        return None
    k_ic = k_ic or os.urandom(16)
    e_ic = crypto.des3_encrypt(keys.k_enc, rnd_ic + rnd_ifd + k_ic)
    seed = bytes(a ^ b for a, b in zip(k_ifd, k_ic, strict=True))
    return e_ic + _mac(keys, e_ic), session_from_seed(seed, rnd_ic, rnd_ifd)
