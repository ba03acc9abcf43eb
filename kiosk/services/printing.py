"""The journey's `PrinterPort`: render the ticket, print it, record the outcome.

The outcome (printed, or why not) is written to the registration so staff
and reports see which patients left without paper; the journey gets a
`PrintResult` and, on a problem, shows the number on screen and sends the
patient to the counter. `print_image` lets the health-book slip use the
same printer.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Protocol

import sqlite_utils
from PIL import Image

from drivers.printer import EscposPrinter, FilePrinter, PrintOutcome
from kiosk.config import Config
from kiosk.domain.registration import PrintResult, Registration
from kiosk.services.ticket import render_ticket
from kiosk.store import audit

log = logging.getLogger(__name__)


class ImageDevice(Protocol):
    def print_image(self, image: Image.Image, name: str = "") -> PrintOutcome: ...


class NoPrinter:
    """`printer.kind = "none"`: every ticket is "not printed" (the screen shows the number)."""

    def print_image(self, image: Image.Image, name: str = "") -> PrintOutcome:
        return PrintOutcome(False, problem="offline", detail="no printer configured")


class TicketPrinter:
    def __init__(self, device: ImageDevice, *, facility_name: str, paper_mm: int = 80,
                 logo: Path | None = None, db: sqlite_utils.Database | None = None,
                 kiosk_id: str = "") -> None:
        self.device = device
        self.facility_name = facility_name
        self.paper_mm = paper_mm
        self.logo = logo
        self.db = db
        self.kiosk_id = kiosk_id

    @property
    def paper_out(self) -> bool:
        """The file printer's simulated empty roll (demo and tests)."""
        return bool(getattr(self.device, "paper_out", False))

    @paper_out.setter
    def paper_out(self, value: bool) -> None:
        if not isinstance(self.device, FilePrinter):
            raise AttributeError("only the file printer can simulate paper out")
        self.device.paper_out = value

    def print_ticket(self, registration: Registration) -> PrintResult:
        image = render_ticket(registration, facility_name=self.facility_name,
                              paper_mm=self.paper_mm, logo=self.logo)
        name = f"ticket-{registration.created_at:%Y%m%d}-{registration.queue_number}-" \
               f"{registration.code}"
        result = _result(self.device.print_image(image, name))
        self._record(registration.id, result)
        return result

    def print_image(self, image: Image.Image) -> PrintResult:
        return _result(self.device.print_image(image, ""))

    def _record(self, registration_id: str, result: PrintResult) -> None:
        if self.db is None:
            return
        try:
            self.db.execute("UPDATE registrations SET printed = ?, print_error = ? WHERE id = ?",
                            [int(result.printed), result.problem, registration_id])
            if result.problem:
                audit(self.db, self.kiosk_id, f"printer.{result.problem}", result.detail[:200])
        except Exception as exc:  # the patient holds the ticket; a busy DB must not stop that
            log.warning("print outcome of %s not recorded: %s", registration_id, exc)


def _result(outcome: PrintOutcome) -> PrintResult:
    if outcome.paper_low:
        log.warning("printer paper is running low")
    return PrintResult(outcome.printed, path=outcome.path, problem=outcome.problem,
                       detail=outcome.detail)


def build_printer(config: Config, db: sqlite_utils.Database | None = None) -> TicketPrinter:
    """The configured printer: file (PNG directory), usb/serial/network ESC/POS, or none."""
    p = config.printer
    device: ImageDevice
    if p.kind == "file":
        device = FilePrinter(Path(p.target) if p.target else config.state_dir / "tickets")
    elif p.kind == "none":
        device = NoPrinter()
    else:
        device = EscposPrinter.open(p.kind, p.target, paper_mm=p.paper_mm)
    logo = Path(config.facility.logo) if config.facility.logo else None
    return TicketPrinter(device, facility_name=config.facility.name, paper_mm=p.paper_mm,
                         logo=logo, db=db, kiosk_id=config.kiosk_id)
