#!/usr/bin/env python3
"""Draw the health-book guide's pictures and record its spoken prompts.

Reads assets/health_book/guide.toml and writes
* assets/images/health_book/<picture>.png: simple, high-contrast drawings
  (a phone showing the VNeID menu item to tap, cards, badges), 360×360, and
  <picture>.en.png, the same drawing with English words, for every picture
  whose words are translatable (captions, badges, labels; the VNeID menu
  names on the phone stay Vietnamese: the app is Vietnamese);
* assets/sounds/health_book/<lang>/<node>.wav: each screen's `speak` text
  through espeak-ng + sox (8 kHz mono: plenty for formant speech, and the
  numbered steps add up), plus `<node>_<n>.wav` for each numbered step.
Both are committed, so kiosks need neither espeak-ng nor this script; run it
after editing the guide (`--images` or `--sounds` to do one half). A hospital
may also replace any PNG with its own artwork of the same name (and its
`.en.png` too, or delete that: the screen then shows the one picture in
both languages).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kiosk.journey.health_book_content import (  # noqa: E402
    LANGS,
    Content,
    Text,
    load,
    picture_variant,
)

SIZE = 360
FONT = ROOT / "assets" / "fonts" / "DejaVuSans.ttf"
BOLD = ROOT / "assets" / "fonts" / "DejaVuSans-Bold.ttf"
INK, BLUE, RED, GREEN, AMBER, GREY, WHITE = (
    "#1a1a1a", "#0b5cad", "#c62828", "#2e7d32", "#e0a000", "#9e9e9e", "#ffffff")
VOICES = {"vi": ("vi", "135"), "en": ("en-gb", "140")}
POLICE_SIGN = Text("CÔNG AN", "POLICE")


def font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(BOLD if bold else FONT), size)


def wrap(draw: ImageDraw.ImageDraw, text: str, f: ImageFont.FreeTypeFont, width: int) -> list[str]:
    lines: list[str] = []
    for word in text.split():
        if lines and draw.textlength(f"{lines[-1]} {word}", font=f) <= width:
            lines[-1] += f" {word}"
        else:
            lines.append(word)
    return lines


def centered(draw: ImageDraw.ImageDraw, text: str, y: int, f: ImageFont.FreeTypeFont,
             fill: str = INK, width: int = SIZE - 40) -> int:
    for line in wrap(draw, text, f, width):
        w = draw.textlength(line, font=f)
        draw.text(((SIZE - w) / 2, y), line, font=f, fill=fill)
        y += int(f.size * 1.25)
    return y


def phone(draw: ImageDraw.ImageDraw) -> tuple[int, int, int, int]:
    """A phone outline; returns its screen box."""
    draw.rounded_rectangle((95, 12, 265, 348), radius=22, outline=INK, width=6, fill=WHITE)
    draw.rounded_rectangle((160, 24, 200, 30), radius=3, fill=INK)
    draw.ellipse((170, 326, 190, 342), outline=INK, width=3)
    return (108, 40, 252, 318)


def menu_screen(draw: ImageDraw.ImageDraw, names: tuple[str, ...], header: str = "VNeID") -> None:
    x0, y0, x1, _ = phone(draw)
    draw.rectangle((x0, y0, x1, y0 + 34), fill=RED)
    draw.text((x0 + 8, y0 + 6), header, font=font(18, True), fill=WHITE)
    y = y0 + 46
    fillers = ["·····", "·······", "····"]
    items = list(names) or ["VNeID"]
    rows = [(fillers[0], False)] + [(n, True) for n in items] + [(fillers[1], False)]
    f = font(15, True)
    for text, target in rows:
        lines = wrap(draw, text, f, x1 - x0 - 16)[:3]
        h = 10 + 19 * len(lines)
        if target:
            draw.rounded_rectangle((x0 + 4, y, x1 - 4, y + h), radius=8, fill="#fff3c4",
                                   outline=AMBER, width=4)
        for i, line in enumerate(lines):
            draw.text((x0 + 10, y + 5 + 19 * i), line, font=f, fill=INK if target else GREY)
        y += h + 8
        if y > 290:
            break
    # A tapping finger: a circle with rings on the (last) target.
    draw.ellipse((262, 200, 318, 256), fill="#f1c7a5", outline=INK, width=3)
    draw.arc((250, 188, 330, 268), 200, 340, fill=AMBER, width=4)


def card(draw: ImageDraw.ImageDraw, label: str, color: str) -> None:
    draw.rounded_rectangle((40, 100, 320, 270), radius=16, fill=color, outline=INK, width=4)
    draw.rectangle((40, 140, 320, 160), fill=WHITE)
    centered(draw, label, 185, font(40, True), WHITE)


def badge(draw: ImageDraw.ImageDraw, text: str, color: str, mark: str) -> None:
    draw.ellipse((105, 40, 255, 190), fill=color)
    centered(draw, mark, 68, font(80, True), WHITE)
    centered(draw, text, 215, font(30, True), color)


def symbol(draw: ImageDraw.ImageDraw, name: str, caption: str, lang: str) -> None:
    stem = name.removesuffix(".png")
    if stem == "answer_yes":
        badge(draw, "", GREEN, "✓")
    elif stem == "answer_no":
        badge(draw, "", GREY, "✗")
    elif stem == "answer_next":
        badge(draw, "", BLUE, "→")
    elif stem.startswith("status_"):
        kind = stem.removeprefix("status_")
        color, mark = {"verified": (GREEN, "✓"), "pending": (AMBER, "…"),
                       "failed": (RED, "!")}[kind]
        badge(draw, caption, color, mark)
    elif stem in ("bhyt_card", "integrate"):
        card(draw, "BHYT", BLUE)
    elif stem == "level2":
        draw.polygon([(180, 30), (300, 80), (280, 230), (180, 320), (80, 230), (60, 80)],
                     fill=BLUE, outline=INK)
        centered(draw, "2", 95, font(130, True), WHITE)
    elif stem == "police":
        draw.rectangle((60, 150, 300, 320), fill="#2f5d3a", outline=INK, width=4)
        draw.polygon([(40, 150), (180, 50), (320, 150)], fill=RED, outline=INK)
        centered(draw, POLICE_SIGN.get(lang), 200, font(34, True), "#ffd54f")
    elif stem in ("under_14", "parent"):
        draw.ellipse((70, 60, 150, 140), fill="#f1c7a5", outline=INK, width=3)
        draw.rounded_rectangle((60, 145, 160, 330), radius=30, fill=BLUE)
        draw.ellipse((215, 150, 275, 210), fill="#f1c7a5", outline=INK, width=3)
        draw.rounded_rectangle((205, 215, 285, 330), radius=24, fill=AMBER)
        if stem == "under_14":
            centered(draw, "< 14", 20, font(40, True), RED)
    elif stem == "no_smartphone":
        phone(draw)
        draw.line((70, 60, 290, 300), fill=RED, width=14)
    else:
        x0, y0, x1, _ = phone(draw)
        draw.rectangle((x0, y0, x1, y0 + 34), fill=RED)
        draw.text((x0 + 8, y0 + 6), "VNeID", font=font(18, True), fill=WHITE)
        y = y0 + 60
        for line in wrap(draw, caption, font(18, True), x1 - x0 - 16)[:7]:
            draw.text((x0 + 8, y), line, font=font(18, True), fill=INK)
            y += 24


def pictures(content: Content) -> dict[str, tuple[tuple[str, ...], Text]]:
    """Every picture the guide names -> (VNeID menu names on its phone, its caption)."""
    jobs: dict[str, tuple[tuple[str, ...], Text]] = {}
    for node in content.nodes.values():
        if node.picture:
            jobs.setdefault(node.picture, ((), node.title))
        for step in node.steps:
            if step.picture:
                jobs.setdefault(step.picture, (step.menu, step.text))
    for label in content.answers.values():
        if label.picture:
            jobs.setdefault(label.picture, ((), label.text))
    for node in content.nodes.values():
        for label in node.answers.values():
            if label.picture:
                jobs.setdefault(label.picture, ((), label.text))
    return jobs


def render(name: str, menu: tuple[str, ...], caption: Text, lang: str) -> Image.Image:
    image = Image.new("RGB", (SIZE, SIZE), WHITE)
    draw = ImageDraw.Draw(image)
    if menu:
        menu_screen(draw, menu)  # the app's own (Vietnamese) menu names, in any language
    else:
        symbol(draw, name, caption.get(lang), lang)
    return image


def draw_all(content: Content, out: Path) -> int:
    """Write each picture, plus a variant per other language where its words differ."""
    out.mkdir(parents=True, exist_ok=True)
    jobs = pictures(content)
    count = 0
    for name, (menu, caption) in sorted(jobs.items()):
        base = render(name, menu, caption, LANGS[0])
        base.quantize(colors=32).save(out / name, optimize=True)
        count += 1
        for lang in LANGS[1:]:
            image = render(name, menu, caption, lang)
            target = out / picture_variant(name, lang)
            if image.tobytes() == base.tobytes():
                target.unlink(missing_ok=True)  # no words to translate (any more)
                continue
            image.quantize(colors=32).save(target, optimize=True)
            count += 1
    return count


def record_all(content: Content, out: Path) -> int:
    for tool in ("espeak-ng", "sox"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is not installed (see debian-packages.txt)")
    count = 0
    for lang, (voice, speed) in VOICES.items():
        target = out / lang
        target.mkdir(parents=True, exist_ok=True)
        for node in content.nodes.values():
            record(voice, speed, node.speak.get(lang), target / f"{node.node.value}.wav")
            count += 1
            # Each numbered step is spoken too when the screen shows it.
            for i, step in enumerate(node.steps, 1):
                record(voice, speed, step.text.get(lang), target / f"{node.node.value}_{i}.wav")
                count += 1
    return count


def record(voice: str, speed: str, text: str, wav: Path) -> None:
    """`text` spoken by espeak-ng, as 8 kHz mono 16-bit normalised to -3 dB."""
    with tempfile.NamedTemporaryFile(suffix=".wav") as raw:
        subprocess.run(["espeak-ng", "-v", voice, "-s", speed, "-w", raw.name, text],
                       check=True)
        subprocess.run(["sox", raw.name, "-r", "8000", "-c", "1", "-b", "16", str(wav),
                        "norm", "-3"], check=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", action="store_true")
    parser.add_argument("--sounds", action="store_true")
    args = parser.parse_args()
    both = not (args.images or args.sounds)
    content = load(ROOT / "assets" / "health_book" / "guide.toml")
    if args.images or both:
        n = draw_all(content, ROOT / "assets" / "images" / "health_book")
        print(f"{n} pictures under assets/images/health_book/")
    if args.sounds or both:
        n = record_all(content, ROOT / "assets" / "sounds" / "health_book")
        print(f"{n} prompts under assets/sounds/health_book/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
