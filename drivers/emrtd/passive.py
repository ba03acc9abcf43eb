"""Passive authentication (ICAO 9303-11 §5.1) and the CSCA trust store.

Levels: `verified` (hashes, SOD signature and chain to a trusted CSCA all
good), `untrusted` (hashes and signature good, no trusted chain), `failed`
(a hash or the signature is wrong), `absent` (the card has no EF.SOD).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from asn1crypto import cms, core
from asn1crypto import x509 as a_x509
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from drivers.emrtd.errors import ParseError
from drivers.emrtd.lds.sod import Sod

PassiveLevel = Literal["verified", "untrusted", "failed", "absent"]
_HASHES: dict[str, Callable[[], hashes.HashAlgorithm]] = {
    "sha1": hashes.SHA1,
    "sha224": hashes.SHA224,
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}


class _CertSet(core.SetOf):
    _child_spec = a_x509.Certificate


class CscaMasterList(core.Sequence):
    _fields = [("version", core.Integer), ("cert_list", _CertSet)]  # noqa: RUF012


@dataclass
class TrustStore:
    """CSCA certificates from PEM/DER files and ICAO master lists (CMS)."""

    anchors: list[x509.Certificate] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @classmethod
    def load(cls, path: str | Path) -> TrustStore:
        store = cls()
        p = Path(path)
        files = sorted(f for f in p.rglob("*") if f.is_file()) if p.is_dir() else [p]
        for f in files:
            try:
                store.anchors.extend(_load_certificates(f.read_bytes()))
            except (ValueError, ParseError) as exc:
                store.problems.append(f"{f.name}: {exc}")
        return store


def _load_certificates(data: bytes) -> list[x509.Certificate]:
    if b"-----BEGIN CERTIFICATE-----" in data:
        return x509.load_pem_x509_certificates(data)
    if b"-----BEGIN" in data:
        return []  # keys and other PEM objects are not trust anchors
    try:
        return [x509.load_der_x509_certificate(data)]
    except ValueError:
        pass
    # ICAO master list: CMS SignedData whose content is a CscaMasterList.
    # (The list's own signature is not checked: the file itself is what the
    # hospital chose to trust.)
    try:
        info = cms.ContentInfo.load(data, strict=True)
        content = info["content"]["encap_content_info"]["content"].native
        ml = CscaMasterList.load(content, strict=True)
        return [x509.load_der_x509_certificate(c.dump()) for c in ml["cert_list"]]
    except Exception as exc:  # asn1crypto's lazy errors
        raise ParseError(
            f"neither a certificate nor a master list ({type(exc).__name__})"
        ) from None


@dataclass(frozen=True)
class PassiveResult:
    level: PassiveLevel
    detail: str
    dg_hash_ok: dict[int, bool] = field(default_factory=dict)


def check_hashes(sod: Sod, files: dict[int, bytes]) -> dict[int, bool]:
    algo = sod.hash_algorithm
    out = {}
    for n, data in files.items():
        expected = sod.dg_hashes.get(n)
        out[n] = expected is not None and hmac.compare_digest(
            hashlib.new(algo, data).digest(), expected
        )
    return out


def _verify_signature(sod: Sod, cert: x509.Certificate) -> None:
    """Raise InvalidSignature / ParseError unless the SOD signature verifies."""
    si = sod.signer_info
    digest = str(si["digest_algorithm"]["algorithm"].native)
    if digest not in _HASHES:
        raise ParseError(f"digest {digest} not supported")
    signed_attrs = si["signed_attrs"]
    if signed_attrs is not None and len(signed_attrs):
        md = None
        for attr in signed_attrs:
            if attr["type"].native == "message_digest":
                md = bytes(attr["values"][0].native)
        if md is None or not hmac.compare_digest(md, hashlib.new(digest, sod.econtent).digest()):
            raise InvalidSignature("messageDigest does not match the security object")
        data = b"\x31" + signed_attrs.dump()[1:]
    else:
        data = sod.econtent
    sig = bytes(si["signature"].native)
    algo = si["signature_algorithm"]
    kind = algo.signature_algo
    key = cert.public_key()
    h = _HASHES[digest]()
    if isinstance(key, rsa.RSAPublicKey):
        if kind == "rsassa_pss":
            params = algo["parameters"]
            h = _HASHES[str(params["hash_algorithm"]["algorithm"].native)]()
            pad: padding.AsymmetricPadding = padding.PSS(
                padding.MGF1(h), int(params["salt_length"].native)
            )
        else:
            pad = padding.PKCS1v15()
        key.verify(sig, data, pad, h)
    elif isinstance(key, ec.EllipticCurvePublicKey):
        key.verify(sig, data, ec.ECDSA(h))
    else:
        raise ParseError("document signer key type not supported")


def passive_authenticate(
    sod: Sod | None, files: dict[int, bytes], trust: TrustStore | None
) -> PassiveResult:
    if sod is None:
        return PassiveResult("absent", "the card has no EF.SOD")
    ok = check_hashes(sod, files)
    bad = sorted(n for n, good in ok.items() if not good)
    if bad:
        return PassiveResult("failed", f"hash mismatch for DG{', DG'.join(map(str, bad))}", ok)
    if sod.certificate_der is None:
        return PassiveResult("failed", "EF.SOD carries no document signer certificate", ok)
    try:
        ds = x509.load_der_x509_certificate(sod.certificate_der)
        _verify_signature(sod, ds)
    except (InvalidSignature, ValueError, ParseError, KeyError, TypeError) as exc:
        return PassiveResult("failed", f"SOD signature does not verify ({type(exc).__name__})", ok)
    if trust is None or not trust.anchors:
        return PassiveResult("untrusted", "signature good; no CSCA trust store", ok)
    for csca in trust.anchors:
        if csca.subject != ds.issuer:
            continue
        try:
            ds.verify_directly_issued_by(csca)
        except (InvalidSignature, ValueError, TypeError):
            continue
        return PassiveResult("verified", f"chained to {csca.subject.rfc4514_string()}", ok)
    return PassiveResult(
        "untrusted", "signature good; document signer not issued by a trusted CSCA", ok
    )
