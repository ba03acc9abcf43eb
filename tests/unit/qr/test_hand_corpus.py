"""Issue 19: a moving hand. The pipeline reads motion / defocus / shake frames the
decoders alone do not, keeps the other hand-held degradations, never returns a
wrong payload; the live reader spends its recovery on the sharpest missed frame
at a bounded rate, and frames with no code never pay for it."""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np
import pytest

import drivers.qr as qr
from drivers.qr import QrReader, ZxingDecoder, to_gray
from drivers.virtual.qrcorpus import PAYLOADS, Sample, samples
from drivers.virtual.qrscene import (
    ALL_DISTORTIONS,
    BLUR_DISTORTIONS,
    DISTORTIONS,
    HAND_DISTORTIONS,
    render_background,
    render_scene,
)
from kiosk.domain.qr_payload import parse_qr

KINDS = {"cccd_2021": "cccd", "can_cuoc_2024": "cccd", "vneid_wallet": "cccd",
         "bhyt_card": "bhyt", "vssid_bhxh10": "bhyt", "vneid_token": "unknown",
         "url": "unknown", "payment": "unknown"}


@pytest.fixture(scope="module")
def hand_frames() -> list[tuple[Sample, np.ndarray]]:
    """8 payload kinds × 6 hand-held degradations × 1 seed = 48 frames."""
    return [(s, s.render()) for s in samples(1, distortions=HAND_DISTORTIONS)]


def test_hand_corpus_is_deterministic_and_per_payload() -> None:
    a = Sample("url", "motion", 0, PAYLOADS["url"])
    assert (a.render() == a.render()).all()
    # Each payload kind has its own blur and placement for the same seed.
    b = render_scene(PAYLOADS["payment"], "motion", 0)
    assert not np.array_equal(to_gray(a.render()) > 128, to_gray(b) > 128)
    assert set(ALL_DISTORTIONS) == set(DISTORTIONS) | set(HAND_DISTORTIONS)
    with pytest.raises(ValueError):
        render_scene("x", "earthquake")


def test_pipeline_reads_blurred_frames_the_decoders_alone_miss(
        hand_frames: list[tuple[Sample, np.ndarray]]) -> None:
    blur = [(s, f) for s, f in hand_frames if s.distortion in BLUR_DISTORTIONS]
    zxing = ZxingDecoder()
    before = QrReader(recovery=False, zbar_fallback=False)
    after = QrReader(zbar_fallback=False)
    alone = base = read = wrong = 0
    for sample, frame in blur:
        alone += any(s.text == sample.payload for s in zxing.decode(to_gray(frame)))
        base += _text(before, frame) == sample.payload
        text = _text(after, frame)
        read += text == sample.payload
        wrong += text is not None and text != sample.payload
        if text is not None:
            assert parse_qr(text).to_json()["kind"] == KINDS[sample.name], sample.id
    assert wrong == 0
    assert read >= len(blur) - 1, f"{read}/{len(blur)}"  # 97 % target on the benchmark
    assert base <= len(blur) // 2 and alone <= base  # the recovery does the work


def test_other_hand_degradations_keep_their_rate(
        hand_frames: list[tuple[Sample, np.ndarray]]) -> None:
    rest = [(s, f) for s, f in hand_frames if s.distortion not in BLUR_DISTORTIONS]
    before = QrReader(recovery=False, region_gate=False)
    after = QrReader()
    for sample, frame in rest:
        expected = _text(before, frame) == sample.payload
        assert (_text(after, frame) == sample.payload) >= expected, sample.id


def _text(reader: QrReader, frame: np.ndarray) -> str | None:
    reader.reset()
    result = reader.read(frame)
    return result.symbol.text if result.symbol else None


class FakeClock:
    def __init__(self) -> None:
        self.now = 50.0

    def __call__(self) -> float:
        return self.now


def _motion_frame() -> np.ndarray:
    """A motion-blurred frame the cheap passes miss (checked, not assumed)."""
    frame = render_scene(PAYLOADS["cccd_2021"], "motion", 0)
    assert QrReader(recovery=False).read(frame).symbol is None
    return frame


def _spy(monkeypatch: pytest.MonkeyPatch) -> list[np.ndarray]:
    seen: list[np.ndarray] = []
    real: Callable[..., object] = qr.recover

    def spy(gray: np.ndarray, *args: object, **kwargs: object) -> object:
        seen.append(gray)
        return real(gray, *args, **kwargs)

    monkeypatch.setattr(qr, "recover", spy)
    return seen


