"""The queue ticket as an image, for 58 mm and 80 mm thermal rolls.

Drawn with Pillow and the bundled DejaVu font (complete Vietnamese
coverage; text is NFC so every letter is one precomposed glyph). Every line
is wrapped to the paper width, and a word too long for a line even alone
(a long department name on 58 mm paper) shrinks the font instead of being
cut. The queue number is as large as the paper allows.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import qrcode
from PIL import Image, ImageDraw, ImageFont

from drivers.printer import DOTS
from kiosk.assets import asset_path
from kiosk.domain.registration import Registration
from kiosk.domain.text import nfc


@cache
def _font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont:
    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    return ImageFont.truetype(str(asset_path("fonts", name)), size)


class _Page:
    def __init__(self, width: int) -> None:
        self.width = width
        self.margin = 12 if width < 500 else 16
        self.image = Image.new("L", (width, 3000), 255)
        self.draw = ImageDraw.Draw(self.image)
        self.y = self.margin

    @property
    def inner(self) -> int:
        return self.width - 2 * self.margin

    def _fits(self, text: str, font: ImageFont.FreeTypeFont) -> bool:
        return self.draw.textlength(text, font=font) <= self.inner

    def _wrap(self, text: str, font: ImageFont.FreeTypeFont) -> list[str]:
        lines: list[str] = []
        for word in text.split():
            if lines and self._fits(f"{lines[-1]} {word}", font):
                lines[-1] += f" {word}"
            else:
                lines.append(word)
        return lines

    def text(self, text: str, size: int, *, bold: bool = False, center: bool = True,
             gap: int = 4, max_lines: int = 4) -> None:
        """Wrapped text; shrinks until every word fits and at most `max_lines` lines."""
        text = nfc(text)
        font = _font(size, bold)
        lines = self._wrap(text, font)
        while size > 12 and (len(lines) > max_lines or not all(self._fits(w, font)
                                                               for w in lines)):
            size -= 2
            font = _font(size, bold)
            lines = self._wrap(text, font)
        for line in lines:
            left, _, right, _ = self.draw.textbbox((0, 0), line, font=font)
            x = int(self.width - (right - left)) // 2 - left if center else self.margin
            self.draw.text((x, self.y), line, font=font, fill=0)
            self.y += int(size * 1.3)
        self.y += gap

    def big(self, text: str, max_size: int) -> None:
        """One line as large as fits (the queue number)."""
        size = max_size
        font = _font(size, True)
        while size > 24 and not self._fits(text, font):
            size -= 4
            font = _font(size, True)
        left, top, right, bottom = self.draw.textbbox((0, 0), text, font=font)
        self.draw.text(((self.width - (right - left)) // 2 - left, self.y - top), text,
                       font=font, fill=0)
        self.y += int(bottom - top) + 14

    def rule(self) -> None:
        self.draw.rectangle((self.margin, self.y, self.width - self.margin, self.y + 2), fill=0)
        self.y += 12

    def paste_center(self, image: Image.Image) -> None:
        self.image.paste(image, ((self.width - image.width) // 2, self.y))
        self.y += image.height + 6

    def finish(self) -> Image.Image:
        return self.image.crop((0, 0, self.width, self.y + self.margin)).convert("1")


def _qr(data: str, size: int) -> Image.Image:
    code = qrcode.QRCode(border=2, error_correction=qrcode.constants.ERROR_CORRECT_M)
    code.add_data(data)
    code.make(fit=True)
    img = code.make_image(fill_color="black", back_color="white").get_image().convert("L")
    modules = img.width
    scale = max(1, size // modules)  # whole dots per module: scanners hate resampled QRs
    return img.resize((modules * scale, modules * scale), Image.Resampling.NEAREST)


def _logo(path: Path, width: int) -> Image.Image | None:
    try:
        with Image.open(path) as img:
            logo = img.convert("L")
    except OSError:
        return None
    logo.thumbnail((width, width // 3))
    return logo


def render_ticket(reg: Registration, *, facility_name: str, paper_mm: int = 80,
                  logo: Path | None = None) -> Image.Image:
    """The ticket for `reg` as a 1-bit image `DOTS[paper_mm]` wide."""
    narrow = paper_mm < 80
    page = _Page(DOTS.get(paper_mm, DOTS[80]))
    if logo is not None:
        image = _logo(logo, page.inner)
        if image is not None:
            page.paste_center(image)
    page.text(facility_name, 22 if narrow else 28, bold=True, max_lines=3)
    page.rule()
    page.text("SỐ THỨ TỰ · Queue number", 18 if narrow else 22)
    page.big(reg.queue_number, 120 if narrow else 168)
    page.text(reg.service_name, 26 if narrow else 32, bold=True, max_lines=3)
    page.text(reg.room, 22 if narrow else 28, bold=True, gap=10)
    if reg.appointment is not None:  # a follow-up checked in: its time and doctor
        at = reg.appointment.start.astimezone(reg.created_at.tzinfo)
        page.text(f"Lịch hẹn · Appointment {at:%H:%M}", 20 if narrow else 24, bold=True)
        if reg.appointment.doctor:
            page.text(reg.appointment.doctor, 18 if narrow else 22, max_lines=2, gap=8)
    page.rule()
    if reg.masked_name:
        page.text(reg.masked_name, 22 if narrow else 26, gap=6)
    if reg.insurance_line_vi:
        page.text(reg.insurance_line_vi, 16 if narrow else 20, max_lines=5, gap=6)
    page.text(reg.created_at.strftime("%H:%M  %d/%m/%Y"), 20 if narrow else 24, gap=8)
    page.paste_center(_qr(reg.code, 150 if narrow else 200))
    page.text(f"Mã đăng ký · Code: {reg.code}", 16 if narrow else 20, gap=2)
    page.text("Vui lòng chờ gọi số · Please wait for your number", 14 if narrow else 18)
    return page.finish()
