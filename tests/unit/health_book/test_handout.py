"""The printed health-book slip: rendered PNG, its QR codes, and the print path."""

import datetime as dt

import pytest
import zxingcpp
from PIL import Image

from kiosk.domain.registration import PrintResult
from kiosk.journey import Journey, Step
from kiosk.journey import events as ev
from kiosk.journey import health_book as hb
from kiosk.journey.effects import PrintHandout
from kiosk.journey.health_book_content import load
from kiosk.services.health_book_handout import DOTS_80MM, HandoutService, render_handout

URL = "https://benhvien.example.vn/so-suc-khoe-dien-tu"
CARD = "HS4010120878811"


@pytest.fixture(scope="module")
def content():
    return load()


def decoded(image):
    return {r.text for r in zxingcpp.read_barcodes(image.convert("L"))}


@pytest.mark.parametrize("section", sorted(set(hb.HANDOUT.values())))
def test_every_section_renders_a_slip_with_the_hospital_qr(content, section, tmp_path):
    image = render_handout(content, section, card_number=CARD, url=URL,
                           facility_name="Bệnh viện Đa khoa Minh An", today=dt.date(2026, 11, 23))
    assert image.width == DOTS_80MM and 600 < image.height < 4000 and image.mode == "1"
    path = tmp_path / f"{section}.png"
    image.save(path)
    with Image.open(path) as back:
        assert URL in decoded(back)


def test_install_slip_carries_store_qr_codes(content):
    image = render_handout(content, hb.Node.INSTALL, card_number=None, url=URL)
    codes = decoded(image)
    assert set(content.stores.values()) <= codes and URL in codes


def test_card_number_box_only_where_steps_need_it(content):
    with_card = render_handout(content, hb.Node.INTEGRATE, card_number=CARD, url=None)
    without = render_handout(content, hb.Node.INTEGRATE, card_number=None, url=None)
    assert with_card.height - without.height > 80  # the large-print box
    present = render_handout(content, hb.Node.PRESENT, card_number=CARD, url=None)
    present_none = render_handout(content, hb.Node.PRESENT, card_number=None, url=None)
    assert present.height == present_none.height  # no typing needed there
    assert URL not in decoded(without)


def test_english_slip(content):
    image = render_handout(content, hb.Node.ACTIVATE, card_number=CARD, url=URL, lang="en")
    assert URL in decoded(image)


def test_saved_as_png_where_tickets_go_without_an_image_printer(content, tmp_path):
    service = HandoutService(content, url=URL, facility_name="BV", directory=tmp_path / "t")
    result = service.print_handout(hb.Node.POLICE, CARD)
    assert result.printed and result.path and result.path.endswith("-police.png")
    with Image.open(result.path) as image:
        assert URL in decoded(image)
    blocked = tmp_path / "file"
    blocked.write_text("")
    bad = HandoutService(content, url=URL, facility_name="BV", directory=blocked / "x")
    assert bad.print_handout(hb.Node.POLICE, CARD).problem == "error"


def test_goes_to_the_ticket_printer_when_it_prints_images(content, tmp_path):
    class ImageTicketPrinter:
        def __init__(self):
            self.images = []

        def print_image(self, image):
            self.images.append(image)
            return PrintResult(True)

    printer = ImageTicketPrinter()
    service = HandoutService(content, url=URL, facility_name="BV", directory=tmp_path,
                             printer=lambda: printer)
    assert service.print_handout(hb.Node.ACTIVATE, CARD).printed
    assert len(printer.images) == 1 and not list(tmp_path.iterdir())


def test_journey_prints_once_per_tap_and_counts():
    j = Journey()
    j.session = j.session.__class__(id=7, step=Step.HEALTH_BOOK,
                                    health_book=hb.Guide(hb.Node.INTEGRATE, CARD))
    effects = j.handle(ev.HandoutRequested(), 1.0)
    assert effects == [PrintHandout(7, hb.Node.INTEGRATE, CARD)]
    assert j.handle(ev.HandoutRequested(), 1.1) == []  # double tap while printing
    effects = j.handle(ev.HandoutPrinted(7, PrintResult(False, problem="paper_out")), 2.0)
    assert j.session.health_book.handout == "failed"
    assert [e.metric for e in effects] == ["health_book.handout.failed"]
    assert len(j.handle(ev.HandoutRequested(), 3.0)) == 1  # may try again
    j.handle(ev.HandoutPrinted(7, PrintResult(True)), 4.0)
    assert j.session.health_book.handout == "printed"
    assert j.handle(ev.HandoutPrinted(99, PrintResult(True)), 5.0) == []  # old session
