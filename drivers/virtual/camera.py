"""A virtual camera: a lobby scene in which a QR code appears on demand.

It is a `FrameSource` (see drivers.camera), so the real capture thread, the
decoder and the UI preview all run unchanged in the demo and in tests. The
demo calls `show(payload)` when a scripted patient holds up a card and
`hide()` when they lower it; `unplug()` / `replug()` simulate a USB camera
being pulled out.
"""

from __future__ import annotations

import threading
import time

import numpy as np

from drivers.camera import CameraError
from drivers.virtual.qrscene import FRAME_SIZE, render_background, render_scene


class VirtualCameraSource:
    name = "virtual"

    def __init__(self, fps: float = 15.0, size: tuple[int, int] = FRAME_SIZE,
                 seed: int = 0) -> None:
        self.interval = 1.0 / fps
        self.size = size
        self.seed = seed
        self._lock = threading.Lock()
        self._idle = self._render_idle()
        self._frame = self._idle
        self._plugged = True
        self._open = False
        self._next = 0.0

    def _render_idle(self) -> np.ndarray:
        scene = render_background(self.seed, self.size)
        scene.setflags(write=False)
        return scene

    # --- controls (any thread) ------------------------------------------------
    def show(
        self, payload: str | bytes, distortion: str = "clean", seed: int | None = None
    ) -> None:
        frame = render_scene(payload, distortion, self.seed if seed is None else seed, self.size)
        frame.setflags(write=False)
        with self._lock:
            self._frame = frame

    def hide(self) -> None:
        with self._lock:
            self._frame = self._idle

    def unplug(self) -> None:
        with self._lock:
            self._plugged = False

    def replug(self) -> None:
        with self._lock:
            self._plugged = True

    # --- FrameSource ------------------------------------------------------------
    def open(self) -> None:
        with self._lock:
            if not self._plugged:
                raise CameraError("virtual camera is unplugged")
            self._open = True
        self._next = time.monotonic()

    def read(self) -> np.ndarray | None:
        delay = self._next - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        self._next = max(self._next + self.interval, time.monotonic() - self.interval)
        with self._lock:
            if not self._plugged or not self._open:
                return None
            return self._frame

    def close(self) -> None:
        with self._lock:
            self._open = False
