"""The printed health-book slip: the steps for the patient's branch, their BHYT
number in large print (to type into VNeID), and QR codes to the hospital's
instruction page (and the app stores when VNeID must be installed).

Rendered with Pillow and the bundled DejaVu font (full Vietnamese coverage)
as a 1-bit-friendly image the width of an 80 mm thermal roll. Printing goes
through the kiosk's ticket printer when it offers an image interface
(`print_image(image) -> PrintResult`); otherwise, as with the file printer of
the demo, the slip is saved as a PNG in the printer's directory.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import qrcode
from PIL import Image, ImageDraw, ImageFont

from kiosk.assets import asset_path
from kiosk.domain.registration import PrintResult
from kiosk.journey.health_book import Node
from kiosk.journey.health_book_content import Content, NodeContent

log = logging.getLogger(__name__)

DOTS_80MM = 576  # printable width of an 80 mm roll at 203 dpi
MARGIN = 16


class ImagePrinter(Protocol):
    def print_image(self, image: Image.Image) -> PrintResult: ...


def _font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont:
    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    return ImageFont.truetype(str(asset_path("fonts", name)), size)


class _Canvas:
    """Draws top to bottom on a tall page, cropped to the used height at the end."""

    def __init__(self, width: int) -> None:
        self.width = width
        self.image = Image.new("L", (width, 6000), 255)
        self.draw = ImageDraw.Draw(self.image)
        self.y = MARGIN

    def _wrap(self, text: str, font: ImageFont.FreeTypeFont, width: int) -> list[str]:
        lines: list[str] = []
        for word in text.split():
            if lines and self.draw.textlength(f"{lines[-1]} {word}", font=font) <= width:
                lines[-1] += f" {word}"
            else:
                lines.append(word)
        return lines

    def text(self, text: str, size: int, bold: bool = False, indent: int = 0,
             center: bool = False, gap: int = 6) -> None:
        font = _font(size, bold)
        width = self.width - 2 * MARGIN - indent
        for line in self._wrap(text, font, width):
            x = MARGIN + indent
            if center:
                x = int((self.width - self.draw.textlength(line, font=font)) / 2)
            self.draw.text((x, self.y), line, font=font, fill=0)
            self.y += int(size * 1.25)
        self.y += gap

    def numbered(self, number: int, text: str, size: int = 22) -> None:
        font = _font(size, True)
        self.draw.text((MARGIN, self.y), f"{number}.", font=font, fill=0)
        self.text(text, size, indent=int(size * 1.6), gap=8)

    def rule(self, thick: int = 2) -> None:
        self.draw.rectangle((MARGIN, self.y, self.width - MARGIN, self.y + thick), fill=0)
        self.y += thick + 12

    def boxed_number(self, label: str, number: str) -> None:
        top = self.y
        self.y += 10
        self.text(label, 22, center=True, gap=2)
        size = 60
        font = _font(size, True)
        while self.draw.textlength(number, font=font) > self.width - 4 * MARGIN and size > 24:
            size -= 4
            font = _font(size, True)
        self.text(number, size, bold=True, center=True, gap=10)
        self.draw.rectangle((MARGIN, top, self.width - MARGIN, self.y), outline=0, width=4)
        self.y += 16

    def qr(self, data: str, caption: str, size: int = 220) -> None:
        self.qrs([(data, caption)], size)

    def qrs(self, items: list[tuple[str, str]], size: int = 200) -> None:
        slot = (self.width - 2 * MARGIN) // len(items)
        bottom = self.y
        for i, (data, caption) in enumerate(items):
            code = qrcode.QRCode(border=2, error_correction=qrcode.constants.ERROR_CORRECT_M)
            code.add_data(data)
            code.make(fit=True)
            img = code.make_image(fill_color="black", back_color="white").get_image()
            img = img.convert("L").resize((size, size), Image.Resampling.NEAREST)
            x = MARGIN + i * slot + (slot - size) // 2
            self.image.paste(img, (x, self.y))
            font = _font(18)
            cy = self.y + size + 4
            for line in self._wrap(caption, font, slot - 8):
                w = self.draw.textlength(line, font=font)
                self.draw.text((MARGIN + i * slot + (slot - w) / 2, cy), line, font=font, fill=0)
                cy += 23
            bottom = max(bottom, cy)
        self.y = bottom + 12

    def finish(self) -> Image.Image:
        return self.image.crop((0, 0, self.width, self.y + MARGIN)).convert("1")


def render_handout(
    content: Content, section: Node, *, card_number: str | None, url: str | None,
    facility_name: str = "", lang: str = "vi", width: int = DOTS_80MM,
    today: dt.date | None = None, keep_hours: int = 24, unsynced_days: int = 7,
) -> Image.Image:
    """The slip for `section` (see `Guide.handout`). Carries no name or ID number:
    only the BHYT card number, which the patient needs to type into VNeID."""
    c = _Canvas(width)
    vi = lang != "en"
    if facility_name:
        c.text(facility_name, 22, bold=True, center=True, gap=2)
    c.text("SỔ SỨC KHỎE ĐIỆN TỬ TRÊN VNeID" if vi else "ELECTRONIC HEALTH BOOK ON VNeID",
           28, bold=True, center=True, gap=2)
    c.text("Hướng dẫn từng bước" if vi else "Step by step", 22, center=True)
    c.rule(3)
    nodes = [content.nodes[n] for n in content.handout_nodes(section)]
    if card_number and any(_uses_card(n) for n in nodes):
        c.boxed_number("Số thẻ BHYT của bạn (nhập vào VNeID):" if vi else
                       "Your BHYT card number (type it in VNeID):", card_number)
    for node in nodes:
        _section(c, node, lang)
        if node.node is Node.INSTALL and content.stores:
            names = {"google_play": "CH Play (Android)", "app_store": "App Store (iPhone)"}
            c.qrs([(url_, names.get(key, key)) for key, url_ in sorted(content.stores.items())],
                  size=180)
    if url:
        c.rule()
        c.qr(url, "Quét mã để xem hướng dẫn của bệnh viện" if vi else
             "Scan for the hospital's instructions")
    stamp = (today or dt.date.today()).strftime("%d/%m/%Y")
    c.text(stamp, 16, center=True)
    c.text(kept_notice(lang, keep_hours, unsynced_days), 16, center=True)
    return c.finish()


def kept_notice(lang: str, keep_hours: int, unsynced_days: int) -> str:
    """What the kiosk keeps and for how long (retention.personal_data_hours and
    retention.unsynced_days, kiosk/store/retention.py): it must be true."""
    if lang == "en":
        return (f"The kiosk keeps your name and ID numbers until the hospital's system has "
                f"them, then deletes them after {keep_hours} hours (at most {unsynced_days} "
                f"days if they cannot be sent). The kiosk does not keep your photo.")
    return (f"Ki-ốt giữ họ tên và số giấy tờ của bạn đến khi hệ thống của bệnh viện nhận "
            f"được, rồi xóa sau {keep_hours} giờ (chậm nhất {unsynced_days} ngày nếu không "
            f"gửi được). Ki-ốt không lưu ảnh của bạn.")


def _uses_card(node: NodeContent) -> bool:
    return any(step.show_card_number for step in node.steps)


def _section(c: _Canvas, node: NodeContent, lang: str) -> None:
    c.text(node.title.get(lang), 24, bold=True, gap=4)
    if (not node.steps and not node.explain) or node.node is Node.INSTALL:
        c.text(node.body.get(lang), 20, gap=8)
    for i, step in enumerate(node.steps, 1):
        c.numbered(i, step.text.get(lang))
    for text in node.explain.values():
        c.text("• " + text.get(lang), 20, indent=8, gap=6)
    c.y += 8


class HandoutService:
    """Implements the journey's HandoutPort: render, then print (or save)."""

    def __init__(
        self, content: Content, *, url: str | None, facility_name: str, directory: Path,
        printer: Callable[[], ImagePrinter | None] | None = None, lang: str = "vi",
        today: Callable[[], dt.date] = dt.date.today, keep_hours: int = 24,
        unsynced_days: int = 7,
    ) -> None:
        self.keep_hours = keep_hours
        self.unsynced_days = unsynced_days
        self.content = content
        self.url = url
        self.facility_name = facility_name
        self.directory = directory
        self._printer = printer  # looked up lazily: the ticket printer may come later
        self.lang = lang
        self.today = today
        self._lock = threading.Lock()
        self._count = 0

    def print_handout(self, section: Node, card_number: str | None) -> PrintResult:
        image = render_handout(self.content, section, card_number=card_number, url=self.url,
                               facility_name=self.facility_name, lang=self.lang,
                               today=self.today(), keep_hours=self.keep_hours,
                               unsynced_days=self.unsynced_days)
        printer = self._printer() if self._printer else None
        if printer is not None:
            return printer.print_image(image)
        return self._save(image, section)

    def _save(self, image: Image.Image, section: Node) -> PrintResult:
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            with self._lock:
                self._count += 1
                stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
                path = self.directory / f"handout-{stamp}-{self._count:03d}-{section}.png"
            image.save(path)
        except OSError as exc:
            log.warning("handout not saved: %s", exc)
            return PrintResult(False, problem="error", detail=str(exc))
        return PrintResult(True, path=str(path))


def ticket_image_printer(ports_printer: Any) -> ImagePrinter | None:
    """The ticket printer, if it can print images (issue 6's interface)."""
    return ports_printer if callable(getattr(ports_printer, "print_image", None)) else None
