"""Real device event sources for the touchscreen (`kiosk.ui.devices.DeviceSource`),
card presence from PC/SC (drivers.pcsc.CardMonitor) and QR codes from the
camera (kiosk.services.qr_scanner). Each runs its own thread and emits
journey events; the UI marshals them onto its thread."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from kiosk.journey import events as ev
from kiosk.ui.devices import DeviceStatus

log = logging.getLogger(__name__)
Emit = Callable[[ev.Event], None]


class PcscCardSource:
    name = "reader (PC/SC)"

    def __init__(self) -> None:
        self._monitor: Any = None
        self._readers: list[str] = []
        self._card = False
        self._error = ""

    def start(self, emit: Emit) -> None:
        from drivers.pcsc import CardMonitor

        def insert(_info: Any) -> None:
            self._card = True
            emit(ev.CardPlaced())

        def remove(_reader: str) -> None:
            self._card = False
            emit(ev.CardRemoved())

        def readers(names: list[str]) -> None:
            if self._readers and not names:
                emit(ev.ReaderUnplugged())
            self._readers = list(names)

        try:
            self._monitor = CardMonitor(insert, remove, readers).start()
        except Exception as exc:  # no pcscd: the kiosk still works with QR codes
            self._error = str(exc)[:80]
            log.warning("card monitor not started: %s", self._error)

    def stop(self) -> None:
        if self._monitor is not None:
            self._monitor.stop()

    def status(self) -> DeviceStatus:
        if self._error:
            return DeviceStatus(self.name, False, self._error)
        if not self._readers:
            return DeviceStatus(self.name, False, "no reader")
        card = "card present" if self._card else "no card"
        return DeviceStatus(self.name, True, f"{', '.join(self._readers)}; {card}")


class CameraQrSource:
    name = "camera (QR)"

    def __init__(self, spec: str, width: int, height: int, fps: int) -> None:
        self.spec, self.width, self.height, self.fps = spec, width, height, fps
        self._scanner: Any = None
        self._camera: Any = None
        self._error = ""

    def start(self, emit: Emit) -> None:
        from drivers.camera import Camera
        from kiosk.services.qr_scanner import QrScanner, camera_source

        try:
            self._camera = Camera(camera_source(self.spec, self.width, self.height, self.fps))
            self._scanner = QrScanner(emit, self._camera)
            self._scanner.start()
        except Exception as exc:  # no camera: the kiosk still works with the keypad
            self._error = str(exc)[:80]
            log.warning("camera not started: %s", self._error)

    def stop(self) -> None:
        if self._scanner is not None:
            self._scanner.stop()

    def status(self) -> DeviceStatus:
        if self._error or self._camera is None:
            return DeviceStatus(self.name, False, self._error or "not started")
        return DeviceStatus(self.name, self._camera.latest() is not None, self.spec)

    def preview(self) -> tuple[int, int, bytes] | None:
        if self._camera is None:
            return None
        bgr = self._camera.preview()
        if bgr is None:
            return None
        rgb = bgr[:, :, ::-1].copy()
        return rgb.shape[1], rgb.shape[0], rgb.tobytes()
