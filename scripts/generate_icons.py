#!/usr/bin/env python3
"""Draw the service-tile pictograms (assets/images/icons/*.png) with Pillow.

Simple, bold shapes in the theme's primary colour, readable at 120 px; the
PNGs are committed. Run again after changing a shape.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parent.parent
SIZE = 256
BLUE = (10, 74, 143, 255)
W = 18  # stroke width


def canvas() -> tuple[Image.Image, ImageDraw.ImageDraw]:
    img = Image.new("RGBA", (SIZE, SIZE), (0, 0, 0, 0))
    return img, ImageDraw.Draw(img)


def clinic(d: ImageDraw.ImageDraw) -> None:  # medical cross
    d.rectangle((98, 40, 158, 216), fill=BLUE)
    d.rectangle((40, 98, 216, 158), fill=BLUE)


def internal(d: ImageDraw.ImageDraw) -> None:  # heart + stethoscope ring
    d.ellipse((40, 50, 136, 146), fill=BLUE)
    d.ellipse((120, 50, 216, 146), fill=BLUE)
    d.polygon([(46, 118), (210, 118), (128, 220)], fill=BLUE)


def surgery(d: ImageDraw.ImageDraw) -> Image.Image:  # an adhesive bandage, tilted
    band = Image.new("RGBA", (SIZE, SIZE), (0, 0, 0, 0))
    b = ImageDraw.Draw(band)
    b.rounded_rectangle((20, 88, 236, 168), radius=40, fill=BLUE)
    b.rectangle((96, 100, 160, 156), fill=(0, 0, 0, 0))  # the pad, left open
    b.rectangle((96, 100, 160, 156), outline=BLUE, width=6)
    for x in (112, 144):
        for y in (116, 140):
            b.ellipse((x - 5, y - 5, x + 5, y + 5), fill=BLUE)
    return band.rotate(40, resample=Image.Resampling.BICUBIC)  # laid over the canvas


def child(d: ImageDraw.ImageDraw) -> None:  # small person
    d.ellipse((93, 28, 163, 98), fill=BLUE)
    d.rounded_rectangle((78, 108, 178, 188), radius=30, fill=BLUE)
    d.rectangle((90, 180, 120, 236), fill=BLUE)
    d.rectangle((136, 180, 166, 236), fill=BLUE)
    d.line((78, 130, 40, 170), fill=BLUE, width=W)
    d.line((178, 130, 216, 170), fill=BLUE, width=W)


def eye(d: ImageDraw.ImageDraw) -> None:
    d.ellipse((24, 68, 232, 188), outline=BLUE, width=W)
    d.ellipse((88, 88, 168, 168), fill=BLUE)


def tooth(d: ImageDraw.ImageDraw) -> None:
    d.rounded_rectangle((48, 40, 208, 140), radius=50, fill=BLUE)
    d.polygon([(56, 110), (120, 120), (96, 226), (72, 226)], fill=BLUE)
    d.polygon([(200, 110), (136, 120), (160, 226), (184, 226)], fill=BLUE)


def ent(d: ImageDraw.ImageDraw) -> None:  # ear
    d.arc((56, 24, 200, 200), start=180, end=80, fill=BLUE, width=W + 6)
    d.line((176, 182, 120, 236), fill=BLUE, width=W + 6)
    d.arc((100, 70, 160, 140), start=180, end=60, fill=BLUE, width=W)


SHAPES = {"clinic": clinic, "internal": internal, "surgery": surgery, "child": child,
          "eye": eye, "tooth": tooth, "ent": ent}


def main() -> None:
    out = ROOT / "assets" / "images" / "icons"
    out.mkdir(parents=True, exist_ok=True)
    for name, draw in SHAPES.items():
        img, d = canvas()
        layer = draw(d)
        if layer is not None:
            img.alpha_composite(layer)
        img.save(out / f"{name}.png", optimize=True)
    print(f"{len(SHAPES)} icons written to {out}")


if __name__ == "__main__":
    main()
