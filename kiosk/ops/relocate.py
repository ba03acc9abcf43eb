"""Move a venv built in one directory to the path it will run from.

A venv names its own directory in its scripts' `#!` lines, its `activate`
scripts and `pyvenv.cfg`, and compiled bytecode names the source files it came
from. A release built inside an image root or a package staging directory must
name only its final path (/opt/kiosk/...), or the kiosk runs none of it.
"""

from __future__ import annotations

import os
from pathlib import Path


class RelocateError(Exception):
    pass


def relocate_tree(tree: Path, built_at: Path, final: Path) -> list[Path]:
    """Rewrite every file under `tree` that names `built_at` to name `final` instead.

    Bytecode (`*.pyc`) naming the build path is deleted (the installer compiles it
    again in place); any other binary file naming it is an error, since
    it cannot be rewritten safely. Returns the files rewritten.
    """
    old, new = str(built_at).encode(), str(final).encode()
    if old == new:
        return []
    changed: list[Path] = []
    for dirpath, _dirs, files in os.walk(tree):
        for name in files:
            path = Path(dirpath) / name
            if path.is_symlink():
                target = os.readlink(path)
                if target.startswith(str(built_at)):
                    path.unlink()
                    path.symlink_to(str(final) + target[len(str(built_at)):])
                    changed.append(path)
                continue
            data = path.read_bytes()
            if old not in data:
                continue
            if path.suffix == ".pyc":
                path.unlink()
                continue
            try:
                data.decode("utf-8")
            except UnicodeDecodeError:
                raise RelocateError(f"{path}: binary file names the build directory") from None
            mode = path.stat().st_mode
            path.write_bytes(data.replace(old, new))
            path.chmod(mode)
            changed.append(path)
    return changed
