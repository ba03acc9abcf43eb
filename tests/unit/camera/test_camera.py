"""The capture thread: file sources, unplug and recovery, latest-frame-wins."""

from __future__ import annotations

import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from drivers.camera import (
    Camera,
    CameraError,
    ImageSource,
    V4l2Source,
    VideoFileSource,
    open_source,
)
from drivers.qr import DecodeResult, QrReader, QrSymbol, QrWorker, RepeatFilter
from drivers.virtual.camera import VirtualCameraSource
from drivers.virtual.qrcorpus import PAYLOADS
from drivers.virtual.qrscene import render_background, render_scene
from tests.polling import wait_until

CCCD = PAYLOADS["cccd_2021"]


@pytest.fixture(scope="module")
def video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """45 MJPEG frames at 30 fps, 640×360: 15 empty, 15 with a CCCD QR, 15 empty."""
    path = tmp_path_factory.mktemp("video") / "lobby.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), 30.0, (640, 360))
    assert writer.isOpened()
    empty = render_background(5, (640, 360))
    shown = render_scene(CCCD, "clean", 5, (640, 360))
    for i in range(45):
        writer.write(shown if 15 <= i < 30 else empty)
    writer.release()
    return path


def test_video_file_source_delivers_frames_in_order_and_loops(video: Path) -> None:
    source = VideoFileSource(video, realtime=False)
    with Camera(source) as camera:
        seen = []
        last = 0
        while len(seen) < 60:  # more than the file holds: it loops
            frame = camera.wait_frame(last, timeout=5)
            assert frame is not None
            seen.append(frame.seq)
            last = frame.seq
            assert frame.image.shape == (360, 640, 3)
    assert seen == sorted(seen)
    assert camera.state == "stopped"


def test_video_file_with_code_decodes_through_worker(video: Path) -> None:
    found: list[QrSymbol] = []
    worker = QrWorker(found.append)
    camera = Camera(VideoFileSource(video))  # real time, 30 fps
    camera.subscribe(lambda f: worker.submit(f.image, f.captured_at))
    worker.start()
    camera.start()
    try:
        # Until the worker decoded the code twice (the file loops): a count of events,
        # not of frames per second, so a loaded machine only makes it take longer.
        assert wait_until(lambda: worker.stats.found >= 2, timeout=30)
    finally:
        camera.stop()
        worker.stop()
    assert found[0].text == CCCD
    assert len(found) == 1  # the same card in view is reported once


def test_image_source_and_preview(tmp_path: Path) -> None:
    path = tmp_path / "card.png"
    cv2.imwrite(str(path), render_scene(CCCD, "clean", 1))
    source = open_source(str(path))
    assert isinstance(source, ImageSource)
    with Camera(source) as camera:
        assert camera.wait_frame(0, timeout=5) is not None
        small = camera.preview(320)
        assert small is not None and small.shape == (180, 320, 3)
        assert camera.preview(320) is small  # cached for the same frame


def test_open_source_parses_config_strings(tmp_path: Path) -> None:
    assert isinstance(open_source("0"), V4l2Source)
    assert isinstance(open_source("/dev/video2"), V4l2Source)
    assert isinstance(open_source(str(tmp_path / "x.mp4")), VideoFileSource)


def test_unreadable_image_raises_camera_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.png"
    bad.write_text("not an image")
    with pytest.raises(CameraError):
        ImageSource([bad]).open()


def test_absent_device_keeps_retrying_without_crashing() -> None:
    states: list[str] = []
    camera = Camera(V4l2Source("/dev/video-not-here"), reconnect_delay_s=0.01,
                    max_reconnect_delay_s=0.05, on_state=states.append)
    camera.start()
    assert wait_until(lambda: camera.stats.open_failures >= 3)
    assert camera.latest() is None and camera.state == "connecting"
    started = time.monotonic()
    camera.stop()
    assert time.monotonic() - started < 2  # the back-off sleep is interruptible
    assert states[0] == "connecting" and states[-1] == "stopped"


def test_unplug_and_recovery() -> None:
    source = VirtualCameraSource(fps=60)
    states: list[str] = []
    camera = Camera(source, reconnect_delay_s=0.02, max_reconnect_delay_s=0.1,
                    on_state=states.append)
    camera.start()
    try:
        first = camera.wait_frame(0, timeout=5)
        assert first is not None
        source.unplug()
        assert wait_until(lambda: camera.state == "disconnected")
        stalled = camera.latest()
        assert stalled is not None
        time.sleep(0.2)
        assert camera.latest() == stalled  # no frames while unplugged
        assert camera.stats.open_failures >= 1  # it kept trying
        source.replug()
        source.show(CCCD)
        after = camera.wait_frame(stalled.seq, timeout=5)
        assert after is not None and after.seq > stalled.seq
        assert camera.state == "connected"
        assert camera.stats.reconnects == 1
    finally:
        camera.stop()
    assert states[:4] == ["connecting", "connected", "disconnected", "connected"]


class SlowReader(QrReader):
    """A decoder much slower than the camera (a busy CPU, a huge frame)."""

    def read(self, frame: np.ndarray) -> DecodeResult:
        time.sleep(0.08)
        return super().read(frame)


def test_no_backlog_when_decoding_is_slower_than_the_camera() -> None:
    source = VirtualCameraSource(fps=60)
    source.show(CCCD)
    ages: list[float] = []

    def on_result(result: DecodeResult, age_ms: float) -> None:
        ages.append(age_ms)

    worker = QrWorker(lambda s: None, reader=SlowReader(), repeat=RepeatFilter(0),
                      on_result=on_result)
    camera = Camera(source)
    camera.subscribe(lambda f: worker.submit(f.image, f.captured_at))
    worker.start()
    camera.start()
    try:
        assert wait_until(lambda: len(ages) >= 20, timeout=10)
    finally:
        camera.stop()
        worker.stop()
    stats = worker.stats
    # The camera produced several frames per decode; the surplus was dropped, not queued.
    assert stats.skipped > stats.decoded
    # At most one frame waits: the structural reason frame ages cannot grow (with a FIFO
    # they would, by ~65 ms per decode). Ages themselves are wall-clock times, which a
    # loaded machine stretches: benchmarks measure them, tests do not.
    assert stats.submitted - stats.skipped - stats.decoded <= 1
    assert len(ages) >= 20


def test_camera_survives_a_crashing_subscriber() -> None:
    source = VirtualCameraSource(fps=60)
    camera = Camera(source)

    def boom(frame) -> None:  # type: ignore[no-untyped-def]
        raise RuntimeError("subscriber bug")

    camera.subscribe(boom)
    with camera:
        assert camera.wait_frame(0, timeout=5) is not None
        assert wait_until(lambda: camera.stats.frames >= 5)
