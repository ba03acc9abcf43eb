"""Signed releases: a manifest of content-addressed wheels, signed with Ed25519.

Layout of a bundle directory (what `kiosk release build` writes, what provisioning
installs, and what is uploaded to the fleet server as separate artifacts):

    metadata.json       the manifest (below)
    metadata.json.sig   raw Ed25519 signature over metadata.json's exact bytes
    wheelhouse/*.whl    everything `pip install --no-index` needs on the kiosk

    {"format": 2, "name": "vn-hospital-kiosk", "version": "1.2.0", "arch": "arm64",
     "created": "...", "downgrade": null,
     "files": {"wheelhouse/<name>.whl": {"sha256": "<hex>", "size": <bytes>}}}

A release signed to go back below a newer one names what it replaces and until
when (decision 0101): `"downgrade": {"replaces": ["1.2.0"], "expires":
"2026-12-31T00:00:00+00:00"}`. A replay on a kiosk running another version, or
after the expiry, is refused: holding the fleet server is not enough to roll a
kiosk back to an old bug at any time.

The manifest is small and verified before anything else is fetched: every size and
hash a kiosk later trusts comes from it, so a server can only offer bytes that were
signed. Kiosks pin one or more public keys (`fleet.public_keys`).
Key rotation: docs/deployment.md. `arch` (dpkg's name) is the machines the wheels
run on; a kiosk installs only its own (decision 0171).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import re
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from kiosk.config.fleet import parse_public_key
from kiosk.ops import crossbuild
from kiosk.ops.chunks import Chunk, chunk_list

log = logging.getLogger(__name__)

PROJECT = "vn-hospital-kiosk"
WHEEL_PREFIX = PROJECT.replace("-", "_")
FORMAT = 2
MAX_MANIFEST_BYTES = 1 << 20
SIGNATURE_BYTES = 64
MAX_FILES = 2000
MAX_FILE_BYTES = 512 << 20
MAX_RELEASE_BYTES = 1 << 30  # the whole wheelhouse today is ~139 MB
VERSION_RE = re.compile(r"\d{1,6}(?:\.\d{1,6}){0,3}")
# A wheel file name, never a path: no separators, no leading dot, bounded length.
WHEEL_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+!-]{0,200}\.whl")
SHA256_RE = re.compile(r"[0-9a-f]{64}")
ARCH_RE = re.compile(r"[a-z0-9]{2,16}")
MAX_CHUNKS = 20000
# Fixed zip timestamps: unchanged files give byte-identical wheel entries across releases.
SOURCE_DATE_EPOCH = "315532800"  # 1980-01-01, the earliest a zip can say


class BundleError(Exception):
    """The release is incomplete, altered, malformed, or not signed by a pinned key."""


@dataclass(frozen=True)
class Wheel:
    name: str  # a bare file name (WHEEL_RE), never a path
    sha256: str
    size: int
    chunks: tuple[Chunk, ...] = ()  # the kiosk's own wheel: its zip entries (ops/chunks.py)

    @property
    def rel(self) -> str:
        return f"wheelhouse/{self.name}"


@dataclass(frozen=True)
class Downgrade:
    """The signed permission to install below the highest release: only over these
    exact versions, and only before `expires`."""
    replaces: tuple[str, ...]
    expires: dt.datetime

    def refusal(self, running: str | None, now: dt.datetime) -> str | None:
        """Why this permission does not cover a kiosk running `running` at `now`."""
        if running not in self.replaces:
            return (f"signed to replace {', '.join(self.replaces)} only, this kiosk runs "
                    f"{running or 'no release'}")
        if now >= self.expires:
            return f"the downgrade permission expired at {self.expires.isoformat()}"
        return None

    def to_json(self) -> dict[str, Any]:
        return {"replaces": list(self.replaces), "expires": self.expires.isoformat()}


@dataclass(frozen=True)
class Manifest:
    name: str
    version: str
    downgrade: Downgrade | None
    wheels: tuple[Wheel, ...]
    raw: bytes  # the signed bytes, kept with the installed release
    signature: bytes
    arch: str = ""  # dpkg's name of the machines its wheels run on

    @property
    def requirement(self) -> str:
        return f"{self.name}=={self.version}"

    @property
    def total_size(self) -> int:
        return sum(w.size for w in self.wheels)


@dataclass(frozen=True)
class Bundle:
    """A verified bundle directory (provisioning, tests)."""
    path: Path
    manifest: Manifest

    @property
    def name(self) -> str:
        return self.manifest.name

    @property
    def version(self) -> str:
        return self.manifest.version

    @property
    def requirement(self) -> str:
        return self.manifest.requirement

    @property
    def files(self) -> dict[str, str]:
        return {w.rel: w.sha256 for w in self.manifest.wheels}

    def sources(self) -> dict[str, Path]:
        return {w.name: self.path / w.rel for w in self.manifest.wheels}


def version_key(version: str) -> tuple[int, ...]:
    """Release versions are dotted numbers (1.2.0): comparable without a PEP 440 parser,
    and safe as a directory name."""
    if not VERSION_RE.fullmatch(version):
        raise BundleError(f"version {version[:40]!r} is not dotted numbers like 1.2.0")
    parts = tuple(int(x) for x in version.split("."))
    return parts + (0,) * (4 - len(parts))


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
    try:
        return parse_public_key(text)
    except ValueError as exc:
        raise BundleError(f"pinned key: {exc}") from None


# -- verifying -------------------------------------------------------------------------
def check_signature(raw: bytes, signature: bytes, public_keys: list[str] | tuple[str, ...]
                    ) -> None:
    if not public_keys:
        raise BundleError("no release public key is pinned (fleet.public_keys)")
    if len(raw) > MAX_MANIFEST_BYTES:
        raise BundleError(f"manifest larger than {MAX_MANIFEST_BYTES} bytes")
    if len(signature) != SIGNATURE_BYTES:
        raise BundleError(f"signature is {len(signature)} bytes, not {SIGNATURE_BYTES}")
    for text in public_keys:
        try:
            key = load_public_key(text)
        except BundleError as exc:
            # Checked at load already; one bad key must not disable the others.
            log.warning("skipping an unusable pinned key: %s", exc)
            continue
        try:
            key.verify(signature, raw)
            return
        except InvalidSignature:
            continue
    raise BundleError("manifest signature does not verify with any pinned key")


def parse_manifest(raw: bytes, signature: bytes, public_keys: list[str] | tuple[str, ...]
                   ) -> Manifest:
    """Signature first, then a strict reading of the signed JSON."""
    check_signature(raw, signature, public_keys)
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise BundleError(f"signed manifest is not JSON: {exc}") from None
    return _manifest_from(data, raw, signature)


def _downgrade_from(value: Any) -> Downgrade | None:
    if value is None:
        return None
    replaces = value.get("replaces") if isinstance(value, dict) else None
    expires = value.get("expires") if isinstance(value, dict) else None
    if not isinstance(replaces, list) or not 0 < len(replaces) <= 16 \
            or not all(isinstance(v, str) for v in replaces) or not isinstance(expires, str):
        raise BundleError("manifest downgrade must be {\"replaces\": [versions], "
                          "\"expires\": \"<ISO 8601 time with zone>\"}")
    for version in replaces:
        version_key(version)
    try:
        when = dt.datetime.fromisoformat(expires)
    except ValueError:
        raise BundleError(f"manifest downgrade expiry {expires[:40]!r} is not ISO 8601") from None
    if when.tzinfo is None:
        raise BundleError("manifest downgrade expiry must carry its time zone")
    return Downgrade(tuple(replaces), when)


def _manifest_from(data: Any, raw: bytes, signature: bytes) -> Manifest:
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise BundleError(f"manifest format is not {FORMAT} (built by an older kiosk release?)")
    name, version = data.get("name"), data.get("version")
    if name != PROJECT:
        raise BundleError(f"manifest is for {str(name)[:40]!r}, not {PROJECT}")
    if not isinstance(version, str):
        raise BundleError("manifest version is missing")
    version_key(version)
    downgrade = _downgrade_from(data.get("downgrade"))
    arch = data.get("arch")
    if not isinstance(arch, str) or not ARCH_RE.fullmatch(arch):
        raise BundleError("manifest names no architecture (arch, e.g. amd64 or arm64)")
    files = data.get("files")
    if data.get("allow_downgrade", False) is not False or not isinstance(files, dict):
        # A bare `allow_downgrade: true` (older builds) was replayable forever: refused.
        raise BundleError("manifest fields have the wrong types (a downgrade must name the "
                          "versions it replaces and an expiry: `downgrade`)")
    if not 0 < len(files) <= MAX_FILES:
        raise BundleError(f"manifest lists {len(files)} files (1..{MAX_FILES} allowed)")
    wheels = []
    for rel, entry in files.items():
        name_part = rel.removeprefix("wheelhouse/")
        if not rel.startswith("wheelhouse/") or not WHEEL_RE.fullmatch(name_part):
            raise BundleError(f"manifest entry {str(rel)[:80]!r} is not a wheel file name")
        if not isinstance(entry, dict):
            raise BundleError(f"{name_part}: entry is not an object")
        sha, size = entry.get("sha256"), entry.get("size")
        if not isinstance(sha, str) or not SHA256_RE.fullmatch(sha):
            raise BundleError(f"{name_part}: sha256 is not 64 lowercase hex characters")
        if type(size) is not int or not 0 < size <= MAX_FILE_BYTES:
            raise BundleError(f"{name_part}: size must be 1..{MAX_FILE_BYTES} bytes")
        wheels.append(Wheel(name_part, sha, size, _chunks_from(entry.get("chunks"), name_part,
                                                               size)))
    manifest = Manifest(name, version, downgrade, tuple(wheels), raw, signature, arch)
    if manifest.total_size > MAX_RELEASE_BYTES:
        raise BundleError(f"release of {manifest.total_size} bytes exceeds the "
                          f"{MAX_RELEASE_BYTES}-byte budget")
    own = f"{WHEEL_PREFIX}-{version}-"
    if not any(w.name.startswith(own) for w in wheels):
        raise BundleError(f"no {WHEEL_PREFIX} wheel of version {version} in the release "
                          "(was --version different from the packaged version?)")
    return manifest


def _chunks_from(raw: Any, name: str, size: int) -> tuple[Chunk, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list) or not 0 < len(raw) <= MAX_CHUNKS:
        raise BundleError(f"{name}: chunks must be a list of 1..{MAX_CHUNKS}")
    chunks: list[Chunk] = []
    for item in raw:
        if not (isinstance(item, list) and len(item) == 2 and type(item[0]) is int
                and 0 < item[0] <= size and isinstance(item[1], str)
                and SHA256_RE.fullmatch(item[1])):
            raise BundleError(f"{name}: a chunk is not [size, sha256]")
        chunks.append((item[0], item[1]))
    if sum(c[0] for c in chunks) != size:
        raise BundleError(f"{name}: chunk sizes do not add up to the wheel's size")
    return tuple(chunks)


def read_capped(path: Path, limit: int) -> bytes:
    with path.open("rb") as fh:
        data = fh.read(limit + 1)
    if len(data) > limit:
        raise BundleError(f"{path.name} is larger than {limit} bytes")
    return data


def verify_bundle(path: Path, public_keys: list[str] | tuple[str, ...]) -> Bundle:
    """A bundle directory: signed manifest, then exactly the listed files with their
    sizes and hashes (nothing extra, no links)."""
    try:
        raw = read_capped(path / "metadata.json", MAX_MANIFEST_BYTES)
        signature = read_capped(path / "metadata.json.sig", SIGNATURE_BYTES)
    except OSError as exc:
        raise BundleError(f"bundle incomplete: {exc}") from None
    manifest = parse_manifest(raw, signature, public_keys)
    wheelhouse = path / "wheelhouse"
    present = {str(p.relative_to(path)) for p in wheelhouse.rglob("*")} if wheelhouse.is_dir() \
        else set()
    listed = {w.rel for w in manifest.wheels}
    if present != listed:
        raise BundleError(f"wheelhouse differs from the signed list: {sorted(present ^ listed)}")
    for w in manifest.wheels:
        file = path / w.rel
        if file.is_symlink() or not file.is_file() or file.stat().st_size != w.size:
            raise BundleError(f"{w.rel}: not a plain file of the signed size")
        if sha256_file(file) != w.sha256:
            raise BundleError(f"{w.rel}: sha256 mismatch (altered after signing)")
    return Bundle(path, manifest)


# -- building --------------------------------------------------------------------------
def base_python() -> str:
    """The system interpreter a kiosk release venv is built on (not our own venv's)."""
    name = f"python{sys.version_info.major}.{sys.version_info.minor}"
    base = Path(sys.base_prefix) / "bin" / name
    return str(base) if base.exists() else sys.executable


def packaged_version(wheelhouse: Path) -> str:
    """The version of the project wheel pip built (its file name carries it)."""
    found = sorted(wheelhouse.glob(f"{WHEEL_PREFIX}-*.whl"))
    if len(found) != 1:
        raise BundleError(f"expected one {WHEEL_PREFIX} wheel in the wheelhouse, "
                          f"found {len(found)}")
    return found[0].name.split("-")[1]


def build_bundle(source: Path, key: Path, out: Path, *, version: str | None = None,
                 include_dependencies: bool = True, downgrade: Downgrade | None = None,
                 arch: str | None = None) -> Bundle:
    """Build the wheelhouse from a checkout, prove it installs (for another `arch`:
    that it resolves), then sign the manifest."""
    arch = arch or crossbuild.host_arch()
    foreign = arch != crossbuild.host_arch()
    wheelhouse = out / "wheelhouse"
    wheelhouse.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "pip", "wheel", "-q", "--wheel-dir", str(wheelhouse), str(source)]
    if foreign or not include_dependencies:
        cmd.insert(4, "--no-deps")
    env = {**os.environ, "SOURCE_DATE_EPOCH": SOURCE_DATE_EPOCH}
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=3600, check=False,
                          env=env)
    if proc.returncode != 0:
        raise BundleError(f"pip wheel failed: {proc.stderr.strip()[-400:]}")
    packaged = packaged_version(wheelhouse)
    if version is not None and version != packaged:
        raise BundleError(f"--version {version} differs from the packaged version {packaged} "
                          "(set the version in pyproject.toml, or omit --version)")
    requirement = f"{PROJECT}=={packaged}"
    if not foreign:
        check_installs(wheelhouse, requirement, with_dependencies=include_dependencies)
    elif include_dependencies:
        try:
            crossbuild.gather_wheels(wheelhouse, arch, requirement, wheelhouse,
                                     source / ".cache")
            crossbuild.check_resolves(wheelhouse, arch, requirement)
        except crossbuild.CrossBuildError as exc:
            raise BundleError(f"the {arch} wheelhouse: {exc}") from None
    return sign_directory(out, key, name=PROJECT, version=packaged,
                          downgrade=downgrade, arch=arch)


