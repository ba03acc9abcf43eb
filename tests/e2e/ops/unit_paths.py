"""Checks shared by the package and provisioning tests: a tree that names no build
directory, and units whose every named path exists in the root they run in."""

from __future__ import annotations

import os
import re
from pathlib import Path

# Keys whose values are paths the unit needs (the programs Exec lines run, Documentation=file:,
# Environment=KIOSK_CONFIG, ReadWritePaths).
_EXEC = re.compile(r"^Exec\w+=[-@:+!]*(.+)$", re.M)
_DOC = re.compile(r"^Documentation=file://(\S+)", re.M)
_CONFIG = re.compile(r"^Environment=KIOSK_CONFIG=(\S+)", re.M)
_RW = re.compile(r"^ReadWritePaths=(.+)$", re.M)


def assert_no_path_named(tree: Path, needles: list[str]) -> None:
    """No file (nor symlink target) under `tree` contains any of `needles`."""
    raw = [n.encode() for n in needles]
    offenders = []
    for dirpath, _dirs, files in os.walk(tree):
        for name in files:
            path = Path(dirpath) / name
            data = os.readlink(path).encode() if path.is_symlink() else path.read_bytes()
            if any(n in data for n in raw):
                offenders.append(str(path.relative_to(tree)))
    assert not offenders, f"{len(offenders)} files name {needles}: {offenders[:10]}"


def unit_paths(text: str) -> list[str]:
    paths = [word for line in _EXEC.findall(text) for word in line.split()
             if word.startswith("/")]
    paths += _DOC.findall(text) + _CONFIG.findall(text)
    for line in _RW.findall(text):
        paths += [p.lstrip("-") for p in line.split()]
    return paths


def assert_unit_paths_exist(root: Path, units: list[Path]) -> None:
    missing = []
    for unit in units:
        for path in unit_paths(unit.read_text()):
            target = root / path.lstrip("/")
            # Symlinks are resolved inside `root`, as systemd does with --root.
            while target.is_symlink():
                link = os.readlink(target)
                target = root / link.lstrip("/") if link.startswith("/") else target.parent / link
            if not target.exists():
                missing.append(f"{unit.name}: {path}")
    assert not missing, missing
