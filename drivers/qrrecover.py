"""The blur-recovery pass: find the code, estimate the blur, deconvolve, decode again.

Runs only after every ordinary pass of `drivers.qr.QrReader` has failed, on
the code's region only, within a time budget. Candidates are tried most
likely first (from `estimate_blur`), so a typical motion-blurred frame is read
on the first or second kernel. Nothing here decides what a payload is: a
candidate image counts only when the decoder's own error correction accepts
it (`try_decode` returns a symbol), so a wrong guess costs time, never a
wrong payload (decision record 0095).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Generic, TypeVar

import cv2
import numpy as np

from drivers.qrdeblur import (
    BlurEstimate,
    Deconvolver,
    disk_kernel,
    estimate_blur,
    motion_kernel,
    tremor_kernel,
)
from drivers.qrregion import Box, find_code_regions

T = TypeVar("T")

# Wiener noise-to-signal ratio and the light smoothing after it: the corpus
# (σ≈3 sensor noise, 8-bit) decodes best near-inverse with the amplified
# noise taken off again by a σ=0.8 Gaussian (measured, decision 0095).
_NSR = {"motion": 0.001, "tremor": 0.002, "disk": 0.001}
_POST_SIGMA = 0.8
# px around the region: the finder's box already covers the smear (it measures
# contrast, which the smear carries); this is slack for the quarter-size grid.
_MARGIN = 20
_DEFOCUS_ANISOTROPY = 0.75  # above: gradients in all directions alike, a disk


@dataclass(frozen=True)
class Kernel:
    kind: str  # "motion" | "tremor" | "disk" | "sharpen"
    length: float = 0.0  # motion / tremor length or disk radius, px
    angle: float = 0.0
    bend: float = 0.0  # tremor only

    def array(self) -> np.ndarray:
        if self.kind == "motion":
            return motion_kernel(self.length, self.angle)
        if self.kind == "tremor":
            return tremor_kernel(self.length, self.angle, self.bend)
        return disk_kernel(self.length)


def candidates(est: BlurEstimate, max_length: int = 27) -> Iterator[Kernel]:
    """Kernels to try, most likely first, no repeats."""
    seen: set[Kernel] = set()
    out: list[Kernel] = []

    def add(kind: str, length: float, angle: float = 0.0, bend: float = 0.0) -> None:
        if kind == "disk":
            if not 1.5 <= length <= 7:
                return
            k = Kernel(kind, round(length * 4) / 4)  # a disk is only read within ~0.25 px
        elif not 3 <= length <= max_length:
            return
        else:
            k = Kernel(kind, round(length * 2) / 2, float(round(angle) % 180), bend)
        if k not in seen:
            seen.add(k)
            out.append(k)

    motion_first = est.anisotropy < _DEFOCUS_ANISOTROPY
    # The autocorrelation dip sits just inside a disk's diameter: ~0.5 px of radius
    # short for large disks (measured on the corpus).
    radius = est.diameter / 2 + 0.25
    L, a = est.length, est.angle
    disks = [radius + d for d in (0, 0.25, -0.25, 0.5, -0.5, 0.75, -0.75, 1.0, -1.0, 1.25)]
    if motion_first:
        for length, angle in ((L, a), (L - 0.5, a), (L + 0.5, a), (L, a + 3), (L, a - 3),
                              (L - 1, a), (L + 1, a), (L - 0.5, a + 3), (L - 0.5, a - 3)):
            add("motion", length, angle)
        # A tremor: the structure tensor finds its direction well, its length is
        # ~1.28× the echo of its double image (the dwell clusters sit inside the
        # ends; measured on the corpus, decision 0095), or the ramp length when the
        # dwell is weak; then walk the usual 8–20 px.
        e = round(est.echo * 1.28)
        for length in (e, L, e + 2, e - 2, L + 2, L - 2, 16, 12, 20, 9, 14, 18):
            for bend in (0.15, -0.15):
                add("tremor", length, a, bend)
        for r in disks[:3]:
            add("disk", r)
    else:
        for r in disks:
            add("disk", r)
        add("motion", L, a)
    yield from out


@dataclass(frozen=True)
class Recovered(Generic[T]):
    symbol: T
    box: Box  # where the region was cut from, frame coordinates
    kernel: Kernel
    tried: int


def recover(
    gray: np.ndarray,
    try_decode: Callable[[np.ndarray], T | None],
    budget_ms: float = 400.0,
    max_regions: int = 2,
    max_candidates: int = 32,
    clock: Callable[[], float] = time.perf_counter,
    regions: list[Box] | None = None,
) -> Recovered[T] | None:
    """Deblur the likeliest code regions of `gray` and decode them; the first clean
    decode wins. `try_decode(image)` must return None unless the decoder's error
    correction succeeded. Tries at most `max_candidates` kernels per region (what
    makes the result independent of the machine's load) and starts none after
    `budget_ms` (the cap for a machine far slower than expected).
    `regions`: where the code is, when the caller already looked."""
    deadline = clock() + budget_ms / 1000
    h, w = gray.shape
    tried = 0
    if regions is None:
        regions = find_code_regions(gray, max_regions=max_regions)
    for box in regions[:max_regions]:
        region_box = box.grow(_MARGIN, w, h)
        region = region_box.crop(gray)
        # Plain sharpening first: it rescues mild defocus for the price of one decode.
        sharp = cv2.addWeighted(region, 2.0, cv2.GaussianBlur(region, (0, 0), 2.0), -1.0, 0)
        tried += 1
        found = try_decode(sharp)
        if found is not None:
            return Recovered(found, region_box, Kernel("sharpen"), tried)
        est = estimate_blur(box.crop(gray))
        deconv = Deconvolver(region, max_kernel=29)
        for n, kernel in enumerate(candidates(est)):
            if clock() > deadline:
                return None
            if n >= max_candidates:
                break
            tried += 1
            # Smoothing after the clip to 0–255 (not folded into the linear filter):
            # measured better on large defocus disks, where ringing overshoots.
            sharp = deconv.wiener(kernel.array(), _NSR[kernel.kind])
            found = try_decode(cv2.GaussianBlur(sharp, (0, 0), _POST_SIGMA))
            if found is not None:
                return Recovered(found, region_box, kernel, tried)
    return None
