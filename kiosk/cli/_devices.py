"""Real device event sources for the touchscreen (`kiosk.ui.devices.DeviceSource`),
card presence from PC/SC (drivers.pcsc.CardMonitor) or an nfcpy poll, and QR
codes from the camera (kiosk.services.qr_scanner). Each runs its own thread and
emits journey events; the UI marshals them onto its thread. `device_sources`
picks them from the configuration, on the reader `wiring.build` chose."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from drivers.emrtd.errors import NoReaderError
from kiosk.journey import events as ev
from kiosk.services.card_reader import NfcReader, ReaderChoice
from kiosk.services.wiring import Assembly
from kiosk.ui.devices import DeviceSource, DeviceStatus, SimulatedReaderDevice

log = logging.getLogger(__name__)
Emit = Callable[[ev.Event], None]


def device_sources(assembly: Assembly) -> list[DeviceSource]:
    """The card-presence source for the configured reader, and the camera."""
    dev = assembly.config.devices
    choice = assembly.reader
    card: DeviceSource
    if choice.kind == "nfc":
        card = NfcCardSource(assembly.handles["reader"])
    elif choice.kind == "virtual":
        card = SimulatedReaderDevice()
    else:
        card = PcscCardSource(choice)
    return [card, CameraQrSource(dev.camera, dev.camera_width, dev.camera_height,
                                 dev.camera_fps, slip_qr(assembly.config))]


def slip_qr(config: Any) -> Any:
    """The hospital's appointment-slip QR format, when it configured one."""
    from kiosk.domain.appointment import SlipQr

    a = config.appointments
    slip = SlipQr(a.slip_qr_prefix, a.slip_qr_pattern)
    return slip if a.enabled and slip.configured else None


class PcscCardSource:
    name = "reader (PC/SC)"

    def __init__(self, choice: ReaderChoice | None = None) -> None:
        self._wanted = choice.target if choice is not None else None
        self._monitor: Any = None
        self._readers: list[str] = []
        self._card = False
        self._error = ""

    def start(self, emit: Emit) -> None:
        from drivers.pcsc import CardMonitor

        def insert(info: Any) -> None:
            if self._ours(info.name):
                self._card = True
                emit(ev.CardPlaced())

        def remove(reader: str) -> None:
            if self._ours(reader):
                self._card = False
                emit(ev.CardRemoved())

        def readers(names: list[str]) -> None:
            ours = [n for n in names if self._ours(n)]
            if self._readers and not ours:
                emit(ev.ReaderUnplugged())
            self._readers = ours

        try:
            self._monitor = CardMonitor(insert, remove, readers).start()
        except Exception as exc:  # no pcscd: the kiosk still works with QR codes
            self._error = str(exc)[:80]
            log.warning("card monitor not started: %s", self._error)

    def _ours(self, reader: str) -> bool:
        """Only the configured reader counts (a second reader, e.g. a staff desk's
        contact reader, must not start sessions)."""
        return self._wanted is None or reader.startswith(self._wanted)

    def stop(self) -> None:
        if self._monitor is not None:
            self._monitor.stop()

    def status(self) -> DeviceStatus:
        if self._error:
            return DeviceStatus(self.name, False, self._error, "device.reader",
                                "device.no_service")
        if not self._readers:
            return DeviceStatus(self.name, False, "PC/SC", "device.reader", "device.unplugged")
        state = "device.card_present" if self._card else "device.no_card"
        return DeviceStatus(self.name, True, ", ".join(self._readers), "device.reader", state)


