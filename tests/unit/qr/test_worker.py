"""Decoder worker and repeat suppression, without a camera."""

from __future__ import annotations

import time

import numpy as np

from drivers.qr import DecodeResult, QrReader, QrSymbol, QrWorker, RepeatFilter
from drivers.virtual.qrcorpus import PAYLOADS
from drivers.virtual.qrscene import render_scene
from tests.polling import wait_until


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_repeat_filter_reports_once_while_in_view() -> None:
    clock = FakeClock()
    repeat = RepeatFilter(3.0, clock)
    assert repeat.accept("A")
    for _ in range(10):  # held in front of the camera for 10 s
        clock.now += 1.0
        assert not repeat.accept("A")
    assert repeat.accept("B")  # a different code is news at once
    clock.now += 3.5  # out of sight for longer than the window
    assert repeat.accept("A")
    repeat.forget()  # next patient
    assert repeat.accept("A")


def test_worker_drops_frames_when_not_running_or_paused() -> None:
    worker = QrWorker(lambda s: None)
    frame = np.zeros((10, 10), np.uint8)
    assert not worker.submit(frame)
    worker.start()
    try:
        worker.pause()
        assert not worker.submit(frame)
        worker.resume()
        assert worker.submit(frame)
    finally:
        worker.stop()


def test_worker_reports_codes_once_and_survives_subscriber_errors() -> None:
    frame = render_scene(PAYLOADS["url"], "clean", 2)
    calls: list[str] = []

    def flaky(symbol: QrSymbol) -> None:
        calls.append(symbol.text)
        if len(calls) == 1:
            raise RuntimeError("UI bug")

    worker = QrWorker(flaky, repeat=RepeatFilter(0.0))
    worker.start()
    try:
        worker.submit(frame)
        assert wait_until(lambda: len(calls) == 1)
        time.sleep(0.01)
        worker.submit(frame)
        assert wait_until(lambda: len(calls) == 2)
    finally:
        worker.stop()
    assert calls == [PAYLOADS["url"]] * 2
    assert worker.stats.errors == 1


class BrokenReader(QrReader):
    def read(self, frame: np.ndarray) -> DecodeResult:
        raise ValueError("decoder bug")


def test_worker_survives_decoder_errors() -> None:
    worker = QrWorker(lambda s: None, reader=BrokenReader())
    worker.start()
    try:
        worker.submit(np.zeros((4, 4, 3), np.uint8))
        assert wait_until(lambda: worker.stats.errors == 1)
        worker.submit(np.zeros((4, 4, 3), np.uint8))
        assert wait_until(lambda: worker.stats.errors == 2)
    finally:
        worker.stop()


class NoZxing:
    name = "zxing-cpp"

    def decode(self, gray: np.ndarray) -> list[QrSymbol]:
        return []


def test_zbar_fallback_runs_when_zxing_fails_but_is_rate_limited() -> None:
    clock = FakeClock()
    # Recovery off: its global-binariser zxing would read this clean frame itself.
    reader = QrReader(roi=False, clock=clock, zbar_interval_s=0.25, recovery=False)
    reader._zxing = NoZxing()  # type: ignore[assignment]  # make every zxing pass miss
    frame = render_scene(PAYLOADS["bhyt_card"], "clean", 4)
    first = reader.read(frame)
    assert first.stage == "zbar" and first.symbol is not None
    assert first.symbol.text == PAYLOADS["bhyt_card"]  # binary mode: hex fields intact
    clock.now += 0.1
    assert reader.read(frame).stage == ""  # empty frames must not pay for zbar every time
    clock.now += 0.2
    assert reader.read(frame).stage == "zbar"