def check_installs(wheelhouse: Path, requirement: str, *, with_dependencies: bool = True) -> None:
    """Install into a scratch venv with no index, as a kiosk will: a bundle that cannot
    install is refused here rather than on every kiosk of the fleet."""
    with tempfile.TemporaryDirectory(prefix="kiosk-release-check-") as tmp:
        venv = Path(tmp) / "venv"
        steps = [[base_python(), "-m", "venv", str(venv)],
                 [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--no-index",
                  "--disable-pip-version-check", "--find-links", str(wheelhouse),
                  *([] if with_dependencies else ["--no-deps"]), requirement]]
        for step in steps:
            proc = subprocess.run(step, capture_output=True, text=True, timeout=1800,
                                  check=False)
            if proc.returncode != 0:
                raise BundleError(f"the bundle does not install into a scratch venv: "
                                  f"{proc.stderr.strip()[-400:]}")


def sign_directory(out: Path, key: Path, *, name: str, version: str,
                   downgrade: Downgrade | None = None, arch: str | None = None) -> Bundle:
    version_key(version)
    files: dict[str, dict[str, Any]] = {
        str(p.relative_to(out)): {"sha256": sha256_file(p), "size": p.stat().st_size}
        for p in sorted((out / "wheelhouse").glob("*")) if p.is_file()}
    for rel, entry in files.items():
        if rel.startswith(f"wheelhouse/{WHEEL_PREFIX}-"):
            # The kiosk's own wheel changes every release: signed piece by piece.
            entry["chunks"] = [list(c) for c in chunk_list(out / rel)]
    if not any(f.endswith(".whl") for f in files):
        raise BundleError("wheelhouse is empty")
    metadata: dict[str, Any] = {
        "format": FORMAT, "name": name, "version": version,
        "arch": arch or crossbuild.host_arch(),
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "downgrade": downgrade.to_json() if downgrade else None, "files": files,
    }
    raw = json.dumps(metadata, indent=2, sort_keys=True).encode()
    signature = load_private_key(key).sign(raw)
    manifest = _manifest_from(json.loads(raw), raw, signature)
    (out / "metadata.json").write_bytes(raw)
    (out / "metadata.json.sig").write_bytes(signature)
    return Bundle(out, manifest)


def artifact_paths(bundle_dir: Path) -> list[Path]:
    """What to upload to one hawkBit software module: the manifest, its signature and
    every wheel, each as its own artifact (kiosks fetch only the wheels they lack)."""
    return [bundle_dir / "metadata.json", bundle_dir / "metadata.json.sig",
            *sorted((bundle_dir / "wheelhouse").glob("*.whl"))]


def manifest_artifact_names(arch: str) -> tuple[str, str]:
    """A manifest's and its signature's artifact names for one architecture: a
    deployment can carry every architecture's release (shared wheels once), and each
    kiosk fetches its own (plain metadata.json when only one is offered)."""
    return f"metadata.{arch}.json", f"metadata.{arch}.json.sig"


def pack(bundle_dir: Path, tar_path: Path) -> Path:
    """A bundle directory in one file, to carry to a machine being provisioned."""
    with tarfile.open(tar_path, "w") as tar:
        for item in ("metadata.json", "metadata.json.sig", "wheelhouse"):
            tar.add(bundle_dir / item, arcname=item)
    return tar_path
