"""Large, high-contrast widgets for elderly patients (single taps only).

Every widget takes its sizes from the theme through `Ctx.px` and its colours
from the palette, so the rules checked on the theme are the rules drawn.
Touchable widgets carry a `kid` (kiosk id) the scenario player and the tests
find them by.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kivy.animation import Animation
from kivy.graphics import Color, Line, Rectangle, RoundedRectangle
from kivy.properties import NumericProperty
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.gridlayout import GridLayout
from kivy.uix.image import Image
from kivy.uix.label import Label
from kivy.uix.widget import Widget

from kiosk.ui.context import Ctx
from kiosk.ui.theme import hex_rgba


def paint(widget: Widget, color: str, radius: float = 0) -> None:
    """Fill the widget's rectangle with `color`, following its position and size."""
    with widget.canvas.before:
        Color(*hex_rgba(color))
        shape = (RoundedRectangle(radius=[radius]) if radius else Rectangle())

    def follow(*_: Any) -> None:
        shape.pos = widget.pos
        shape.size = widget.size

    widget.bind(pos=follow, size=follow)
    follow()


class Text(Label):
    """Wrapping text whose height follows its content (role sets the size)."""

    def __init__(self, ctx: Ctx, role: str = "body", color: str | None = None,
                 bold: bool = False, halign: str = "left", **kw: Any) -> None:
        size = getattr(ctx.theme.sizes, role)
        super().__init__(
            font_size=ctx.px(size), color=hex_rgba(color or ctx.theme.palette.text),
            bold=bold, halign=halign, valign="middle", size_hint_y=None, **kw,
        )
        self.role = role
        self.bind(width=self._wrap, texture_size=self._grow, text=self._grow)
        self._wrap()
        self._grow()

    def _wrap(self, *_: Any) -> None:
        self.text_size = (self.width, None)

    def _grow(self, *_: Any) -> None:
        # An empty line takes no room (hidden details leave no gap).
        self.height = self.texture_size[1] if self.text else 0


class Panel(BoxLayout):
    """A coloured message panel (ok / warn / bad / info) with padding."""

    def __init__(self, ctx: Ctx, kind: str = "info", **kw: Any) -> None:
        pad = ctx.px(ctx.theme.sizes.spacing)
        super().__init__(orientation="vertical", padding=pad, spacing=pad // 2,
                         size_hint_y=None, **kw)
        p = ctx.theme.palette
        bg, fg = {"ok": (p.ok_bg, p.ok_text), "warn": (p.warn_bg, p.warn_text),
                  "bad": (p.bad_bg, p.bad_text), "info": (p.info_bg, p.info_text)}[kind]
        paint(self, bg, radius=ctx.px(18))
        self.fg = fg
        self.bind(minimum_height=self._follow)

    def _follow(self, *_: object) -> None:
        self.height = self.minimum_height


class BigButton(ButtonBehavior, Label):
    """A large rounded button; fires on release inside it (a single tap)."""

    def __init__(self, ctx: Ctx, kid: str, style: str = "primary",
                 on_tap: Callable[[], None] | None = None, **kw: Any) -> None:
        s = ctx.theme.sizes
        p = ctx.theme.palette
        bg, fg = {"primary": (p.primary, p.primary_text),
                  "secondary": (p.secondary, p.secondary_text),
                  "danger": (p.danger, p.danger_text)}[style]
        kw.setdefault("size_hint_y", None)
        kw.setdefault("height", ctx.px(s.button_height))
        super().__init__(font_size=ctx.px(s.button_text), color=hex_rgba(fg), bold=True,
                         halign="center", valign="middle", **kw)
        self.kid = kid
        self.style = style
        self._on_tap = on_tap
        self._pad = ctx.px(24)
        self.bind(size=self._wrap)
        with self.canvas.before:
            self._bg_color = Color(*hex_rgba(bg))
            self._bg = RoundedRectangle(radius=[ctx.px(22)])
        self._colors = (hex_rgba(bg), _darker(hex_rgba(bg)))
        self.bind(pos=self._draw, size=self._draw, state=self._pressed)
        self._wrap()
        self._draw()

    def _wrap(self, *_: Any) -> None:
        self.text_size = (max(1, self.width - 2 * self._pad), None)

    def _draw(self, *_: Any) -> None:
        self._bg.pos = self.pos
        self._bg.size = self.size

    def _pressed(self, *_: Any) -> None:
        self._bg_color.rgba = self._colors[1 if self.state == "down" else 0]

    def on_release(self) -> None:
        if self._on_tap is not None:
            self._on_tap()


