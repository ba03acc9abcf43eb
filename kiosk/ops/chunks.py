"""Pieces of a wheel that survive from one release to the next.

A wheel is a zip: one local entry per file, then the central directory. Built with
a fixed SOURCE_DATE_EPOCH, an unchanged file gives byte-identical entries in the
next release's wheel, so the kiosk's own wheel (~10 MB, almost all sounds and
fonts) is signed as a list of chunks, one per entry; a kiosk copies the chunks
it already has from the installed wheel and fetches only the others with HTTP
Range requests. The whole wheel's signed sha256 is checked after assembly.
"""

from __future__ import annotations

import hashlib
import itertools
import zipfile
from pathlib import Path

Chunk = tuple[int, str]  # (size, sha256)


def boundaries(path: Path) -> list[tuple[int, int]]:
    """(offset, size) of each local entry, then of the central directory + end record."""
    size = path.stat().st_size
    with zipfile.ZipFile(path) as zf:
        offsets = {info.header_offset for info in zf.infolist()}
        start_dir = getattr(zf, "start_dir", None)  # where the central directory begins
    cuts = sorted({0, size, *(o for o in offsets if 0 < o < size),
                   *([start_dir] if isinstance(start_dir, int) and 0 < start_dir < size
                     else [])})
    return [(a, b - a) for a, b in itertools.pairwise(cuts) if b > a]


def chunk_list(path: Path) -> list[Chunk]:
    out: list[Chunk] = []
    with path.open("rb") as fh:
        for offset, size in boundaries(path):
            fh.seek(offset)
            out.append((size, hashlib.sha256(fh.read(size)).hexdigest()))
    return out


def index(paths: list[Path]) -> dict[str, tuple[Path, int, int]]:
    """sha256 -> (file, offset, size) of every chunk of local wheels (unreadable ones
    are skipped: they only mean more is downloaded)."""
    found: dict[str, tuple[Path, int, int]] = {}
    for path in paths:
        try:
            with path.open("rb") as fh:
                for offset, size in boundaries(path):
                    fh.seek(offset)
                    digest = hashlib.sha256(fh.read(size)).hexdigest()
                    found.setdefault(digest, (path, offset, size))
        except (OSError, zipfile.BadZipFile):
            continue
    return found
