"""The attract screen's picture: a CCCD card laid on the card reader.

Drawn with canvas instructions (no artwork file, no person's data): a dark reader
pad seen from above with the contactless mark, and a card, QR side up (what the camera
over the reader reads, decision 0141), coming down onto it. The two card generations
take turns, laid out as Circulars 06/2021/TT-BCA and 16/2024/TT-BCA describe them:

* the 2021 chip CCCD's front: emblem top left, photo below it, the title, the chip
  symbol and the QR (top right) in the right-hand column, the number in red;
* the 2024 Căn cước's back: residence lines at the top, the chip (a gold contact
  pad) at the left, the 18 mm QR at the right, the dates, three MRZ lines at the foot.

Card art is built once in card units (0.1 mm: an ID-1 card is 856 × 540) and only
moved and scaled when the widget resizes or the animation runs.
"""

from __future__ import annotations

import math
import random
from typing import Any

from kivy.animation import Animation
from kivy.core.text import Label as CoreLabel
from kivy.graphics import (
    Color,
    Ellipse,
    InstructionGroup,
    Line,
    Mesh,
    PopMatrix,
    PushMatrix,
    Rectangle,
    RoundedRectangle,
    Scale,
    Translate,
)
from kivy.graphics.texture import Texture
from kivy.properties import NumericProperty
from kivy.uix.widget import Widget

from kiosk.ui.context import Ctx
from kiosk.ui.theme import hex_rgba

CARD_W, CARD_H = 856, 540  # ID-1, in 0.1 mm
GOLD, GOLD_LINE = "#D9B24C", "#8C6A1C"
RED, NAVY, GREY = "#C8102E", "#2F3E7A", "#7C8A96"
MODULES = 25  # a version-2 QR's size; the pattern is invented, it encodes nothing


def _qr_texture(seed: int) -> Texture:
    """A QR-looking square: three finder patterns and invented modules."""
    rng = random.Random(seed)
    dark = [[rng.random() < 0.5 for _ in range(MODULES)] for _ in range(MODULES)]
    for fx, fy in ((0, 0), (MODULES - 7, 0), (0, MODULES - 7)):
        for y in range(-1, 8):
            for x in range(-1, 8):
                if 0 <= fx + x < MODULES and 0 <= fy + y < MODULES:
                    ring = max(abs(x - 3), abs(y - 3))
                    dark[fy + y][fx + x] = ring in (0, 1, 3)
    pixels = bytearray()
    for row in reversed(dark):  # textures start at the bottom row
        for cell in row:
            pixels += b"\x10\x10\x10\xff" if cell else b"\xff\xff\xff\xff"
    texture = Texture.create(size=(MODULES, MODULES), colorfmt="rgba")
    texture.blit_buffer(bytes(pixels), colorfmt="rgba", bufferfmt="ubyte")
    texture.mag_filter = texture.min_filter = "nearest"
    return texture


def _text(group: InstructionGroup, text: str, x: float, y: float, size: float,
          color: str) -> None:
    label = CoreLabel(text=text, font_size=size, bold=True)
    label.refresh()
    texture = label.texture
    group.add(Color(*hex_rgba(color)))
    group.add(Rectangle(texture=texture, pos=(x, y), size=texture.size))


def _bars(group: InstructionGroup, x: float, ys: list[float], widths: list[float],
          color: str, height: float = 16) -> None:
    """Printed lines (no words: nothing here is anyone's data)."""
    group.add(Color(*hex_rgba(color)))
    for y, w in zip(ys, widths, strict=True):
        group.add(RoundedRectangle(pos=(x, y), size=(w, height), radius=[height / 2]))


def _chip(group: InstructionGroup, x: float, y: float, w: float, h: float) -> None:
    """An ISO 7816 contact pad: gold, six contacts around a centre plate."""
    group.add(Color(*hex_rgba(GOLD)))
    group.add(RoundedRectangle(pos=(x, y), size=(w, h), radius=[w * 0.12]))
    group.add(Color(*hex_rgba(GOLD_LINE)))
    lw = max(2.0, w * 0.025)
    group.add(Line(points=[x, y + h / 3, x + w * 0.32, y + h / 3], width=lw))
    group.add(Line(points=[x, y + 2 * h / 3, x + w * 0.32, y + 2 * h / 3], width=lw))
    group.add(Line(points=[x + w * 0.68, y + h / 3, x + w, y + h / 3], width=lw))
    group.add(Line(points=[x + w * 0.68, y + 2 * h / 3, x + w, y + 2 * h / 3], width=lw))
    group.add(Line(rounded_rectangle=(x + w * 0.32, y + h * 0.18, w * 0.36, h * 0.64, w * 0.06),
                   width=lw))


