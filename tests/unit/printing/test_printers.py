"""ESC/POS printing over a real TCP link to a fake network printer, status bytes
for paper out / offline, and the outcome recorded in the registration."""

import pytest
from escpos.printer import Dummy
from PIL import Image

from drivers.printer import EscposPrinter, FilePrinter, escpos_device, parse_status
from kiosk.services.printing import TicketPrinter, build_printer
from kiosk.services.registration import RegistrationService
from kiosk.store import connect
from tests.unit.printing.fake_escpos import (
    PAPER_LOW,
    PAPER_OUT,
    PRINTER_OFFLINE,
    FakeNetworkPrinter,
)
from tests.unit.registration.helpers import NOW, insured, patient

RASTER = b"\x1dv0"  # GS v 0: raster bit image


@pytest.fixture
def fake():
    printers = []

    def make(**kw):
        printers.append(FakeNetworkPrinter(**kw))
        return printers[-1]

    yield make
    for p in printers:
        p.close()


def network(fake_printer, timeout=2.0):
    return EscposPrinter(lambda: escpos_device("network", fake_printer.target, timeout))


def image():
    img = Image.new("1", (500, 120), 1)
    img.paste(0, (10, 10, 490, 110))
    return img


def test_status_bytes():
    assert parse_status(b"\x16", b"\x12") == parse_status(b"\x16", b"\x12")
    assert parse_status(b"\x16", b"\x12").online is True
    assert parse_status(b"\x1e", b"").online is False
    assert parse_status(b"", b"\x72").paper == "out"
    assert parse_status(b"", b"\x1e").paper == "low"
    assert parse_status(b"", b"\x12").paper == "ok"
    assert parse_status(b"", b"") == parse_status(b"", b"")
    assert parse_status(b"", b"").online is None


def test_prints_a_raster_image_over_the_network(fake):
    printer = fake()
    outcome = network(printer).print_image(image())
    assert outcome.printed and outcome.problem is None and not outcome.paper_low
    printer.close()
    job = _wait_job(printer)
    assert RASTER in job and job.index(b"\x10\x04\x04") < job.index(RASTER)
    assert job.rstrip().endswith(b"\x1dV\x00") or b"\x1dV" in job[-8:]  # cut


def test_paper_out_is_reported_and_nothing_printed(fake):
    printer = fake(paper=PAPER_OUT)
    outcome = network(printer).print_image(image())
    assert (outcome.printed, outcome.problem) == (False, "paper_out")
    assert RASTER not in _wait_job(printer)


def test_offline_is_reported(fake):
    printer = fake(printer=PRINTER_OFFLINE)
    outcome = network(printer).print_image(image())
    assert (outcome.printed, outcome.problem) == (False, "offline")


def test_paper_low_still_prints(fake):
    outcome = network(fake(paper=PAPER_LOW)).print_image(image())
    assert outcome.printed and outcome.paper_low


def test_unreachable_printer_is_offline(fake):
    printer = fake()
    printer.close()
    outcome = network(printer, timeout=0.5).print_image(image())
    assert (outcome.printed, outcome.problem) == (False, "offline")


def test_one_way_printer_prints_without_status(fake):
    printer = fake(answers=False)
    outcome = network(printer, timeout=0.3).print_image(image())
    assert outcome.printed
    assert RASTER in _wait_job(printer)


class StatusDummy(Dummy):
    """python-escpos's Dummy with a status line, as a USB/serial device would have."""

    def __init__(self, paper: bytes) -> None:
        super().__init__()
        self.paper = paper
        self.asked = b""

    def open(self) -> None:
        pass

    def _raw(self, msg: bytes) -> None:
        self.asked = msg
        super()._raw(msg)

    def _read(self) -> bytes:
        return self.paper if self.asked.endswith(b"\x04") else b"\x16"


def test_dummy_device_paper_out_path():
    dev = StatusDummy(PAPER_OUT)
    assert EscposPrinter(lambda: dev).print_image(image()).problem == "paper_out"
    dev = StatusDummy(b"\x12")
    assert EscposPrinter(lambda: dev, paper_mm=58).print_image(image()).printed
    assert RASTER in dev.output
    # the 500-dot image was scaled to the 384-dot head of 58 mm paper
    i = dev.output.index(RASTER) + 4
    assert int.from_bytes(dev.output[i:i + 2], "little") * 8 == 384


@pytest.mark.parametrize("target", ["nonsense", "04b8", "g4b8:0e15"])
def test_bad_usb_targets_are_refused_at_startup(target):
    with pytest.raises(ValueError):
        EscposPrinter.open("usb", target)


def test_print_outcome_is_recorded_in_the_registration(config, fake):
    db = connect(config.database_path)
    reg = RegistrationService(db, config, now=lambda: NOW).register(
        patient(), insured(), "KB-NOI", "k")
    out = fake(paper=PAPER_OUT)
    tp = TicketPrinter(network(out), facility_name="BV", db=db, kiosk_id="k1")
    assert tp.print_ticket(reg).problem == "paper_out"
    assert db.execute("SELECT printed, print_error FROM registrations").fetchone() == (
        0, "paper_out")
    assert db.execute("SELECT event FROM audit").fetchall() == [("printer.paper_out",)]
    tp.device = network(fake())
    assert tp.print_ticket(reg).printed
    assert db.execute("SELECT printed, print_error FROM registrations").fetchone() == (1, None)


def test_file_printer_writes_pngs_and_simulates_paper_out(config, tmp_path):
    db = connect(config.database_path)
    reg = RegistrationService(db, config, now=lambda: NOW).register(
        patient(), insured(), "KB-NOI", "k")
    tp = build_printer(config, db)
    result = tp.print_ticket(reg)
    assert result.printed and result.path.endswith(f"-A-001-{reg.code}.png")
    with Image.open(result.path) as img:
        assert img.width == 576
    tp.paper_out = True
    assert tp.print_ticket(reg).problem == "paper_out"
    tp.paper_out = False
    slip = tp.print_image(image())  # the health-book slip uses the same printer
    assert slip.printed and slip.path != result.path
    assert isinstance(tp.device, FilePrinter)


def _wait_job(printer, timeout=5.0):
    import time
    end = time.monotonic() + timeout
    while not printer.jobs and time.monotonic() < end:
        time.sleep(0.01)
    assert printer.jobs, "the fake printer received nothing"
    return printer.jobs[-1]
