"""The generated QR corpus, rendered once per session into a temporary directory."""

from __future__ import annotations

from pathlib import Path

import cv2
import pytest

from drivers.virtual.qrcorpus import Sample, samples

SEEDS = 2  # 8 payload kinds × 10 degradations × 2 seeds = 160 frames at 1280×720


@pytest.fixture(scope="session")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[Sample, Path]]:
    root = tmp_path_factory.mktemp("qr-corpus")
    out = []
    for sample in samples(SEEDS):
        # JPEG, as a UVC camera delivers MJPEG: compression artefacts are part of the test.
        path = root / f"{sample.id}.jpg"
        cv2.imwrite(str(path), sample.render(), [cv2.IMWRITE_JPEG_QUALITY, 90])
        out.append((sample, path))
    return out
