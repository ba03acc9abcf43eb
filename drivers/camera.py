"""Camera capture on its own thread: the newest frame wins, unplugging is survived.

* `Camera` runs one capture thread over a `FrameSource` and keeps only the
  latest frame (consumers that are slow simply skip frames, nothing queues).
  When the source fails (USB camera unplugged, driver hiccup) it is closed
  and reopened with a bounded back-off until it comes back.
* Sources: a V4L2 device through OpenCV, a video file or a list of images
  (demo, tests, `kiosk camera test --file`), or anything with the same
  three methods (the virtual camera in `drivers.virtual.camera`).
* `preview()` gives the UI a small copy of the newest frame, computed once
  per frame however often the UI asks.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

import cv2
import numpy as np

log = logging.getLogger(__name__)
# OpenCV warns on stderr at every failed open: while a camera is unplugged, two lines
# per reconnect attempt in the journal, and in the middle of `--json` output (seen in
# the package-root acceptance test). CameraError says it once, in words.
cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff", ".pgm"})
State = Literal["stopped", "connecting", "connected", "disconnected"]


class CameraError(Exception):
    """The source cannot be opened (absent device, unreadable file)."""


@dataclass(frozen=True)
class Frame:
    seq: int  # increases by one per captured frame, across reconnects
    captured_at: float  # time.monotonic() when the frame arrived
    image: np.ndarray  # BGR, owned by the frame: consumers must not write to it


class FrameSource(Protocol):
    name: str

    def open(self) -> None:
        """Acquire the device; raise `CameraError` when it is not there."""

    def read(self) -> np.ndarray | None:
        """Block until the next frame (paced at the source's rate); None when the
        source is lost (unplugged, file gone)."""

    def close(self) -> None: ...


def _sleep_until(deadline: float) -> None:
    delay = deadline - time.monotonic()
    if delay > 0:
        time.sleep(delay)


class _Controls(Protocol):
    """The part of cv2.VideoCapture that camera controls need (fakes in tests)."""

    def get(self, prop: int) -> float: ...

    def set(self, prop: int, value: float) -> bool: ...


# V4L2's exposure_auto menu as OpenCV's V4L2 backend passes it through unchanged:
# 1 = manual, 3 = aperture priority (what UVC cameras call "auto").
_V4L2_EXPOSURE_MANUAL = 1
_V4L2_EXPOSURE_AUTO = 3


def request_exposure(cap: _Controls, exposure_ms: float) -> bool:
    """Ask for a fixed, short exposure (V4L2 exposure_time_absolute, 100 µs units).

    A lobby's indoor light drives auto exposure to 30 ms and more: a shaking
    hand then smears a QR over many modules (issue 19). A camera that refuses
    manual exposure, or accepts the mode but not the value, is put back in its
    auto mode and keeps working: this is a wish, never a requirement. Returns
    True when the camera reports the requested exposure."""
    units = max(1, round(exposure_ms * 10))
    try:
        mode_before = cap.get(cv2.CAP_PROP_AUTO_EXPOSURE)
        if not cap.set(cv2.CAP_PROP_AUTO_EXPOSURE, _V4L2_EXPOSURE_MANUAL):
            log.info("camera refuses manual exposure; auto exposure kept")
            return False
        if cap.set(cv2.CAP_PROP_EXPOSURE, units) and \
                abs(cap.get(cv2.CAP_PROP_EXPOSURE) - units) <= max(1.0, units * 0.1):
            log.info("camera exposure set to %.1f ms", units / 10)
            return True
        # Manual mode with whatever exposure the camera kept would be worse than auto.
        log.info("camera refuses a %.1f ms exposure; auto exposure restored", units / 10)
        cap.set(cv2.CAP_PROP_AUTO_EXPOSURE,
                mode_before if mode_before > 0 else _V4L2_EXPOSURE_AUTO)
        return False
    except cv2.error:
        log.info("camera exposure controls unavailable", exc_info=True)
        return False


class V4l2Source:
    """A UVC camera through OpenCV's V4L2 backend.

    Prefer a stable path (/dev/v4l/by-id/…) in the configuration: after an
    unplug the kernel may give the camera a different /dev/videoN.
    `exposure_ms`: ask for that fixed exposure (see `request_exposure`); None
    leaves the camera's auto exposure alone.
    """

    def __init__(self, device: int | str, width: int = 1280, height: int = 720,
                 fps: int = 30, exposure_ms: float | None = None) -> None:
        self.device = device
        self.width, self.height, self.fps = width, height, fps
        self.exposure_ms = exposure_ms
        self.exposure_applied = False
        self.name = f"v4l2:{device}"
        self._cap: cv2.VideoCapture | None = None

    def open(self) -> None:
        if isinstance(self.device, str) and not os.path.exists(self.device):
            raise CameraError(f"{self.device} does not exist")
        # Bounded waits: an unplugged camera must not hang the thread for OpenCV's
        # default 10 s select() timeout before the reconnect logic sees the loss.
        params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, 3000, cv2.CAP_PROP_READ_TIMEOUT_MSEC, 2000]
        cap = cv2.VideoCapture(self.device, cv2.CAP_V4L2, params)
        if not cap.isOpened():
            cap.release()
            raise CameraError(f"cannot open camera {self.device}")
        # MJPEG: most UVC cameras only reach 720p30 compressed over USB 2.
        cap.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter.fourcc(*"MJPG"))
        cap.set(cv2.CAP_PROP_FRAME_WIDTH, self.width)
        cap.set(cv2.CAP_PROP_FRAME_HEIGHT, self.height)
        cap.set(cv2.CAP_PROP_FPS, self.fps)
        # The driver's own queue is a backlog too: keep one buffer.
        cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)
        if self.exposure_ms is not None:
            # Asked again after every reconnect: an unplugged camera forgets it.
            self.exposure_applied = request_exposure(cap, self.exposure_ms)
        self._cap = cap

    def read(self) -> np.ndarray | None:
        if self._cap is None:
            return None
        ok, image = self._cap.read()
        return image if ok else None

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None


class VideoFileSource:
    """Frames from a video file at its own frame rate (or `fps`), looping at the end."""

    def __init__(self, path: str | os.PathLike[str], fps: float | None = None,
                 loop: bool = True, realtime: bool = True) -> None:
        self.path = Path(path)
        self.name = f"file:{self.path.name}"
        self.loop, self.realtime = loop, realtime
        self._fps = fps
        self._cap: cv2.VideoCapture | None = None
        self._next = 0.0
        self.interval = 0.0

    def open(self) -> None:
        if not self.path.is_file():
            raise CameraError(f"{self.path} does not exist")
        cap = cv2.VideoCapture(str(self.path))
        if not cap.isOpened():
            cap.release()
            raise CameraError(f"cannot decode {self.path}")
        fps = self._fps or cap.get(cv2.CAP_PROP_FPS) or 30.0
        self.interval = 1.0 / fps
        self._cap = cap
        self._next = time.monotonic()

    def read(self) -> np.ndarray | None:
        if self._cap is None:
            return None
        ok, image = self._cap.read()
        if not ok and self.loop:
            self._cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
            ok, image = self._cap.read()
        if not ok:
            return None
        if self.realtime:
            _sleep_until(self._next)
            self._next = max(self._next + self.interval, time.monotonic() - self.interval)
        return image

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None


class ImageSource:
    """Still images (paths or arrays) shown in turn at `fps`, looping."""

    def __init__(self, images: Sequence[str | os.PathLike[str] | np.ndarray], fps: float = 10.0,
                 loop: bool = True) -> None:
        if not images:
            raise ValueError("ImageSource needs at least one image")
        self._items = list(images)
        self.name = "images"
        self.interval = 1.0 / fps
        self.loop = loop
        self._frames: list[np.ndarray] = []
        self._index = 0
        self._next = 0.0

    def open(self) -> None:
        frames = []
        for item in self._items:
            if isinstance(item, np.ndarray):
                frames.append(item)
                continue
            try:
                image = cv2.imread(str(item), cv2.IMREAD_COLOR)
            except cv2.error:  # e.g. a header claiming more pixels than OpenCV allows
                image = None
            if image is None:
                raise CameraError(f"cannot read image {item}")
            frames.append(image)
        self._frames = frames
        self._index = 0
        self._next = time.monotonic()

    def read(self) -> np.ndarray | None:
        if not self._frames:
            return None
        if self._index >= len(self._frames):
            if not self.loop:
                return None
            self._index = 0
        image = self._frames[self._index]
        self._index += 1
        _sleep_until(self._next)
        self._next = max(self._next + self.interval, time.monotonic() - self.interval)
        return image

    def close(self) -> None:
        self._frames = []


def open_source(spec: str, width: int = 1280, height: int = 720, fps: int = 30,
                exposure_ms: float | None = None) -> FrameSource:
    """A source from the config's `devices.camera` string: a V4L2 index ("0"), a
    device path ("/dev/video2", "/dev/v4l/by-id/…"), an image or a video file.
    ("virtual" is the kiosk's business: see drivers.virtual.camera.)
    `exposure_ms` applies to V4L2 cameras only."""
    spec = spec.strip()
    if spec.isascii() and spec.isdigit():  # "²".isdigit() is True, int("²") fails
        return V4l2Source(int(spec), width, height, fps, exposure_ms)
    if spec.startswith("/dev/"):
        return V4l2Source(spec, width, height, fps, exposure_ms)
    if Path(spec).suffix.lower() in IMAGE_SUFFIXES:
        return ImageSource([spec], fps=min(fps, 10))
    return VideoFileSource(spec)


@dataclass
class CameraStats:
    frames: int = 0
    reconnects: int = 0  # successful re-opens after a loss
    open_failures: int = 0
    started_at: float = 0.0


class Camera:
    """Capture thread over a `FrameSource`, keeping only the newest frame."""

    def __init__(
        self,
        source: FrameSource,
        *,
        reconnect_delay_s: float = 0.25,
        max_reconnect_delay_s: float = 3.0,
        failures_before_reconnect: int = 3,
        on_state: Callable[[State], None] | None = None,
    ) -> None:
        self.source = source
        self.reconnect_delay_s = reconnect_delay_s
        self.max_reconnect_delay_s = max_reconnect_delay_s
        self.failures_before_reconnect = failures_before_reconnect
        self._on_state = on_state
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._latest: Frame | None = None
        self._seq = 0
        self._subscribers: list[Callable[[Frame], object]] = []
        self._thread: threading.Thread | None = None
        self._state: State = "stopped"
        self._preview: tuple[int, int, np.ndarray] | None = None  # (seq, width, image)
        self.stats = CameraStats()

    # --- lifecycle ---------------------------------------------------------------
    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self.stats.started_at = time.monotonic()
        self._thread = threading.Thread(target=self._run, name="camera", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 3.0) -> None:
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        self._set_state("stopped")

    def __enter__(self) -> Camera:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def state(self) -> State:
        return self._state

    # --- consumers -------------------------------------------------------------
    def subscribe(self, callback: Callable[[Frame], object]) -> None:
        """`callback(frame)` runs on the capture thread for every frame: keep it cheap
        (hand the frame to a worker, e.g. `QrWorker.submit`)."""
        self._subscribers.append(callback)

    def latest(self) -> Frame | None:
        return self._latest

    def wait_frame(self, after_seq: int = 0, timeout: float = 1.0) -> Frame | None:
        """The newest frame with seq > `after_seq`, waiting up to `timeout` for one."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._latest is None or self._latest.seq <= after_seq:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._stop.is_set():
                    return None
                self._cond.wait(remaining)
            return self._latest

    def preview(self, max_width: int = 320) -> np.ndarray | None:
        """A small BGR copy of the newest frame for the UI (INTER_AREA, cached per frame)."""
        frame = self._latest
        if frame is None:
            return None
        cached = self._preview
        if cached is not None and cached[0] == frame.seq and cached[1] == max_width:
            return cached[2]
        h, w = frame.image.shape[:2]
        if w <= max_width:
            small = frame.image
        else:
            size = (max_width, max(1, round(h * max_width / w)))
            small = cv2.resize(frame.image, size, interpolation=cv2.INTER_AREA)
        self._preview = (frame.seq, max_width, small)
        return small

    def fps(self) -> float:
        elapsed = time.monotonic() - self.stats.started_at
        return self.stats.frames / elapsed if elapsed > 0 else 0.0

    # --- the capture thread -------------------------------------------------------
    def _set_state(self, state: State) -> None:
        if state == self._state:
            return
        self._state = state
        log.info("camera %s: %s", self.source.name, state)
        if self._on_state is not None:
            try:
                self._on_state(state)
            except Exception:
                log.exception("camera state subscriber failed")

    def _run(self) -> None:
        delay = self.reconnect_delay_s
        ever_opened = False
        while not self._stop.is_set():
            self._set_state("connecting" if not ever_opened else "disconnected")
            try:
                self.source.open()
            except CameraError as exc:
                self.stats.open_failures += 1
                log.debug("camera open failed: %s", exc)
                self._stop.wait(delay)
                delay = min(delay * 2, self.max_reconnect_delay_s)
                continue
            except Exception:  # OpenCV raises cv2.error for odd devices
                self.stats.open_failures += 1
                log.exception("camera open crashed")
                self._stop.wait(delay)
                delay = min(delay * 2, self.max_reconnect_delay_s)
                continue
            if ever_opened:
                self.stats.reconnects += 1
            ever_opened = True
            delay = self.reconnect_delay_s
            self._set_state("connected")
            try:
                self._capture()
            finally:
                try:
                    self.source.close()
                except Exception:
                    log.exception("camera close failed")
        self._set_state("stopped")

    def _capture(self) -> None:
        failures = 0
        while not self._stop.is_set():
            try:
                image = self.source.read()
            except Exception:
                log.exception("camera read crashed")
                image = None
            if image is None:
                failures += 1
                if failures >= self.failures_before_reconnect:
                    return  # lost: close and reopen
                self._stop.wait(0.02)
                continue
            failures = 0
            self._publish(image)

    def _publish(self, image: np.ndarray) -> None:
        with self._cond:
            self._seq += 1
            frame = Frame(self._seq, time.monotonic(), image)
            self._latest = frame
            self.stats.frames += 1
            self._cond.notify_all()
        for callback in list(self._subscribers):
            try:
                callback(frame)
            except Exception:
                log.exception("camera subscriber failed")
