"""Releases on disk: /opt/kiosk/releases/<version> with its own venv, and the
`current` symlink switched atomically (rename of a fresh symlink over the old).

A release directory is complete only once its `.installed` marker exists, so a
kill -9 in the middle of an install leaves a directory the next attempt
replaces, and `current` still names the old, complete release.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path

from kiosk.ops.release import Bundle, Manifest, Wheel, base_python
from kiosk.ops.relocate import RelocateError, relocate_tree

MARKER = ".installed"
PACKAGED = ".packaged"  # written by the .deb (packaging/build_deb.py)


class InstallError(Exception):
    pass


def opt_dir(root: Path) -> Path:
    return root / "opt" / "kiosk"


def release_dir(root: Path, version: str) -> Path:
    return opt_dir(root) / "releases" / version


def current_version(root: Path) -> str | None:
    link = opt_dir(root) / "current"
    if not link.is_symlink():
        return None
    return Path(os.readlink(link)).name


def is_installed(root: Path, version: str) -> bool:
    return (release_dir(root, version) / MARKER).exists()


def install_release(bundle: Bundle, root: Path, *, python: str | None = None) -> Path:
    """Install a verified bundle directory (provisioning)."""
    return install_wheels(bundle.manifest, bundle.sources(), root, python=python)


def install_wheels(manifest: Manifest, sources: Mapping[str, Path], root: Path, *,
                   python: str | None = None) -> Path:
    """Create the release's venv from exactly the manifest's wheels, with no network.

    Each wheel is copied under its signed name with a mode the installer chooses,
    hashed on the way: only listed files, each of its signed size, are written.
    """
    target = release_dir(root, manifest.version)
    if (target / MARKER).exists():
        return target
    if target.exists():
        shutil.rmtree(target)  # a previous attempt died half-way
    wheelhouse = target / "wheelhouse"
    wheelhouse.mkdir(parents=True, mode=0o755)
    for wheel in manifest.wheels:
        source = sources.get(wheel.name)
        if source is None:
            raise InstallError(f"{wheel.name}: no local copy")
        _copy_verified(source, wheelhouse / wheel.name, wheel)
    # Kept with the release: which wheels it has (reused by later updates).
    _write_new(target / "manifest.json", manifest.raw)
    _write_new(target / "manifest.json.sig", manifest.signature)
    venv = target / "venv"
    interpreter = python or base_python()
    # The path the release runs from: different from `target` when building an image
    # or a test tree under `root` (nothing in it may name `root`).
    final = Path("/") / target.relative_to(root)
    steps = [
        [interpreter, "-m", "venv", str(venv)],
        [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--no-index",
         "--no-compile", "--disable-pip-version-check", "--find-links", str(wheelhouse),
         manifest.requirement],
    ]
    for cmd in steps:
        _run(cmd)
    try:
        relocate_tree(venv, venv, final / "venv")
    except RelocateError as exc:
        raise InstallError(str(exc)) from None
    # Bytecode compiled here names the final paths (pip's own would name `target`).
    _run([str(venv / "bin" / "python"), "-m", "compileall", "-q", "-j", "0",
          "-d", str(final / "venv" / "lib"), str(venv / "lib")])
    _install_docs(venv, target)
    (target / MARKER).write_text(manifest.version + "\n")
    return target


def _run(cmd: list[str]) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=1800, check=False)
    if proc.returncode != 0:
        raise InstallError(f"{' '.join(cmd[:3])}… failed: {proc.stderr.strip()[-400:]}")


def _install_docs(venv: Path, target: Path) -> None:
    """The technician's guide where the units' Documentation= points
    (/opt/kiosk/current/share/doc/deployment.md), from the release's own package."""
    for guide in (venv / "lib").glob("python3*/site-packages/kiosk/_docs/deployment.md"):
        docs = target / "share" / "doc"
        docs.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(guide, docs / "deployment.md")


def _write_new(path: Path, data: bytes, mode: int = 0o644) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.chmod(path, mode)  # whatever the umask was


def _copy_verified(source: Path, dest: Path, wheel: Wheel) -> None:
    digest = hashlib.sha256()
    written = 0
    fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
    with source.open("rb") as src, os.fdopen(fd, "wb") as out:
        while block := src.read(1 << 20):
            written += len(block)
            if written > wheel.size:
                break
            digest.update(block)
            out.write(block)
    os.chmod(dest, 0o644)
    if written != wheel.size or digest.hexdigest() != wheel.sha256:
        dest.unlink()
        raise InstallError(f"{wheel.name}: local copy differs from the signed manifest")


def installed_releases(root: Path) -> list[Path]:
    releases = opt_dir(root) / "releases"
    if not releases.is_dir():
        return []
    return sorted(p for p in releases.iterdir() if (p / MARKER).exists())


def switch_current(root: Path, version: str) -> None:
    """Point `current` at an installed release, atomically."""
    if not is_installed(root, version):
        raise InstallError(f"release {version} is not completely installed")
    base = opt_dir(root)
    tmp = base / ".current.tmp"
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    tmp.symlink_to(Path("releases") / version)
    os.replace(tmp, base / "current")
    _fsync_dir(base)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def prune(root: Path, keep: int = 3) -> list[str]:
    """Remove old releases, never the current or previous one."""
    releases = opt_dir(root) / "releases"
    if not releases.exists():
        return []
    current = current_version(root)
    ordered = sorted(releases.iterdir(), key=lambda p: p.stat().st_mtime, reverse=True)
    removed = []
    for path in ordered[keep:]:
        # The Debian package's release belongs to dpkg: `apt remove` takes it away.
        if path.name != current and not (path / PACKAGED).exists():
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path.name)
    return removed