def _emblem(group: InstructionGroup, cx: float, cy: float, r: float) -> None:
    """A red disc in a gold ring with a gold star (the state emblem, simplified)."""
    group.add(Color(*hex_rgba("#E0B43A")))
    group.add(Ellipse(pos=(cx - r, cy - r), size=(2 * r, 2 * r)))
    group.add(Color(*hex_rgba(RED)))
    inner = r * 0.8
    group.add(Ellipse(pos=(cx - inner, cy - inner), size=(2 * inner, 2 * inner)))
    group.add(Color(*hex_rgba("#F6D34A")))
    points = []
    for i in range(11):
        radius = inner * (0.78 if i % 2 == 0 else 0.3)
        angle = math.pi / 2 + i * math.pi / 5
        points += [cx + radius * math.cos(angle), cy + radius * math.sin(angle), 0, 0]
    group.add(Mesh(vertices=[cx, cy, 0, 0, *points], indices=list(range(12)),
                   mode="triangle_fan"))


def _background(group: InstructionGroup, base: str, band: str) -> None:
    group.add(Color(*hex_rgba(base)))
    group.add(RoundedRectangle(pos=(0, 0), size=(CARD_W, CARD_H), radius=[32]))
    group.add(Color(*hex_rgba(band)))  # the blue-to-yellow-to-blue print, simplified
    group.add(RoundedRectangle(pos=(0, CARD_H * 0.3), size=(CARD_W, CARD_H * 0.38),
                               radius=[0]))
    group.add(Color(*hex_rgba("#7FA6B8")))
    group.add(Line(rounded_rectangle=(0, 0, CARD_W, CARD_H, 32), width=3))


def card_2021_front() -> InstructionGroup:
    g = InstructionGroup()
    _background(g, "#CFE4EC", "#E8EDCD")
    _emblem(g, 100, 450, 62)
    _bars(g, 215, [492, 466], [440, 300], NAVY, 12)  # the state's name and motto
    _text(g, "CĂN CƯỚC CÔNG DÂN", 215, 392, 33, RED)
    _chip(g, 262, 300, 64, 52)  # the chip symbol printed on the front
    g.add(Color(1, 1, 1, 1))
    g.add(Rectangle(pos=(660, 300), size=(170, 170), texture=_qr_texture(2021)))
    # photo, 20 × 30 mm, below the emblem: a plain silhouette
    g.add(Color(*hex_rgba("#E9EDF0")))
    g.add(Rectangle(pos=(40, 60), size=(200, 300)))
    g.add(Color(*hex_rgba("#9AA7B3")))
    g.add(Ellipse(pos=(92, 200), size=(96, 110)))
    g.add(RoundedRectangle(pos=(60, 60), size=(160, 130), radius=[60, 60, 0, 0]))
    _bars(g, 320, [250], [330], RED, 30)  # the 12-digit number, in red
    _bars(g, 320, [200, 160, 120, 80], [380, 260, 300, 420], GREY)
    return g


def card_2024_back() -> InstructionGroup:
    g = InstructionGroup()
    _background(g, "#D3E8E2", "#EEF0CF")
    _bars(g, 40, [480, 452, 410], [600, 460, 520], GREY)  # residence, birth registration
    _chip(g, 60, 235, 118, 100)  # the chip, on the back since 2021
    g.add(Color(1, 1, 1, 1))
    g.add(Rectangle(pos=(646, 196), size=(180, 180), texture=_qr_texture(2024)))  # 18 mm
    _bars(g, 230, [330, 292], [300, 260], GREY)  # dates of issue and expiry
    _text(g, "BỘ CÔNG AN", 230, 215, 34, NAVY)
    rng = random.Random(3)
    g.add(Color(*hex_rgba("#2B2B2B")))
    for line in range(3):  # the machine-readable zone: 3 lines of 30 characters
        for i in range(30):
            h = 26 if rng.random() < 0.75 else 10
            g.add(Rectangle(pos=(42 + i * 26.5, 120 - line * 42), size=(17, h)))
    return g


