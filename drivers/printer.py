"""Receipt printers: ESC/POS raster output (python-escpos) and a PNG file printer.

Tickets are images (Vietnamese needs a real font; ESC/POS code pages have
no full Vietnamese set), so every printer takes a Pillow image and prints it
as a raster (`GS v 0`). Before printing, a bidirectional printer is asked
for its status with DLE EOT (real-time, answered even while the printer is
busy or out of paper): an offline printer or an empty roll is reported as a
problem instead of sending a ticket into the void.

This module knows nothing about hospitals or registrations.
"""

from __future__ import annotations

import copy
import logging
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from PIL import Image

log = logging.getLogger(__name__)

Problem = Literal["paper_out", "offline", "error"]

DLE_EOT_PRINTER = b"\x10\x04\x01"  # printer status: bit 3 = offline
DLE_EOT_PAPER = b"\x10\x04\x04"  # roll paper sensor: bits 5,6 = paper end, bits 2,3 = near end
OFFLINE_BIT = 0x08
PAPER_END_BITS = 0x60
NEAR_END_BITS = 0x0C

DOTS = {58: 384, 80: 576}  # printable width at 203 dpi


@dataclass(frozen=True)
class PrintOutcome:
    printed: bool
    path: str | None = None
    problem: Problem | None = None
    detail: str = ""
    paper_low: bool = False  # printed, but the near-end sensor says the roll is ending


@dataclass(frozen=True)
class Status:
    online: bool | None  # None: the printer did not answer (one-way link)
    paper: Literal["ok", "low", "out"] | None


def parse_status(printer_byte: bytes, paper_byte: bytes) -> Status:
    """Interpret DLE EOT 1 and DLE EOT 4 answers (empty = no answer)."""
    online = None if not printer_byte else not (printer_byte[0] & OFFLINE_BIT)
    paper: Literal["ok", "low", "out"] | None = None
    if paper_byte:
        b = paper_byte[0]
        paper = "out" if b & PAPER_END_BITS else "low" if b & NEAR_END_BITS else "ok"
    return Status(online, paper)


