"""Active authentication (ICAO 9303-11 §6.1) with the DG15 key: detects cloned chips."""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Callable
from typing import Literal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from drivers.emrtd.apdu import Command, Response
from drivers.emrtd.errors import SecureMessagingError, StatusWordError

ActiveLevel = Literal["verified", "failed", "absent"]
_EC_HASHES: dict[str, Callable[[], hashes.HashAlgorithm]] = {
    "sha1": hashes.SHA1,
    "sha224": hashes.SHA224,
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}
# ISO/IEC 9796-2 trailer -> hash (0xBC: SHA-1 implicit; 0x33CC etc.: explicit).
_RSA_TRAILERS = {0x38: "sha224", 0x34: "sha256", 0x36: "sha384", 0x35: "sha512", 0x33: "sha1"}


def internal_authenticate(send: Callable[[Command], Response], challenge: bytes) -> bytes:
    return send(Command(0x00, 0x88, 0, 0, challenge, le=256)).check("INTERNAL AUTHENTICATE")


def verify(key: PublicKeyTypes, challenge: bytes, signature: bytes, ec_hash: str | None) -> bool:
    if isinstance(key, ec.EllipticCurvePublicKey):
        n = len(signature) // 2
        if not signature or len(signature) % 2:
            return False
        der = encode_dss_signature(
            int.from_bytes(signature[:n], "big"), int.from_bytes(signature[n:], "big")
        )
        try:
            key.verify(der, challenge, ec.ECDSA(_EC_HASHES[ec_hash or "sha256"]()))
            return True
        except InvalidSignature:
            return False
    if isinstance(key, rsa.RSAPublicKey):
        return _verify_rsa_9796(key, challenge, signature)
    return False


def _verify_rsa_9796(key: rsa.RSAPublicKey, challenge: bytes, signature: bytes) -> bool:
    """ISO/IEC 9796-2 digital signature scheme 1 (partial message recovery)."""
    nums = key.public_numbers()
    k = (nums.n.bit_length() + 7) // 8
    s = int.from_bytes(signature, "big")
    if not 0 < s < nums.n:
        return False
    f = pow(s, nums.e, nums.n)
    if f & 0xF != 0xC:
        f = nums.n - f  # the signer may have sent min(s, n - s)
    m = f.to_bytes(k, "big")
    if m[0] & 0xC0 != 0x40 or m[-1] not in (0xBC, 0xCC):
        return False
    if m[-1] == 0xBC:
        algo, trailer = "sha1", 1
    else:
        algo, trailer = _RSA_TRAILERS.get(m[-2], ""), 2
        if not algo:
            return False
    hlen = hashlib.new(algo).digest_size
    digest = m[-trailer - hlen : -trailer]
    m1 = m[1 : -trailer - hlen]
    return hmac.compare_digest(hashlib.new(algo, m1 + challenge).digest(), digest)


def authenticate(
    send: Callable[[Command], Response], key: PublicKeyTypes | None, ec_hash: str | None
) -> ActiveLevel:
    if key is None:
        return "absent"
    challenge = os.urandom(8)
    try:
        signature = internal_authenticate(send, challenge)
    except (StatusWordError, SecureMessagingError):
        return "failed"  # the chip refused to prove itself; transport errors propagate
    return "verified" if verify(key, challenge, signature, ec_hash) else "failed"
