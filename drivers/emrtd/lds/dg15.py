"""DG15 (active authentication public key) and DG14 (security infos)."""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from cryptography.hazmat.primitives.serialization import load_der_public_key

from drivers.emrtd.errors import ParseError
from drivers.emrtd.pace import oid_from_der, oid_to_der
from drivers.emrtd.tlv import expect, iter_tlv, tlv

AA_INFO_OID = "2.23.136.1.1.5"
ECDSA_PLAIN_HASHES = {
    "0.4.0.127.0.7.1.1.4.1.1": "sha1",
    "0.4.0.127.0.7.1.1.4.1.2": "sha224",
    "0.4.0.127.0.7.1.1.4.1.3": "sha256",
    "0.4.0.127.0.7.1.1.4.1.4": "sha384",
    "0.4.0.127.0.7.1.1.4.1.5": "sha512",
}


def parse_dg15(raw: bytes) -> PublicKeyTypes:
    spki = expect(raw, 0x6F)
    try:
        return load_der_public_key(spki)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise ParseError(f"DG15 public key: {type(exc).__name__}: {exc}") from None


@dataclass(frozen=True)
class SecurityInfo:
    protocol: str
    required: bytes
    optional: bytes


def parse_dg14(raw: bytes) -> list[SecurityInfo]:
    out = []
    for tag, value in iter_tlv(expect(expect(raw, 0x6E), 0x31)):
        if tag != 0x30:
            continue
        items = list(iter_tlv(value))
        if not items or items[0][0] != 0x06:
            raise ParseError("SecurityInfo without protocol OID")
        oid = oid_from_der(items[0][1])
        req = items[1][1] if len(items) > 1 else b""
        opt = items[2][1] if len(items) > 2 else b""
        out.append(SecurityInfo(oid, req, opt))
    return out


def aa_hash(infos: list[SecurityInfo]) -> str | None:
    """The ECDSA hash named by ActiveAuthenticationInfo, if any."""
    for info in infos:
        if info.protocol == AA_INFO_OID and info.optional:
            return ECDSA_PLAIN_HASHES.get(oid_from_der(info.optional))
    return None


def encode_dg14_aa(signature_oid: str, extra: bytes = b"") -> bytes:
    aa = tlv(
        0x30,
        tlv(0x06, oid_to_der(AA_INFO_OID))
        + tlv(0x02, b"\x01")
        + tlv(0x06, oid_to_der(signature_oid)),
    )
    return tlv(0x6E, tlv(0x31, aa + extra))


def encode_dg15(spki_der: bytes) -> bytes:
    return tlv(0x6F, spki_der)