def test_live_recovery_is_rate_limited(monkeypatch: pytest.MonkeyPatch) -> None:
    seen = _spy(monkeypatch)
    clock = FakeClock()
    reader = QrReader(recovery_interval_s=0.5, clock=clock, roi=False, zbar_fallback=False,
                      recovery_duty=None)
    frame = _motion_frame()
    first = reader.read(frame)
    assert first.stage == "deblur" and first.symbol is not None
    assert first.symbol.recovered and first.symbol.text == PAYLOADS["cccd_2021"]
    for _ in range(6):  # 15 fps for 0.4 s: no second recovery yet
        clock.now += 1 / 15
        assert reader.read(frame).stage == ""
    clock.now += 0.2
    assert reader.read(frame).stage == "deblur"
    assert len(seen) == 2


def test_live_recovery_runs_on_the_sharpest_missed_frame(monkeypatch: pytest.MonkeyPatch) -> None:
    seen = _spy(monkeypatch)
    clock = FakeClock()
    reader = QrReader(recovery_interval_s=0.5, clock=clock, roi=False, zbar_fallback=False,
                      recovery_duty=None)
    frame = _motion_frame()
    reader.read(frame)  # the first miss recovers at once (nothing to compare with)
    # The same view, more blurred, then as it was, then blurred again.
    variants = [cv2.blur(frame, (7, 7)), cv2.blur(frame, (11, 11)), frame, cv2.blur(frame, (5, 5))]
    for v in variants:
        clock.now += 0.1
        reader.read(v)
    clock.now += 0.2
    result = reader.read(cv2.blur(frame, (9, 9)))
    assert result.stage == "deblur"
    assert len(seen) == 2 and np.array_equal(seen[1], to_gray(frame))


def _poster() -> np.ndarray:
    """A code-like texture with no code: the region finder sees it, nothing decodes it."""
    poster = render_background(1)
    rng = np.random.default_rng(7)
    texture = np.kron(rng.integers(0, 2, (50, 50)) * 200 + 25, np.ones((5, 5)))
    poster[200:450, 500:750] = texture.astype(np.uint8)[:, :, None]
    return poster


def _watch(reader: QrReader, clock: FakeClock, frame: np.ndarray, frames: int) -> None:
    """The camera shows `frame` for `frames` frames at 15 fps."""
    for _ in range(frames):
        clock.now += 1 / 15
        reader.read(frame)


def test_fruitless_recoveries_back_off_to_their_duty_cycle(
        monkeypatch: pytest.MonkeyPatch) -> None:
    seen = _spy(monkeypatch)
    clock = FakeClock()
    spent = iter([0.0, 0.3, 10.0, 10.01])  # the first run "costs" 300 ms, the second 10 ms
    reader = QrReader(recovery_interval_s=0.5, clock=clock, roi=False, zbar_fallback=False,
                      recovery_duty=0.1, timer=lambda: next(spent),
                      retry_sharper=0.0)  # this test is about the duty cycle alone
    poster = _poster()
    assert reader.read(poster).symbol is None and len(seen) == 1
    _watch(reader, clock, poster, 40)  # 300 ms at a 10 % duty: the next run waits 3 s, not 0.5 s
    assert len(seen) == 1
    clock.now += 0.5
    reader.read(poster)
    assert len(seen) == 2


def test_a_fruitless_place_is_retried_only_when_sharper_or_forgotten(
        monkeypatch: pytest.MonkeyPatch) -> None:
    seen = _spy(monkeypatch)
    clock = FakeClock()
    reader = QrReader(recovery_interval_s=0.5, clock=clock, roi=False, zbar_fallback=False,
                      recovery_duty=None, forget_s=10.0)
    poster = _poster()
    soft = cv2.GaussianBlur(poster, (0, 0), 1.5)
    reader.read(soft)
    assert len(seen) == 1
    _watch(reader, clock, soft, 30)  # 2 s of the same view: nothing new to try
    assert len(seen) == 1
    clock.now += 1 / 15
    reader.read(poster)  # the same place, clearly sharper: worth a second run
    assert len(seen) == 2
    _watch(reader, clock, poster, 30)
    assert len(seen) == 2
    clock.now += 10.5  # long enough: the place is tried again
    reader.read(poster)
    assert len(seen) == 3


def test_frames_without_a_code_never_pay_for_zbar_or_recovery(
        monkeypatch: pytest.MonkeyPatch) -> None:
    seen = _spy(monkeypatch)
    clock = FakeClock()
    reader = QrReader(recovery_interval_s=0.5, clock=clock)
    for i in range(30):
        clock.now += 1 / 15
        assert reader.read(render_background(i % 4)).symbol is None
    assert seen == [] and reader._zbar is None  # zbar never even created
