"""Device hooks: anything that produces device events (reader, QR scanner).

A `DeviceSource` is started with an `emit` callback it may call from any
thread; the app marshals each event onto the UI thread. Real sources (the
chip reader monitor of issue 3, the camera QR scanner of issue 4) plug in
through the same two methods; until they land the simulators below stand in.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from kiosk.domain.appointment import SlipQr
from kiosk.domain.errors import MalformedQr
from kiosk.domain.qr_payload import parse_qr
from kiosk.journey import events as ev

Emit = Callable[[ev.Event], None]


@dataclass(frozen=True)
class DeviceStatus:
    name: str
    ok: bool
    detail: str  # facts in the devices' own words (reader names, errors)
    # What the staff screen says in the kiosk's language: i18n keys for the device
    # ("device.reader") and its state ("device.card_present"); "" falls back to `name`.
    label: str = ""
    state: str = ""


@runtime_checkable
class DeviceSource(Protocol):
    name: str

    def start(self, emit: Emit) -> None: ...

    def stop(self) -> None: ...

    def status(self) -> DeviceStatus: ...


@runtime_checkable
class PreviewSource(Protocol):
    """A camera that can show staff a small preview: (width, height, RGB bytes)."""

    def preview(self) -> tuple[int, int, bytes] | None: ...


class SimulatedReaderDevice:
    """Simulator of the card reader's presence events (the chip itself is read
    through the identity port)."""

    name = "reader (simulator)"

    def __init__(self) -> None:
        self._emit: Emit | None = None
        self.card = False
        self.plugged = True

    def start(self, emit: Emit) -> None:
        self._emit = emit

    def stop(self) -> None:
        self._emit = None

    def _send(self, event: ev.Event) -> None:
        if self._emit is not None:
            self._emit(event)

    def place_card(self) -> None:
        self.card = True
        self.plugged = True
        self._send(ev.CardPlaced())

    def remove_card(self) -> None:
        self.card = False
        self._send(ev.CardRemoved())

    def unplug(self) -> None:
        self.plugged = False
        self.card = False
        self._send(ev.ReaderUnplugged())

    def status(self) -> DeviceStatus:
        state = ("card_present" if self.card else "no_card") if self.plugged else "unplugged"
        return DeviceStatus(self.name, self.plugged, "simulator", "device.reader",
                            f"device.{state}")


class SimulatedScannerDevice:
    """Simulator of the camera QR scanner: `show(text)` is a code held up to it."""

    name = "camera (simulator)"

    def __init__(self, slip: SlipQr | None = None) -> None:
        self._emit: Emit | None = None
        self.shown = 0
        self.slip = slip  # the hospital's appointment-slip QR format, if any

    def start(self, emit: Emit) -> None:
        self._emit = emit

    def stop(self) -> None:
        self._emit = None

    def show(self, text: str) -> None:
        ref = self.slip.appointment_ref(text) if self.slip is not None else None
        try:
            event: ev.Event = ev.SlipScanned(ref) if ref else ev.QrScanned(parse_qr(text))
        except MalformedQr as exc:
            event = ev.QrRejected(str(exc))
        self.shown += 1
        if self._emit is not None:
            self._emit(event)

    def status(self) -> DeviceStatus:
        return DeviceStatus(self.name, True, f"simulator, {self.shown} codes shown",
                            "device.camera", "device.working")

    def preview(self) -> tuple[int, int, bytes] | None:
        # A grey test card, so the staff screen's preview path is exercised.
        w, h = 160, 90
        return w, h, bytes([90, 90, 90]) * (w * h)