def _bind(fn: Callable[[str], None], value: str) -> Callable[[], None]:
    return lambda: fn(value)


def _darker(rgba: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
    r, g, b, a = rgba
    return (r * 0.8, g * 0.8, b * 0.8, a)


class Tile(ButtonBehavior, BoxLayout):
    """A service tile: icon, name and room; greyed (still readable) when closed."""

    def __init__(self, ctx: Ctx, kid: str, on_tap: Callable[[], None], **kw: Any) -> None:
        s = ctx.theme.sizes
        pad = ctx.px(20)
        super().__init__(orientation="vertical", padding=pad, spacing=ctx.px(8),
                         size_hint_y=None, height=ctx.px(s.tile_height), **kw)
        self.kid = kid
        self.ctx = ctx
        self._on_tap = on_tap
        p = ctx.theme.palette
        with self.canvas.before:
            self._fill = Color(*hex_rgba(p.tile))
            self._bg = RoundedRectangle(radius=[ctx.px(22)])
            self._edge_color = Color(*hex_rgba(p.tile_border))
            self._edge = Line(width=ctx.px(4))
        self.bind(pos=self._draw, size=self._draw)
        self.icon = Image(size_hint_y=None, height=ctx.px(s.icon), fit_mode="contain")
        self.title = Text(ctx, "subheading", bold=True, halign="center")
        self.room = Text(ctx, "small", halign="center")
        for w in (self.icon, self.title, self.room):
            self.add_widget(w)
        self._draw()

    def _draw(self, *_: Any) -> None:
        self._bg.pos = self.pos
        self._bg.size = self.size
        r = self.ctx.px(22)
        self._edge.rounded_rectangle = (self.x, self.y, self.width, self.height, r)

    def set_open(self, is_open: bool) -> None:
        p = self.ctx.theme.palette
        self._fill.rgba = hex_rgba(p.tile if is_open else p.tile_closed)
        self._edge_color.rgba = hex_rgba(p.tile_border if is_open else p.tile_closed)
        text = hex_rgba(p.tile_text if is_open else p.tile_closed_text)
        self.title.color = text
        self.room.color = text

    def on_release(self) -> None:
        self._on_tap()


class Keypad(GridLayout):
    """Digits 0–9, delete and done, each a large key; the typed number is shown above."""

    def __init__(self, ctx: Ctx, on_digit: Callable[[str], None], on_delete: Callable[[], None],
                 on_done: Callable[[], None]) -> None:
        k = ctx.px(ctx.theme.sizes.key)
        gap = ctx.px(16)
        super().__init__(cols=3, spacing=gap, size_hint=(None, None),
                         width=3 * int(k * 1.5) + 2 * gap, height=4 * k + 3 * gap)
        self.keys: dict[str, BigButton] = {}
        for label in "123456789":
            self._key(ctx, label, label, _bind(on_digit, label), "secondary")
        self._key(ctx, "delete", "", on_delete, "secondary")
        self._key(ctx, "0", "0", lambda: on_digit("0"), "secondary")
        self._key(ctx, "ok", "", on_done, "primary")

    def _key(self, ctx: Ctx, name: str, text: str, tap: Callable[[], None], style: str) -> None:
        button = BigButton(ctx, f"keypad.{name}", style, on_tap=tap, text=text,
                           height=ctx.px(ctx.theme.sizes.key))
        if name.isdigit():
            button.font_size = ctx.px(ctx.theme.sizes.heading)
        self.keys[name] = button
        self.add_widget(button)


class Spinner(Widget):
    """A rotating arc: the kiosk is working (never a frozen screen)."""

    angle = NumericProperty(0)

    def __init__(self, ctx: Ctx, **kw: Any) -> None:
        size = ctx.px(150)
        super().__init__(size_hint=(None, None), size=(size, size), **kw)
        self.animate = ctx.animations
        with self.canvas:
            Color(*hex_rgba(ctx.theme.palette.primary))
            self._arc = Line(width=ctx.px(10), cap="round")
        self.bind(pos=self._draw, size=self._draw, angle=self._draw)
        self._anim: Animation | None = None
        self._draw()

    def _draw(self, *_: Any) -> None:
        r = min(self.width, self.height) / 2 - 8
        self._arc.circle = (self.center_x, self.center_y, r, self.angle, self.angle + 270)

    def start(self) -> None:
        if not self.animate or self._anim is not None:
            return
        self._anim = Animation(angle=360, duration=1.2)
        self._anim.repeat = True
        self._anim.bind(on_progress=lambda *_: None)
        self._anim.start(self)

    def stop(self) -> None:
        if self._anim is not None:
            self._anim.cancel(self)
            self._anim = None
        self.angle = 0


def walk(widget: Widget) -> list[Widget]:
    """The widget and all its descendants."""
    out = [widget]
    for child in widget.children:
        out.extend(walk(child))
    return out


class CanPicture(BoxLayout):
    """Where the 6 digits are: both card generations (the 2021 chip CCCD and the 2024
    Căn cước) drawn side by side, the ID number under the heading on the front with
    its last six digits (the chip's CAN) marked."""

    EXAMPLE = ("001 094", "012 345")  # an invented number: only the position matters

    def __init__(self, ctx: Ctx, **kw: Any) -> None:
        super().__init__(orientation="horizontal", spacing=ctx.px(24), size_hint_y=None,
                         height=ctx.px(210), **kw)
        self.ctx = ctx
        self.captions: list[Text] = []
        self.labels: list[Text] = []
        for _ in range(2):
            card = BoxLayout(orientation="vertical", padding=ctx.px(14), spacing=ctx.px(6))
            paint(card, ctx.theme.palette.tile, radius=ctx.px(14))
            caption = Text(ctx, "small", bold=True)
            row = BoxLayout(orientation="horizontal", spacing=ctx.px(14))
            photo = Widget(size_hint_x=None, width=ctx.px(80))
            paint(photo, ctx.theme.palette.secondary, radius=ctx.px(6))
            lines = BoxLayout(orientation="vertical", spacing=ctx.px(4))
            label = Text(ctx, "small", color=ctx.theme.palette.muted)
            digits = BoxLayout(orientation="horizontal", spacing=ctx.px(10), size_hint_y=None,
                               height=ctx.px(52))
            first = Text(ctx, "small", bold=True, text=self.EXAMPLE[0], size_hint_x=0.45)
            last = Text(ctx, "small", bold=True, halign="center", text=self.EXAMPLE[1],
                        color=ctx.theme.palette.warn_text, size_hint_x=0.55)
            last.kid = "can.marked"
            paint(last, "#FFD54A", radius=ctx.px(8))
            digits.add_widget(first)
            digits.add_widget(last)
            lines.add_widget(label)
            lines.add_widget(digits)
            lines.add_widget(Widget())
            row.add_widget(photo)
            row.add_widget(lines)
            card.add_widget(caption)
            card.add_widget(row)
            self.add_widget(card)
            self.captions.append(caption)
            self.labels.append(label)

    def render(self) -> None:
        t = self.ctx.t
        self.captions[0].text = t("can.card_2021")
        self.captions[1].text = t("can.card_2024")
        self.labels[0].text = t("can.number_2021")
        self.labels[1].text = t("can.number_2024")
