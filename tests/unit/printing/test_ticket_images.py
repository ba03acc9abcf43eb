"""Ticket PNGs for 58 and 80 mm with the longest Vietnamese names: text fits,
diacritics intact (against committed reference images), QR readable.

Regenerate the references after a deliberate layout change with
`KIOSK_UPDATE_REFERENCES=1 pytest tests/unit/printing/test_ticket_images.py`
and look at them before committing."""

import datetime as dt
import os
from pathlib import Path

import numpy as np
import pytest
import zxingcpp
from PIL import Image

from kiosk.domain.registration import Registration
from kiosk.domain.text import fold, mask_name
from kiosk.services.ticket import render_ticket

REFERENCES = Path(__file__).parent / "reference"
HANOI = dt.timezone(dt.timedelta(hours=7))
# Long real-world shapes: royal-family surnames with many middle names, the longest
# department and hospital names seen on Vietnamese signage, all tone marks on display.
LONGEST_NAME = "Công Tằng Tôn Nữ Thị Huyền Trân Phượng Khuê"
DEPARTMENT = "Khám Phục hồi chức năng và Vật lý trị liệu Người cao tuổi"
ROOM = "Phòng 318, tầng 3, nhà Kỹ thuật nghiệp vụ"
HOSPITAL = "Bệnh viện Đa khoa Trung ương Thái Nguyên – Cơ sở Phổ Yên"
INSURANCE = ("Thẻ BHYT còn hạn. Bạn đã có thẻ mới; bệnh viện dùng số thẻ mới. "
             "Đăng ký ban đầu nơi khác: mức hưởng theo quy định chuyển tuyến.")
TOLERANCE = 0.005  # share of pixels allowed to differ (FreeType/Pillow versions)


def registration(**kw):
    fields = dict(
        id="9f8e7d6c5b4a39281706f5e4d3c2b1a0", queue_number="B-023",
        service_code="PHCN", service_name=DEPARTMENT, service_name_en="Rehabilitation",
        room=ROOM, created_at=dt.datetime(2026, 11, 23, 9, 41, tzinfo=HANOI),
        masked_name=mask_name(LONGEST_NAME), insurance_line_vi=INSURANCE,
        insurance_line_en="", code="9F8E7D6C5B",
    )
    fields.update(kw)
    return Registration(**fields)


def ink(img):
    return np.asarray(img.convert("L")) < 128


@pytest.fixture(scope="module", params=[58, 80])
def ticket(request):
    return request.param, render_ticket(registration(), facility_name=HOSPITAL,
                                        paper_mm=request.param)


def test_width_and_margins(ticket):
    mm, img = ticket
    assert img.width == {58: 384, 80: 576}[mm] and img.mode == "1"
    black = ink(img)
    margin = 12 if mm == 58 else 16
    # nothing overflows into the margins: every line was wrapped or shrunk to fit
    assert not black[:, : margin - 2].any() and not black[:, -(margin - 2):].any()
    assert not black[-4:, :].any()  # and nothing was cut at the bottom


def test_matches_reference_image(ticket):
    mm, img = ticket
    path = REFERENCES / f"ticket-{mm}mm.png"
    if os.environ.get("KIOSK_UPDATE_REFERENCES"):
        REFERENCES.mkdir(exist_ok=True)
        img.save(path)
    with Image.open(path) as ref:
        assert ref.size == img.size, "layout changed (height or width)"
        assert (ink(ref) != ink(img)).mean() <= TOLERANCE


def test_reference_comparison_notices_lost_diacritics(ticket):
    """The tolerance is tight enough to see every tone mark vanish."""
    mm, _ = ticket
    plain = render_ticket(
        registration(service_name=fold(DEPARTMENT).title(), room=fold(ROOM),
                     masked_name=fold(mask_name(LONGEST_NAME)).title(),
                     insurance_line_vi=fold(INSURANCE)),
        facility_name=fold(HOSPITAL).title(), paper_mm=mm)
    with Image.open(REFERENCES / f"ticket-{mm}mm.png") as ref:
        if ref.size == plain.size:
            assert (ink(ref) != ink(plain)).mean() > TOLERANCE * 2
    # and a single changed tone mark in the name is seen too
    one = render_ticket(registration(masked_name="Công T. T. T. N. T. H. T. P. Khúê"),
                        facility_name=HOSPITAL, paper_mm=mm)
    with Image.open(REFERENCES / f"ticket-{mm}mm.png") as ref:
        assert ref.size != one.size or (ink(ref) != ink(one)).sum() > 20


def test_qr_holds_the_registration_code(ticket):
    _, img = ticket
    found = zxingcpp.read_barcodes(img.convert("L"))
    assert [r.text for r in found if r.format == zxingcpp.BarcodeFormat.QRCode] == [
        "9F8E7D6C5B"]


def test_long_queue_number_and_name_still_fit():
    img = render_ticket(registration(queue_number="RHM-NGOAI-0123"), facility_name=HOSPITAL,
                        paper_mm=58)
    black = ink(img)
    assert not black[:, :10].any() and not black[:, -10:].any()


def test_logo_is_drawn(tmp_path):
    logo = tmp_path / "logo.png"
    Image.new("L", (300, 100), 0).save(logo)
    with_logo = render_ticket(registration(), facility_name=HOSPITAL, logo=logo)
    without = render_ticket(registration(), facility_name=HOSPITAL)
    assert with_logo.height > without.height
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not an image")
    assert render_ticket(registration(), facility_name=HOSPITAL, logo=broken).size == \
        without.size


def test_a_bracketed_part_of_the_hospital_name_stays_on_one_line() -> None:
    from kiosk.services.ticket import _words

    assert _words("Bệnh viện Đa khoa Minh An (mô phỏng)")[-1] == "(mô phỏng)"
    assert _words("A (b c d e f g) h") == ["A", "(b c d e", "f", "g)", "h"]  # not unbounded
    assert _words("A (b") == ["A", "(b"]
