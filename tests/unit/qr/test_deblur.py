"""Blur recovery parts: kernels, the blur estimate, Wiener deconvolution, the region
finder and the recovery loop's guarantees (never a payload the decoder did not
accept; bounded work). Blurred inputs come from the corpus's own kernels
(drivers.virtual.qrhand), not from the ones under test."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from drivers.qr import ZxingDecoder
from drivers.qrdeblur import Deconvolver, disk_kernel, estimate_blur, motion_kernel, tremor_kernel
from drivers.qrrecover import Kernel, recover
from drivers.qrregion import Box, find_code_regions, sharpness
from drivers.virtual.qrcorpus import PAYLOADS
from drivers.virtual.qrhand import disk_kernel as corpus_disk
from drivers.virtual.qrhand import line_path, path_kernel
from drivers.virtual.qrscene import render_background, render_code

URL = PAYLOADS["url"]


def _blurred_code(kernel: np.ndarray, module_px: int = 5, seed: int = 0) -> np.ndarray:
    """A code on a mid-grey page, blurred by `kernel`, with σ=3 sensor noise, as uint8."""
    code = render_code(URL, module_px).astype(np.float32) * (205 / 255) + 25
    page = np.full((code.shape[0] + 120, code.shape[1] + 120), 140, np.float32)
    page[60:60 + code.shape[0], 60:60 + code.shape[1]] = code
    out = cv2.filter2D(page, -1, kernel, borderType=cv2.BORDER_REPLICATE)
    out += np.random.default_rng(seed).standard_normal(out.shape).astype(np.float32) * 3
    return np.clip(out, 0, 255).astype(np.uint8)


def _spread(kernel: np.ndarray, angle_deg: float) -> float:
    """Weighted standard deviation of a kernel along `angle_deg`, px. A uniform
    line of length L has L/√12; a disk of radius r has r/2 along any axis."""
    ys, xs = np.mgrid[:kernel.shape[0], :kernel.shape[1]]
    a = np.deg2rad(angle_deg)
    proj = xs * np.cos(a) + ys * np.sin(a)
    w = kernel / kernel.sum()
    mean = float((w * proj).sum())
    return float(np.sqrt((w * (proj - mean) ** 2).sum()))


def _extent(kernel: np.ndarray, angle_deg: float) -> float:
    """End-to-end length of a kernel's support along `angle_deg` (weights > 2 % of max)."""
    ys, xs = np.nonzero(kernel > kernel.max() * 0.02)
    cy, cx = (kernel.shape[0] - 1) / 2, (kernel.shape[1] - 1) / 2
    a = np.deg2rad(angle_deg)
    proj = (xs - cx) * np.cos(a) + (ys - cy) * np.sin(a)
    return float(proj.max() - proj.min() + 1)


@pytest.mark.parametrize("length,angle", [(5, 0), (12, 37), (25, 90), (17.5, 151)])
def test_motion_kernel_is_normalised_and_as_long_as_asked(length: float, angle: float) -> None:
    k = motion_kernel(length, angle)
    assert k.dtype == np.float32 and abs(float(k.sum()) - 1) < 1e-5
    assert abs(_spread(k, angle) * np.sqrt(12) - length) <= 1.0
    assert _spread(k, angle + 90) <= 0.8  # thin across the motion