class CardPicture(Widget):
    """A card coming down onto the reader, then lying on it while the reader's mark
    lights up; the 2021 and 2024 cards take turns (still pictures show it lying)."""

    phase = NumericProperty(1.0)  # 0: held above the reader, 1: lying on it

    def __init__(self, ctx: Ctx, **kw: Any) -> None:
        super().__init__(**kw)
        self.ctx = ctx
        self.cards = [card_2021_front(), card_2024_back()]
        self.showing = 0
        with self.canvas:
            Color(*hex_rgba("#2B3440"))
            self._reader = RoundedRectangle()
            Color(*hex_rgba("#3B4756"))
            self._face = RoundedRectangle()
            self._mark_color = Color(1, 1, 1, 0.35)
            self._arcs = [Line(width=ctx.px(5), cap="round") for _ in range(3)]
            self._led_color = Color(*hex_rgba("#6C7A89"))
            self._led = Ellipse()
            Color(0, 0, 0, 0.28)
            self._shadow = RoundedRectangle()
            PushMatrix()
            self._move = Translate()
            self._scale = Scale(1, 1, 1)
            self._art = InstructionGroup()
            PopMatrix()
        self._art.add(self.cards[0])
        self.bind(pos=self._draw, size=self._draw, phase=self._draw)
        self._anim: Animation | None = None
        self._draw()

    def _draw(self, *_: Any) -> None:
        h = self.height
        card_h = h * 0.74
        card_w = card_h * CARD_W / CARD_H
        reader_w, reader_h = card_w * 1.62, h * 0.94
        rx, ry = self.center_x - reader_w / 2, self.y + h * 0.03
        radius = [reader_h * 0.12]
        self._reader.pos, self._reader.size, self._reader.radius = (rx, ry), (
            reader_w, reader_h), radius
        inset = reader_h * 0.05
        self._face.pos, self._face.size = (rx + inset, ry + inset), (
            reader_w - 2 * inset, reader_h - 2 * inset)
        self._face.radius = [reader_h * 0.09]
        # the card's place: the left part of the pad; the contactless mark on the right
        home_x = rx + inset * 2.2
        home_y = ry + (reader_h - card_h) / 2
        lift = 1 - self.phase
        grow = 1 + 0.14 * lift
        x = home_x - card_w * (grow - 1) / 2 + lift * card_w * 0.1
        y = home_y - card_h * (grow - 1) / 2 + lift * h * 0.22
        drop = self.ctx.px(6) + lift * h * 0.16
        self._shadow.pos = (home_x + drop * 0.4, home_y - drop * 0.6)
        self._shadow.size = (card_w, card_h)
        self._shadow.radius = [card_h * 0.06]
        self._move.xy = (x, y)
        scale = card_w * grow / CARD_W
        self._scale.x = self._scale.y = scale
        mx = rx + reader_w - (reader_w - card_w - 3 * inset) / 2 - inset
        my = ry + reader_h / 2
        for i, arc in enumerate(self._arcs):
            r = reader_h * (0.1 + 0.09 * i)
            arc.circle = (mx - reader_h * 0.12, my, r, 45, 135)
        lit = self.phase > 0.95
        self._mark_color.rgba = (1, 1, 1, 0.9 if lit else 0.35)
        self._led_color.rgba = hex_rgba("#3DDC84" if lit else "#6C7A89")
        d = reader_h * 0.07
        self._led.pos, self._led.size = (mx - d / 2 - reader_h * 0.12,
                                         ry + reader_h * 0.14), (d, d)

    def _turn(self, *_: Any) -> None:
        """The next card generation, while the card is up (out of the reader's reach)."""
        self._art.remove(self.cards[self.showing])
        self.showing = 1 - self.showing
        self._art.add(self.cards[self.showing])

    def start(self) -> None:
        if not self.ctx.animations:
            self.phase = 1.0
            return
        if self._anim is None:
            self.phase = 0.0
            down = Animation(phase=1.0, duration=1.2, t="out_cubic")
            rest = Animation(phase=1.0, duration=1.6)
            up = Animation(phase=0.0, duration=0.8, t="in_quad")
            up.bind(on_complete=self._turn)
            self._anim = down + rest + up
            self._anim.repeat = True
            self._anim.start(self)

    def stop(self) -> None:
        if self._anim is not None:
            self._anim.cancel(self)
            self._anim = None
        self.phase = 1.0
