"""Getting a release's files onto the kiosk, in the updater's own directory.

Order matters: the manifest and its signature (small, in memory) are verified
first; only then is any wheel fetched, each capped at its signed size, named
locally by its signed sha256 (never by anything the server says), checked, and
kept as `<sha256>.whl`. Wheels an installed release already has are reused, and
the kiosk's own wheel is put together from the pieces (zip entries) the installed
one shares with it (ops/chunks.py): a release that changes only the kiosk's code
downloads the changed entries, not its 10 MB of sounds and fonts.

The directory (`/var/lib/kiosk-update`, root only) holds nothing else the kiosk
needs: it is emptied after every finished or refused update.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from kiosk.ops import chunks, crossbuild
from kiosk.ops.chunks import Chunk
from kiosk.ops.hawkbit import Artifact, DdiClient, DdiError
from kiosk.ops.release import (
    MAX_MANIFEST_BYTES,
    SIGNATURE_BYTES,
    WHEEL_PREFIX,
    BundleError,
    Manifest,
    Wheel,
    manifest_artifact_names,
    parse_manifest,
    sha256_file,
)

log = logging.getLogger(__name__)

MANIFEST = "metadata.json"
SIGNATURE = "metadata.json.sig"
FREE_SPACE_RESERVE = 200 << 20  # leave the database room to grow
RANGE_BYTES = 16 << 20  # the most one Range request asks for


class FetchError(Exception):
    """The release cannot be fetched as signed (refused, or not offered), or the server
    did not deliver it (`unanswered`: too slow, down; the round is tried again later)."""

    def __init__(self, message: str, *, unanswered: bool = False) -> None:
        super().__init__(message)
        self.unanswered = unanswered


def _fetch_error(exc: Exception) -> FetchError:
    return FetchError(str(exc), unanswered=isinstance(exc, DdiError) and exc.unanswered)


@dataclass(frozen=True)
class Fetched:
    manifest: Manifest
    sources: dict[str, Path]  # wheel name -> verified local file
    downloaded_bytes: int


def fetch_manifest(client: DdiClient, artifacts: dict[str, Artifact],
                   public_keys: tuple[str, ...], arch: str | None = None) -> Manifest:
    """The signed manifest of this kiosk's architecture (`arch`, default its own)."""
    arch = arch or crossbuild.host_arch()
    manifest_name, signature_name = _manifest_names(artifacts, arch)
    try:
        raw = client.fetch_small(artifacts[manifest_name], MAX_MANIFEST_BYTES)
        signature = client.fetch_small(artifacts[signature_name], SIGNATURE_BYTES)
        manifest = parse_manifest(raw, signature, public_keys)
    except (DdiError, BundleError) as exc:
        raise _fetch_error(exc) from None
    if manifest.arch != arch:
        raise FetchError(f"the release is built for {manifest.arch}; this kiosk is {arch}")
    return manifest


def _manifest_names(artifacts: dict[str, Artifact], arch: str) -> tuple[str, str]:
    """metadata.<arch>.json (+ .sig) when the deployment carries several architectures,
    else metadata.json; the signed `arch` inside decides in both cases."""
    own = manifest_artifact_names(arch)
    names = own if own[0] in artifacts else (MANIFEST, SIGNATURE)
    missing = [n for n in names if n not in artifacts]
    if missing:
        raise FetchError(f"the deployment has no {' / '.join(missing)} artifact "
                         "(upload the bundle's manifest, signature and wheels)")
    return names


