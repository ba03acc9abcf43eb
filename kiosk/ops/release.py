"""Signed release bundles: a wheelhouse plus metadata signed with Ed25519.

Layout of a bundle directory (and of the `.tar` artifact the fleet server serves):

    metadata.json       {"name", "version", "created", "requirement", "files": {path: sha256}}
    metadata.json.sig   raw Ed25519 signature over metadata.json's exact bytes
    wheelhouse/*.whl    everything `pip install --no-index` needs on the kiosk

Kiosks pin one or more public keys (`fleet.public_keys`); a bundle is accepted
when any pinned key verifies the signature and every file matches its hash.
Key rotation: ship a release signed with the old key whose configuration adds
the new public key, then sign later releases with the new key and drop the old
one from the configuration (docs/deployment.md).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import subprocess
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

PROJECT = "vn-hospital-kiosk"


class BundleError(Exception):
    """The bundle is incomplete, altered, or not signed by a pinned key."""


@dataclass(frozen=True)
class Bundle:
    path: Path
    name: str
    version: str
    requirement: str
    files: dict[str, str]


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def generate_key(private_path: Path) -> str:
    """Write a new Ed25519 private key (PEM, 0600); return the public key as hex."""
    key = Ed25519PrivateKey.generate()
    private_path.parent.mkdir(parents=True, exist_ok=True)
    private_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                               serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
    private_path.chmod(0o600)
    return public_key_hex(key.public_key())


def public_key_hex(key: Ed25519PublicKey) -> str:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex()


def load_private_key(path: Path) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise BundleError(f"{path} is not an Ed25519 private key")
    return key


def load_public_key(text: str) -> Ed25519PublicKey:
    """A pinned key: 64 hex characters (raw) or a PEM public key."""
    text = text.strip()
    if "BEGIN PUBLIC KEY" in text:
        key = serialization.load_pem_public_key(text.encode())
        if not isinstance(key, Ed25519PublicKey):
            raise BundleError("pinned key is not Ed25519")
        return key
    try:
        return Ed25519PublicKey.from_public_bytes(bytes.fromhex(text))
    except ValueError as exc:
        raise BundleError(f"pinned key is neither PEM nor 32-byte hex: {exc}") from None


def build_bundle(source: Path, key: Path, out: Path, *, version: str,
                 include_dependencies: bool = True) -> Bundle:
    """Build the wheelhouse from a checkout, write and sign the metadata."""
    wheelhouse = out / "wheelhouse"
    wheelhouse.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "pip", "wheel", "-q", "--wheel-dir", str(wheelhouse), str(source)]
    if not include_dependencies:
        cmd.insert(4, "--no-deps")
    subprocess.run(cmd, check=True, capture_output=True, timeout=3600)
    return sign_directory(out, key, name=PROJECT, version=version)


def sign_directory(out: Path, key: Path, *, name: str, version: str) -> Bundle:
    files = {str(p.relative_to(out)): sha256_file(p)
             for p in sorted((out / "wheelhouse").glob("*")) if p.is_file()}
    if not any(f.endswith(".whl") for f in files):
        raise BundleError("wheelhouse is empty")
    metadata: dict[str, Any] = {
        "name": name, "version": version,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "requirement": f"{name}=={version}", "files": files,
    }
    raw = json.dumps(metadata, indent=2, sort_keys=True).encode()
    (out / "metadata.json").write_bytes(raw)
    (out / "metadata.json.sig").write_bytes(load_private_key(key).sign(raw))
    return Bundle(out, name, version, metadata["requirement"], files)


def pack(bundle_dir: Path, tar_path: Path) -> Path:
    """The artifact uploaded to the fleet server."""
    with tarfile.open(tar_path, "w") as tar:
        for item in ("metadata.json", "metadata.json.sig", "wheelhouse"):
            tar.add(bundle_dir / item, arcname=item)
    return tar_path


def unpack(tar_path: Path, dest: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    try:
        with tarfile.open(tar_path) as tar:
            members = tar.getmembers()
            for m in members:
                # Only plain files and directories inside dest (Debian 12's Python 3.11.2
                # predates tarfile's extraction filters).
                parts = Path(m.name).parts
                if m.name.startswith("/") or ".." in parts or not (m.isfile() or m.isdir()):
                    raise BundleError(f"artifact member {m.name!r} is not allowed")
            tar.extractall(dest, members=members)  # members checked above
    except (tarfile.TarError, OSError) as exc:
        raise BundleError(f"artifact is not a readable bundle: {exc}") from None
    return dest


def verify_bundle(path: Path, public_keys: list[str] | tuple[str, ...]) -> Bundle:
    """Signature by a pinned key, then every listed file's hash; nothing unlisted."""
    if not public_keys:
        raise BundleError("no release public key is pinned (fleet.public_keys)")
    try:
        raw = (path / "metadata.json").read_bytes()
        signature = (path / "metadata.json.sig").read_bytes()
    except OSError as exc:
        raise BundleError(f"bundle incomplete: {exc}") from None
    for text in public_keys:
        try:
            load_public_key(text).verify(signature, raw)
            break
        except InvalidSignature:
            continue
    else:
        raise BundleError("metadata signature does not verify with any pinned key")
    metadata = json.loads(raw)
    files: dict[str, str] = metadata["files"]
    present = {str(p.relative_to(path)) for p in (path / "wheelhouse").rglob("*") if p.is_file()}
    if present != set(files):
        extra = sorted(present ^ set(files))
        raise BundleError(f"wheelhouse differs from the signed list: {extra}")
    for rel, digest in files.items():
        if sha256_file(path / rel) != digest:
            raise BundleError(f"{rel}: sha256 mismatch (altered after signing)")
    return Bundle(path, metadata["name"], metadata["version"], metadata["requirement"], files)