class FilePrinter:
    """Saves each print as a PNG in a directory (the demo, tests, a kiosk without a
    printer that keeps a record). `paper_out` simulates an empty roll."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.paper_out = False
        self._count = 0

    def print_image(self, image: Image.Image, name: str = "") -> PrintOutcome:
        if self.paper_out:
            return PrintOutcome(False, problem="paper_out", detail="simulated paper out")
        self._count += 1
        name = re.sub(r"[^A-Za-z0-9._-]", "_", name) or (
            time.strftime("print-%Y%m%d-%H%M%S") + f"-{os.getpid()}-{self._count:04d}")
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            path = self.directory / f"{name}.png"
            image.save(path)
        except OSError as exc:
            return PrintOutcome(False, problem="error", detail=f"cannot write PNG: {exc}")
        return PrintOutcome(True, path=str(path.absolute()))


def escpos_device(kind: str, target: str, timeout_s: float = 3.0) -> Any:
    """An unopened python-escpos printer for "usb" ("04b8:0e15"), "serial"
    ("/dev/ttyUSB0" or "/dev/ttyUSB0:19200") or "network" ("192.0.2.7" or host:port)."""
    from escpos import printer as ep

    if kind == "usb":
        m = re.fullmatch(r"([0-9a-fA-F]{4}):([0-9a-fA-F]{4})", target.strip())
        if not m:
            raise ValueError(f"USB printer target {target!r} must be vid:pid in hex")
        return ep.Usb(int(m[1], 16), int(m[2], 16), timeout=int(timeout_s * 1000))
    if kind == "serial":
        dev, _, baud = target.partition(":")
        return ep.Serial(dev, baudrate=int(baud or 19200), timeout=timeout_s)
    if kind == "network":
        host, _, port = target.rpartition(":") if ":" in target else (target, "", "9100")
        return ep.Network(host, int(port or 9100), timeout=timeout_s)
    raise ValueError(f"unknown printer kind {kind!r}")


class EscposPrinter:
    """A thermal receipt printer over python-escpos; each print opens the link anew so an
    unplugged and replugged printer comes back without restarting the kiosk."""

    def __init__(self, factory: Callable[[], Any], *, paper_mm: int = 80,
                 check_status: bool = True) -> None:
        self.factory = factory
        self.width = DOTS.get(paper_mm, DOTS[80])
        self.check_status = check_status

    @classmethod
    def open(cls, kind: str, target: str, *, paper_mm: int = 80,
             timeout_s: float = 3.0) -> EscposPrinter:
        escpos_device(kind, target, timeout_s)  # validate the target now, not at first print
        return cls(lambda: escpos_device(kind, target, timeout_s), paper_mm=paper_mm)

    def status(self) -> Status:
        device = self._connect()
        try:
            return self._status(device)
        finally:
            _close(device)

    def print_image(self, image: Image.Image, name: str = "") -> PrintOutcome:
        try:
            device = self._connect()
        except PrinterOffline as exc:
            return PrintOutcome(False, problem="offline", detail=str(exc))
        try:
            status = self._status(device) if self.check_status else Status(None, None)
            if status.online is False:
                return PrintOutcome(False, problem="offline", detail="printer reports offline")
            if status.paper == "out":
                return PrintOutcome(False, problem="paper_out", detail="paper end sensor")
            device.image(self._fit(image), impl="bitImageRaster", center=False)
            device.cut()
            return PrintOutcome(True, paper_low=status.paper == "low")
        except (OSError, TimeoutError) as exc:
            return PrintOutcome(False, problem="offline", detail=f"link lost: {exc}")
        except Exception as exc:  # python-escpos raises its own hierarchy and USBError
            return PrintOutcome(False, problem="error", detail=f"{type(exc).__name__}: {exc}")
        finally:
            _close(device)

    def _connect(self) -> Any:
        try:
            device = self.factory()
            _set_width(device, self.width)
            device.open()
        except Exception as exc:  # DeviceNotFoundError, USBNotFoundError, SerialException…
            raise PrinterOffline(_offline_reason(exc)) from exc
        return device

    def _status(self, device: Any) -> Status:
        return parse_status(_ask(device, DLE_EOT_PRINTER), _ask(device, DLE_EOT_PAPER))

    def _fit(self, image: Image.Image) -> Image.Image:
        if image.width > self.width:
            height = round(image.height * self.width / image.width)
            image = image.resize((self.width, height), Image.Resampling.LANCZOS)
        return image.convert("1")


class PrinterOffline(Exception):
    pass


def _ask(device: Any, command: bytes) -> bytes:
    """One real-time status query; b"" when the link cannot answer (one-way, timeout)."""
    try:
        device._raw(command)
        answer = device._read()
    except (NotImplementedError, TimeoutError):  # python-escpos: this link cannot read
        return b""
    except Exception as exc:  # a USB read timeout or a serial port that cannot read
        log.debug("status query unanswered: %s", exc)
        return b""
    return bytes(answer[-1:]) if answer else b""


def _set_width(device: Any, dots: int) -> None:
    """Tell python-escpos the head width (else it prints a notice on stdout, which would
    corrupt a CLI's JSON output). The profile data is shared: change a copy."""
    profile = getattr(device, "profile", None)
    if profile is None:
        return
    data = copy.deepcopy(profile.profile_data)
    data.setdefault("media", {}).setdefault("width", {})["pixels"] = dots
    profile.profile_data = data


def _close(device: Any) -> None:
    try:
        device.close()
    except Exception as exc:  # closing a dead link must not mask the real outcome
        log.debug("printer close failed: %s", exc)


def _offline_reason(exc: Exception) -> str:
    """Plain words for a printer that cannot be opened (not the library's class name)."""
    name = type(exc).__name__
    if "NotFound" in name:  # python-escpos's DeviceNotFoundError, USBNotFoundError
        return "not found: is it plugged in and switched on?"
    return str(exc).removeprefix(f"{name}: ").strip()[:300] or name