def test_disk_and_tremor_kernels() -> None:
    for r in (2, 3.5, 6):
        k = disk_kernel(r)
        assert abs(float(k.sum()) - 1) < 1e-5
        assert abs(_spread(k, 0) * 2 - r) <= 0.4 and abs(_spread(k, 90) * 2 - r) <= 0.4
    t = tremor_kernel(16, 30, 0.15)
    assert abs(float(t.sum()) - 1) < 1e-5
    assert abs(_extent(t, 30) - 16) <= 2.5
    # The hand dwells at the ends: the middle of the path weighs less than its ends.
    straight = tremor_kernel(16, 0, 0.0)
    row = straight[straight.shape[0] // 2]
    assert row.max() > 2 * row[len(row) // 2]


@pytest.mark.parametrize("length,angle", [(7, 10), (14, 75), (22, 130), (18, 170)])
def test_estimate_finds_motion_direction_and_length(length: float, angle: float) -> None:
    image = _blurred_code(path_kernel(line_path(length, angle)))
    est = estimate_blur(image[40:-40, 40:-40])
    diff = abs((est.angle - angle + 90) % 180 - 90)
    assert diff <= 5, est
    assert abs(est.length - length) <= 1.5, est
    assert est.anisotropy < 0.5


def test_estimate_tells_defocus_from_motion() -> None:
    est = estimate_blur(_blurred_code(corpus_disk(4.0))[40:-40, 40:-40])
    assert est.anisotropy > 0.75
    assert abs(est.diameter - 8) <= 1.5


def test_wiener_undoes_a_blur_the_decoder_cannot_read() -> None:
    image = _blurred_code(path_kernel(line_path(16, 60)))
    zxing = ZxingDecoder()
    assert zxing.decode(image) == []
    out = Deconvolver(image).wiener(motion_kernel(16, 60), 0.001)
    assert out.shape == image.shape and out.dtype == np.uint8
    symbols = zxing.decode(cv2.GaussianBlur(out, (0, 0), 0.8))
    assert [s.text for s in symbols] == [URL]


def test_deconvolver_rejects_what_is_not_a_grey_region() -> None:
    with pytest.raises(ValueError):
        Deconvolver(np.zeros((0, 10), np.uint8))
    with pytest.raises(ValueError):
        Deconvolver(np.zeros((10, 10, 3), np.uint8))


def test_region_finder_finds_blurred_codes_and_not_lobby_clutter() -> None:
    frame = np.full((720, 1280), 120, np.uint8)
    code = _blurred_code(path_kernel(line_path(20, 20)))
    frame[200:200 + code.shape[0], 500:500 + code.shape[1]] = code
    boxes = find_code_regions(frame)
    assert boxes, "no region"
    box = boxes[0]
    # The code proper sits at +60..+60+side inside the pasted image.
    side = code.shape[0] - 120
    assert box.x0 <= 500 + 60 + 8 and box.x1 >= 500 + 60 + side - 8
    assert box.y0 <= 200 + 60 + 8 and box.y1 >= 200 + 60 + side - 8
    for seed in range(4):
        assert find_code_regions(cv2.cvtColor(render_background(seed), cv2.COLOR_BGR2GRAY)) == []


def test_region_finder_input_checks() -> None:
    assert find_code_regions(np.zeros((10, 10), np.uint8)) == []
    with pytest.raises(ValueError):
        find_code_regions(np.zeros((100, 100, 3), np.uint8))


def test_sharpness_ranks_less_blur_higher() -> None:
    sharp = _blurred_code(path_kernel(line_path(3, 0)))
    box = Box(40, 40, sharp.shape[1] - 40, sharp.shape[0] - 40)
    scores = [sharpness(_blurred_code(path_kernel(line_path(n, 0))), box) for n in (3, 8, 16, 24)]
    assert scores == sorted(scores, reverse=True)
    assert sharpness(sharp, Box(0, 0, 0, 0)) == 0.0


def test_recover_never_invents_a_payload_and_its_work_is_bounded() -> None:
    image = _blurred_code(path_kernel(line_path(30, 45)))  # beyond what it searches
    calls: list[tuple[int, ...]] = []

    def refuse(region: np.ndarray) -> str | None:
        calls.append(region.shape)
        return None

    assert recover(image, refuse, max_candidates=10) is None
    # One sharpened try plus at most 10 kernels for each of at most 2 regions.
    assert 1 <= len(calls) <= 2 * 11


def test_recover_stops_at_its_time_budget() -> None:
    image = _blurred_code(path_kernel(line_path(30, 45)))
    now = [0.0]
    calls = 0

    def clock() -> float:
        return now[0]

    def slow(region: np.ndarray) -> str | None:
        nonlocal calls
        calls += 1
        now[0] += 0.05  # each decode "takes" 50 ms
        return None

    assert recover(image, slow, budget_ms=120, clock=clock) is None
    assert calls <= 4  # sharpen + kernels until 120 ms have passed


def test_recover_reports_the_kernel_and_region_that_worked() -> None:
    image = _blurred_code(path_kernel(line_path(12, 100)))
    zxing = ZxingDecoder()

    def decode(region: np.ndarray) -> str | None:
        found = zxing.decode(region)
        return found[0].text if found else None

    assert decode(image) is None
    result = recover(image, decode)
    assert result is not None and result.symbol == URL
    assert result.kernel.kind in {"motion", "tremor"}
    assert isinstance(result.kernel, Kernel) and result.tried >= 2


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(arrays(np.uint8, st.tuples(st.integers(1, 200), st.integers(1, 200))))
def test_hostile_images_never_crash_the_recovery(image: np.ndarray) -> None:
    assert recover(image, lambda region: None, max_candidates=3) is None
    est = estimate_blur(image) if min(image.shape) >= 8 else None
    if est is not None:
        assert 0 <= est.angle <= 180 and 0 <= est.anisotropy <= 1 + 1e-6
