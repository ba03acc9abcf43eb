"""Test PKI for the virtual CCCD: a generated CSCA and a document signer under it.

Clearly fake ("TEST CSCA ... virtual"): never a trust anchor outside tests/demo.
Optionally kept in a directory so a demo trust store stays valid across runs:
DIR/trust/csca.pem (what a hospital would configure) and DIR/private/*.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID


@dataclass(frozen=True)
class VirtualPki:
    csca_cert: x509.Certificate
    csca_key: rsa.RSAPrivateKey
    ds_cert: x509.Certificate
    ds_key: rsa.RSAPrivateKey

    def sign(self, data: bytes) -> bytes:
        return self.ds_key.sign(data, padding.PKCS1v15(), hashes.SHA256())

    def write_trust_store(self, directory: Path) -> Path:
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / "csca.pem"
        path.write_bytes(self.csca_cert.public_bytes(serialization.Encoding.PEM))
        return path


def _name(cn: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Kiosk test PKI (virtual, not real)"),
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
        ]
    )


def _cert(
    subject: x509.Name, issuer: x509.Name, key: rsa.RSAPrivateKey, pub: rsa.RSAPublicKey,
    ca: bool, days: int,
) -> x509.Certificate:  # fmt: skip
    now = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    b = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(pub)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=0 if ca else None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(pub), critical=False)
        .add_extension(
            x509.KeyUsage(
                digital_signature=not ca,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=ca,
                crl_sign=ca,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    )
    return b.sign(key, hashes.SHA256())


def generate(common_name: str = "TEST CSCA Viet Nam (virtual)") -> VirtualPki:
    csca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ds_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    csca_name = _name(common_name)
    csca = _cert(csca_name, csca_name, csca_key, csca_key.public_key(), True, 3650)
    ds = _cert(_name("TEST Document Signer (virtual)"), csca_name, csca_key, ds_key.public_key(),
               False, 1825)  # fmt: skip
    return VirtualPki(csca, csca_key, ds, ds_key)


def load_or_generate(directory: Path | None) -> VirtualPki:
    if directory is None:
        return generate()
    private = directory / "private"
    files = [private / n for n in ("csca.pem", "csca.key", "ds.pem", "ds.key")]
    if all(f.exists() for f in files):
        certs = [x509.load_pem_x509_certificate(files[i].read_bytes()) for i in (0, 2)]
        keys = [serialization.load_pem_private_key(files[i].read_bytes(), None) for i in (1, 3)]
        assert isinstance(keys[0], rsa.RSAPrivateKey) and isinstance(keys[1], rsa.RSAPrivateKey)
        pki = VirtualPki(certs[0], keys[0], certs[1], keys[1])
    else:
        pki = generate()
        private.mkdir(parents=True, exist_ok=True)
        pem = serialization.Encoding.PEM
        files[0].write_bytes(pki.csca_cert.public_bytes(pem))
        files[2].write_bytes(pki.ds_cert.public_bytes(pem))
        for f, k in ((files[1], pki.csca_key), (files[3], pki.ds_key)):
            f.write_bytes(
                k.private_bytes(
                    pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
                )
            )
            f.chmod(0o600)
    pki.write_trust_store(directory / "trust")
    return pki