def fetch_wheels(client: DdiClient, manifest: Manifest, artifacts: dict[str, Artifact],
                 downloads: Path, installed: Iterable[Path], *, reserve: int = FREE_SPACE_RESERVE
                 ) -> Fetched:
    """Every wheel of the manifest as a verified local file: an installed release's
    copy, a verified earlier download, or a fresh capped download."""
    downloads.mkdir(parents=True, exist_ok=True, mode=0o700)
    wanted = {w.sha256 for w in manifest.wheels}
    _remove_unwanted(downloads, wanted)
    installed_list = list(installed)
    local = _installed_wheels(installed_list)
    sources: dict[str, Path] = {}
    to_fetch: list[Wheel] = []
    for wheel in manifest.wheels:
        kept = downloads / f"{wheel.sha256}.whl"
        candidate = local.get(wheel.sha256)
        if candidate is not None and candidate.stat().st_size == wheel.size:
            sources[wheel.name] = candidate  # hashed again when copied into the release
        elif kept.exists() and kept.stat().st_size == wheel.size:
            sources[wheel.name] = kept
        else:
            to_fetch.append(wheel)
    needed = sum(w.size for w in to_fetch)
    free = shutil.disk_usage(downloads).free
    if needed + reserve > free:
        raise FetchError(f"not enough disk: {needed} bytes to download, {free} free "
                         f"(keeping {reserve} in reserve)")
    downloaded = 0
    pieces: dict[str, tuple[Path, int, int]] | None = None
    for wheel in to_fetch:
        artifact = artifacts.get(wheel.name)
        if artifact is None:
            raise FetchError(f"{wheel.name} is neither on the kiosk nor offered by the server")
        part = downloads / f"{wheel.sha256}.part"
        try:
            if wheel.chunks:
                if pieces is None:
                    pieces = chunks.index(_own_wheels(installed_list))
                downloaded += _assemble(client, artifact, wheel, part, pieces)
            else:
                downloaded += client.download(artifact, part, wheel.size)
        except (DdiError, OSError) as exc:
            part.unlink(missing_ok=True)
            raise _fetch_error(exc) from None
        if sha256_file(part) != wheel.sha256:
            part.unlink()
            raise FetchError(f"{wheel.name}: sha256 differs from the signed manifest")
        kept = downloads / f"{wheel.sha256}.whl"
        os.replace(part, kept)
        sources[wheel.name] = kept
    return Fetched(manifest, sources, downloaded)


def _own_wheels(releases: list[Path]) -> list[Path]:
    """The kiosk's own wheels on disk: where unchanged chunks are copied from."""
    return [p for r in releases for p in (r / "wheelhouse").glob(f"{WHEEL_PREFIX}-*.whl")]


def _assemble(client: DdiClient, artifact: Artifact, wheel: Wheel, part: Path,
              pieces: dict[str, tuple[Path, int, int]]) -> int:
    """Write the wheel chunk by chunk: copied when a local wheel has it, else fetched
    with a Range request (adjacent missing chunks in one request). Every chunk is
    checked against its signed hash as it is written."""
    received = 0
    offset = 0
    plan: list[tuple[int, Chunk, tuple[Path, int, int] | None]] = []
    for chunk in wheel.chunks:
        plan.append((offset, chunk, pieces.get(chunk[1])))
        offset += chunk[0]
    with part.open("wb") as out:
        i = 0
        while i < len(plan):
            start, (size, digest), local = plan[i]
            if local is not None:
                path, at, _ = local
                with path.open("rb") as fh:
                    fh.seek(at)
                    data = fh.read(size)
                _check(data, digest, wheel)
                out.write(data)
                i += 1
                continue
            j = i  # a run of missing chunks, fetched at once (bounded)
            total = 0
            while j < len(plan) and plan[j][2] is None and total < RANGE_BYTES:
                total += plan[j][1][0]
                j += 1
            data = client.fetch_range(artifact, start, total)
            received += len(data)
            at = 0
            for _, (size, digest), _ in plan[i:j]:
                _check(data[at:at + size], digest, wheel)
                at += size
            out.write(data)
            i = j
    return received


def _check(data: bytes, digest: str, wheel: Wheel) -> None:
    if hashlib.sha256(data).hexdigest() != digest:
        raise DdiError(f"{wheel.name}: a chunk differs from the signed manifest", final=True)


def _remove_unwanted(downloads: Path, wanted: set[str]) -> None:
    """Leftovers of another release (or of anything else) do not stay."""
    for entry in downloads.iterdir():
        stem, _, suffix = entry.name.partition(".")
        if entry.is_file() and not entry.is_symlink() and stem in wanted \
                and suffix in ("whl", "part"):
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()


def clear(downloads: Path) -> None:
    if downloads.exists():
        _remove_unwanted(downloads, set())


def _installed_wheels(releases: Iterable[Path]) -> dict[str, Path]:
    """sha256 -> wheel file of the completely installed releases (from the manifest
    each keeps; the file is hashed again before it is used)."""
    found: dict[str, Path] = {}
    for release in releases:
        try:
            data = json.loads((release / "manifest.json").read_bytes())
            files = data["files"]
            for rel, entry in files.items():
                name = rel.removeprefix("wheelhouse/")
                path = release / "wheelhouse" / name
                if "/" not in name and isinstance(entry, dict) and path.is_file():
                    found.setdefault(str(entry.get("sha256")), path)
        except (OSError, ValueError, KeyError, AttributeError, TypeError):
            continue  # an older or damaged release: nothing reused from it
    return found
