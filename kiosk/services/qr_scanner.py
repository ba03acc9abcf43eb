"""Camera → QR decoder → payload parser → journey events.

The drivers deliver decoded *text*; this adapter classifies it with the
domain parser (`kiosk.domain.qr_payload.parse_qr`) and posts
`QrScanned(payload)` or `QrRejected(reason)` through a callback. The
callback runs on the decoder's worker thread: the UI must hop to its own
thread (`Clock.schedule_once`) before touching widgets.

Nothing personal is logged: only the payload kind and a masked ID.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from kiosk.domain.appointment import SlipQr
from kiosk.domain.errors import MalformedQr
from kiosk.domain.qr_payload import BhytQr, CccdQr, parse_qr
from kiosk.domain.text import mask_id
from kiosk.journey.events import QrRejected, QrScanned, SlipScanned

if TYPE_CHECKING:
    from drivers.camera import Camera, FrameSource
    from drivers.qr import QrReader, QrSymbol

log = logging.getLogger(__name__)

QrEvent = QrScanned | QrRejected | SlipScanned


def classify(text: str, slip: SlipQr | None = None) -> QrEvent:
    """Decoded QR text → the journey event. Never raises: hostile input becomes
    `QrRejected` (card-shaped but broken) or an `UnknownQr` payload. With the
    hospital's appointment-slip format configured, a slip's QR is `SlipScanned`."""
    ref = slip.appointment_ref(text) if slip is not None else None
    if ref is not None:
        return SlipScanned(ref)
    try:
        return QrScanned(parse_qr(text))
    except MalformedQr as exc:
        return QrRejected(str(exc))
    except Exception:  # a parser bug must not take the camera down; staff see the log
        log.exception("QR payload parser failed")
        return QrRejected("unreadable QR payload")


def describe(event: QrEvent) -> str:
    """A log-safe one-liner (no names, masked numbers)."""
    if isinstance(event, QrRejected):
        return "QR rejected"
    if isinstance(event, SlipScanned):
        return "QR appointment slip"
    payload = event.payload
    if isinstance(payload, CccdQr):
        return f"QR cccd {mask_id(payload.id_number)}"
    if isinstance(payload, BhytQr):
        return f"QR bhyt {mask_id(payload.card_number)}"
    return f"QR unknown ({payload.reason})"


# A shaking hand moves a card ~1 px per ms in front of a lobby webcam; indoor auto
# exposure runs to 30 ms and more. 10 ms keeps most smears within what the blur
# recovery undoes (decision 0095); cameras that refuse it keep auto exposure.
SHORT_EXPOSURE_MS = 10.0
# The expensive recovery pass at most twice a second, on the sharpest missed frame:
# the worker stays within a few ms per frame on average, the camera at its rate.
RECOVERY_INTERVAL_S = 0.5


def camera_source(spec: str, width: int = 1280, height: int = 720, fps: int = 30,
                  exposure_ms: float | None = SHORT_EXPOSURE_MS) -> FrameSource:
    """The `devices.camera` config value as a frame source ("virtual" for the demo)."""
    if spec.strip() == "virtual":
        from drivers.virtual.camera import VirtualCameraSource

        return VirtualCameraSource(fps=min(fps, 15), size=(width, height))
    from drivers.camera import open_source

    return open_source(spec, width, height, fps, exposure_ms)


class QrScanner:
    """Runs a camera and a decoder worker; emits journey events via `on_event`.

    `pause()` / `resume()` follow the journey: decode only on screens that
    accept a QR (saves a core for the UI); `new_session()` forgets repeats
    so the next patient's code is reported at once.
    """

    def __init__(
        self,
        on_event: Callable[[QrEvent], None],
        camera: Camera | None = None,
        *,
        reader: QrReader | None = None,
        repeat_window_s: float = 3.0,
        slip: SlipQr | None = None,
    ) -> None:
        from drivers.qr import QrReader, QrWorker, RepeatFilter

        self._on_event = on_event
        self.slip = slip
        self.camera = camera
        if reader is None:
            reader = QrReader(recovery_interval_s=RECOVERY_INTERVAL_S)
        self.worker = QrWorker(self._on_symbol, reader=reader,
                               repeat=RepeatFilter(repeat_window_s))

    def start(self) -> None:
        self.worker.start()
        if self.camera is not None:
            self.camera.subscribe(lambda frame: self.worker.submit(frame.image, frame.captured_at))
            self.camera.start()

    def stop(self) -> None:
        if self.camera is not None:
            self.camera.stop()
        self.worker.stop()

    def pause(self) -> None:
        self.worker.pause()

    def resume(self) -> None:
        self.worker.resume()

    def new_session(self) -> None:
        self.worker.repeat.forget()

    def handle_text(self, text: str) -> QrEvent:
        """Classify and emit (also used directly by tests and the demo)."""
        event = classify(text, self.slip)
        log.info("%s", describe(event))
        self._on_event(event)
        return event

    def _on_symbol(self, symbol: QrSymbol) -> None:
        if symbol.recovered:
            # A deblurred read passed zxing's error correction; it must also be a
            # well-formed payload, or it is dropped unseen: the next frame of a
            # shaking hand comes 70 ms later, a false "rejected" would stay.
            event = classify(symbol.text, self.slip)
            if isinstance(event, QrRejected):
                log.info("deblurred QR dropped: not a well-formed payload")
                return
        self.handle_text(symbol.text)