class NfcCardSource:
    """Card presence on an nfcpy reader: nfcpy has no event API, so a thread polls
    (sharing the reader with chip reads through `NfcReader`'s lock)."""

    name = "reader (nfcpy)"

    def __init__(self, reader: NfcReader, interval_s: float = 0.5) -> None:
        self.reader = reader
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._card: bool | None = None
        self._plugged = True
        self._error = ""

    def start(self, emit: Emit) -> None:
        self._thread = threading.Thread(target=self._run, args=(emit,), name="nfc-presence",
                                        daemon=True)
        self._thread.start()

    def _run(self, emit: Emit) -> None:
        while not self._stop.is_set():
            try:
                present = self.reader.card_present()
                self._plugged, self._error = True, ""
            except NoReaderError as exc:
                if self._plugged:
                    log.warning("NFC reader gone: %s", str(exc)[:80])
                    emit(ev.ReaderUnplugged())
                self._plugged, self._card, self._error = False, None, str(exc)[:80]
                present = None
            if present is not None and present != self._card:
                self._card = present
                emit(ev.CardPlaced() if present else ev.CardRemoved())
            self._stop.wait(self.interval_s)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=3)

    def status(self) -> DeviceStatus:
        name = self.reader.choice.describe()
        if not self._plugged:
            return DeviceStatus(self.name, False, self._error or name, "device.reader",
                                "device.unplugged")
        state = "device.card_present" if self._card else "device.no_card"
        return DeviceStatus(self.name, True, name, "device.reader", state)


class CameraQrSource:
    name = "camera (QR)"

    def __init__(self, spec: str, width: int, height: int, fps: int, slip: Any = None) -> None:
        self.spec, self.width, self.height, self.fps = spec, width, height, fps
        self.slip = slip
        self._scanner: Any = None
        self._camera: Any = None
        self._error = ""

    def start(self, emit: Emit) -> None:
        from drivers.camera import Camera
        from kiosk.services.qr_scanner import QrScanner, camera_source

        try:
            self._camera = Camera(camera_source(self.spec, self.width, self.height, self.fps))
            self._scanner = QrScanner(emit, self._camera, slip=self.slip)
            self._scanner.start()
        except Exception as exc:  # no camera: the kiosk still works with the keypad
            self._error = str(exc)[:80]
            log.warning("camera not started: %s", self._error)

    def stop(self) -> None:
        if self._scanner is not None:
            self._scanner.stop()

    def status(self) -> DeviceStatus:
        if self._error or self._camera is None:
            return DeviceStatus(self.name, False, self._error or self.spec, "device.camera",
                                "device.not_started")
        frames = self._camera.latest() is not None
        return DeviceStatus(self.name, frames, self.spec, "device.camera",
                            "device.working" if frames else "device.no_frames")

    def pause_qr(self, paused: bool) -> None:
        """Stop decoding QR codes while the face check uses the frames (and the CPU)."""
        if self._scanner is not None:
            (self._scanner.pause if paused else self._scanner.resume)()

    @property
    def camera(self) -> Any:
        """The running `drivers.camera.Camera` (None before start or without a camera)."""
        return self._camera

    def preview(self) -> tuple[int, int, bytes] | None:
        if self._camera is None:
            return None
        bgr = self._camera.preview()
        if bgr is None:
            return None
        rgb = bgr[:, :, ::-1].copy()
        return rgb.shape[1], rgb.shape[0], rgb.tobytes()


def wire_face_check(assembly: Assembly, devices: list[DeviceSource]) -> None:
    """`[biometric] face_match` on: the journey's face port on the QR camera's frames,
    models loading in the background. Without the `[face]` extra the port stays unset:
    the journey's checks then end "cannot tell", and `kiosk doctor` fails."""
    from drivers.face import available
    from kiosk.services.face_check import CameraFaceCheck

    bio = assembly.config.biometric
    if bio.face_match == "off":
        return
    if not available():
        log.error("[biometric] face_match = %r but face matching is not installed",
                  bio.face_match)
        return
    camera = next((d for d in devices if isinstance(d, CameraQrSource)), None)
    port = CameraFaceCheck(lambda: camera.camera if camera is not None else None,
                           bio.threshold, bio.min_face_px, bio.budget_ms,
                           pause_qr=camera.pause_qr if camera is not None else None)
    threading.Thread(target=port.warm, name="face-models", daemon=True).start()
    assembly.ports.face = port
