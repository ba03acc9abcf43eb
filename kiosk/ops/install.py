"""Releases on disk: /opt/kiosk/releases/<version> with its own venv, and the
`current` symlink switched atomically (rename of a fresh symlink over the old).

A release directory is complete only once its `.installed` marker exists, so a
kill -9 in the middle of an install leaves a directory the next attempt
replaces, and `current` still names the old, complete release.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from kiosk.ops.release import Bundle

MARKER = ".installed"


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
    """Create the release's venv from the bundle's wheelhouse, with no network."""
    target = release_dir(root, bundle.version)
    if (target / MARKER).exists():
        return target
    if target.exists():
        shutil.rmtree(target)  # a previous attempt died half-way
    target.mkdir(parents=True)
    shutil.copytree(bundle.path / "wheelhouse", target / "wheelhouse")
    venv = target / "venv"
    interpreter = python or _base_python()
    steps = [
        [interpreter, "-m", "venv", str(venv)],
        [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--no-index",
         "--disable-pip-version-check", "--find-links", str(target / "wheelhouse"),
         bundle.requirement],
    ]
    for cmd in steps:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=1800, check=False)
        if proc.returncode != 0:
            raise InstallError(f"{' '.join(cmd[:3])}… failed: {proc.stderr.strip()[-400:]}")
    (target / MARKER).write_text(bundle.version + "\n")
    return target


def _base_python() -> str:
    """The system interpreter a kiosk release venv is built on (not our own venv's)."""
    name = f"python{sys.version_info.major}.{sys.version_info.minor}"
    base = Path(sys.base_prefix) / "bin" / name
    return str(base) if base.exists() else sys.executable


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
        if path.name != current:
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path.name)
    return removed
