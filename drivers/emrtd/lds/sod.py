"""EF.SOD: CMS SignedData carrying the LDS security object (DG hashes).

asn1crypto does the ASN.1 (declarative specs, no hand-counted offsets);
every decoding failure, however deep and lazy, becomes `ParseError`.
"""

from __future__ import annotations

from dataclasses import dataclass

from asn1crypto import algos, cms, core, x509

from drivers.emrtd.errors import ParseError
from drivers.emrtd.tlv import expect, tlv

LDS_SECURITY_OBJECT_OID = "2.23.136.1.1.1"


class DataGroupHash(core.Sequence):
    _fields = [  # noqa: RUF012 - asn1crypto's declarative spec
        ("data_group_number", core.Integer),
        ("data_group_hash_value", core.OctetString),
    ]


class DataGroupHashValues(core.SequenceOf):
    _child_spec = DataGroupHash


class LdsVersionInfo(core.Sequence):
    _fields = [  # noqa: RUF012
        ("lds_version", core.PrintableString),
        ("unicode_version", core.PrintableString),
    ]


class LdsSecurityObject(core.Sequence):
    _fields = [  # noqa: RUF012
        ("version", core.Integer),
        ("hash_algorithm", algos.DigestAlgorithm),
        ("data_group_hash_values", DataGroupHashValues),
        ("lds_version_info", LdsVersionInfo, {"optional": True}),
    ]


@dataclass(frozen=True)
class Sod:
    hash_algorithm: str
    dg_hashes: dict[int, bytes]
    econtent: bytes
    signed_data: cms.SignedData
    signer_info: cms.SignerInfo
    certificate_der: bytes | None

    @property
    def size_note(self) -> str:
        return f"{len(self.econtent)} B security object"


def parse_sod(raw: bytes) -> Sod:
    try:
        return _parse(expect(raw, 0x77))
    except ParseError:
        raise
    except Exception as exc:  # asn1crypto raises ValueError/TypeError/KeyError... lazily
        raise ParseError(f"EF.SOD: {type(exc).__name__}: {exc}") from None


def _parse(body: bytes) -> Sod:
    info = cms.ContentInfo.load(body, strict=True)
    if info["content_type"].native != "signed_data":
        raise ParseError("EF.SOD is not CMS SignedData")
    sd = info["content"]
    encap = sd["encap_content_info"]
    if encap["content_type"].dotted != LDS_SECURITY_OBJECT_OID:
        raise ParseError("EF.SOD does not carry an LDS security object")
    econtent = encap["content"].native
    if not isinstance(econtent, bytes):
        raise ParseError("EF.SOD has no encapsulated content")
    lso = LdsSecurityObject.load(econtent, strict=True)
    hashes: dict[int, bytes] = {}
    for item in lso["data_group_hash_values"]:
        n = int(item["data_group_number"].native)
        hashes[n] = bytes(item["data_group_hash_value"].native)
    algo = str(lso["hash_algorithm"]["algorithm"].native)
    signers = sd["signer_infos"]
    if len(signers) < 1:
        raise ParseError("EF.SOD has no signer")
    signer = signers[0]
    signer.native  # noqa: B018 - force the lazy parse now, inside the error boundary
    cert = _signer_certificate(sd, signer)
    return Sod(algo, hashes, econtent, sd, signer, cert)


def _signer_certificate(sd: cms.SignedData, signer: cms.SignerInfo) -> bytes | None:
    certs = [c.chosen for c in sd["certificates"] or [] if c.name == "certificate"]
    sid = signer["sid"]
    for cert in certs:
        if sid.name == "issuer_and_serial_number":
            ias = sid.chosen
            if cert.serial_number == ias["serial_number"].native and cert.issuer == ias["issuer"]:
                return bytes(cert.dump())
        elif cert.key_identifier == sid.chosen.native:
            return bytes(cert.dump())
    return bytes(certs[0].dump()) if certs else None


def build_security_object(hash_algorithm: str, dg_hashes: dict[int, bytes]) -> bytes:
    lso = LdsSecurityObject(
        {
            "version": 0,
            "hash_algorithm": {"algorithm": hash_algorithm},
            "data_group_hash_values": [
                {"data_group_number": n, "data_group_hash_value": h}
                for n, h in sorted(dg_hashes.items())
            ],
        }
    )
    return bytes(lso.dump())


def build_sod(
    econtent: bytes,
    certificate_der: bytes,
    signature_algorithm: str,
    digest_algorithm: str,
    sign: object,
) -> bytes:
    """CMS SignedData over the security object; `sign(data) -> signature` (virtual card)."""
    import hashlib

    cert = x509.Certificate.load(certificate_der)
    digest = hashlib.new(digest_algorithm, econtent).digest()
    attrs = cms.CMSAttributes(
        [
            {"type": "content_type", "values": [LDS_SECURITY_OBJECT_OID]},
            {"type": "message_digest", "values": [digest]},
        ]
    )
    to_sign = b"\x31" + attrs.dump()[1:]
    signature = sign(to_sign)  # type: ignore[operator]
    signer = cms.SignerInfo(
        {
            "version": "v1",
            "sid": cms.SignerIdentifier(
                {
                    "issuer_and_serial_number": {
                        "issuer": cert.issuer,
                        "serial_number": cert.serial_number,
                    }
                }
            ),
            "digest_algorithm": {"algorithm": digest_algorithm},
            "signed_attrs": attrs,
            "signature_algorithm": {"algorithm": signature_algorithm},
            "signature": signature,
        }
    )
    sd = cms.SignedData(
        {
            "version": "v3",
            "digest_algorithms": [{"algorithm": digest_algorithm}],
            "encap_content_info": {
                "content_type": LDS_SECURITY_OBJECT_OID,
                "content": core.ParsableOctetString(econtent),
            },
            "certificates": [cert],
            "signer_infos": [signer],
        }
    )
    info = cms.ContentInfo({"content_type": "signed_data", "content": sd})
    return tlv(0x77, bytes(info.dump()))
