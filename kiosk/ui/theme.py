"""Colours, sizes and the accessibility rules they must meet (no Kivy here).

Sizes are design pixels on a 1080-pixel short side; `Theme.px` scales them to
the real window so a 1080p panel shows them 1:1 and a 720p panel in
proportion. Every text/background pair the widgets use is listed in
`Theme.pairs`, so the contrast rule is checked on exactly what is drawn.
"""

from __future__ import annotations

from dataclasses import dataclass, field

RGBA = tuple[float, float, float, float]
WCAG_AA = 4.5  # normal-size text; we hold large text to the same bar
REFERENCE_SHORT_SIDE = 1080
MM_PER_INCH = 25.4


def hex_rgba(value: str, alpha: float = 1.0) -> RGBA:
    value = value.lstrip("#")
    r, g, b = (int(value[i:i + 2], 16) / 255 for i in (0, 2, 4))
    return (r, g, b, alpha)


def relative_luminance(color: str) -> float:
    """WCAG 2.x relative luminance of an sRGB colour."""
    def channel(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b, _ = hex_rgba(color)
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast_ratio(fg: str, bg: str) -> float:
    a, b = relative_luminance(fg), relative_luminance(bg)
    hi, lo = max(a, b), min(a, b)
    return (hi + 0.05) / (lo + 0.05)


@dataclass(frozen=True)
class Palette:
    background: str = "#F7F5F0"  # warm off-white: less glare than pure white
    text: str = "#1B1B1B"
    muted: str = "#3D3D3D"
    bar: str = "#0A4A8F"  # top bar
    bar_text: str = "#FFFFFF"
    primary: str = "#0A4A8F"
    primary_text: str = "#FFFFFF"
    secondary: str = "#DCE3EB"
    secondary_text: str = "#1B1B1B"
    danger: str = "#A8201A"
    danger_text: str = "#FFFFFF"
    tile: str = "#FFFFFF"
    tile_text: str = "#1B1B1B"
    tile_border: str = "#0A4A8F"
    tile_closed: str = "#E6E6E6"
    tile_closed_text: str = "#454545"
    ok_bg: str = "#E2F0E3"
    ok_text: str = "#14531A"
    warn_bg: str = "#FFF0C7"
    warn_text: str = "#573800"
    bad_bg: str = "#FBE3E1"
    bad_text: str = "#7D1712"
    info_bg: str = "#E3EDF8"
    info_text: str = "#0A2E57"
    ticket_number: str = "#0A4A8F"
    overlay_card: str = "#FFFFFF"
    blank: str = "#000000"
    blank_text: str = "#8A8A8A"


@dataclass(frozen=True)
class Sizes:
    """Design pixels at a 1080-pixel short side."""

    huge: int = 190  # the queue number on the ticket
    heading: int = 60
    subheading: int = 44
    body: int = 36
    small: int = 32  # nothing a patient must read is smaller
    button_text: int = 40
    button_height: int = 140
    button_min_width: int = 300
    tile_height: int = 250
    key: int = 132  # keypad keys (square)
    bar_height: int = 112
    margin: int = 48
    spacing: int = 28
    photo: int = 360
    icon: int = 90


@dataclass(frozen=True)
class Theme:
    palette: Palette = field(default_factory=Palette)
    sizes: Sizes = field(default_factory=Sizes)
    font: str = "DejaVuSans.ttf"
    font_bold: str = "DejaVuSans-Bold.ttf"
    min_target_mm: float = 12.0
    # The densest panel a kiosk plausibly uses at 1080p (13.3" = 166 dpi): the
    # one where a pixel is smallest, so the worst case for the 12 mm rule.
    max_dpi: float = 166.0

    def scale(self, width: float, height: float) -> float:
        return min(width, height) / REFERENCE_SHORT_SIDE

    def pairs(self) -> dict[str, tuple[str, str]]:
        """Every (text colour, background) combination the widgets draw."""
        p = self.palette
        return {
            "body": (p.text, p.background),
            "muted": (p.muted, p.background),
            "bar": (p.bar_text, p.bar),
            "primary_button": (p.primary_text, p.primary),
            "secondary_button": (p.secondary_text, p.secondary),
            "danger_button": (p.danger_text, p.danger),
            "tile": (p.tile_text, p.tile),
            "tile_closed": (p.tile_closed_text, p.tile_closed),
            "ok_panel": (p.ok_text, p.ok_bg),
            "warn_panel": (p.warn_text, p.warn_bg),
            "bad_panel": (p.bad_text, p.bad_bg),
            "info_panel": (p.info_text, p.info_bg),
            "ticket_number": (p.ticket_number, p.background),
            "overlay": (p.text, p.overlay_card),
            "blank": (p.blank_text, p.blank),
        }

    def target_mm(self, design_px: float, dpi: float | None = None) -> float:
        """Physical size of a design-pixel length on a 1080p panel at `dpi`."""
        return design_px / (dpi or self.max_dpi) * MM_PER_INCH

    def touch_targets(self) -> dict[str, int]:
        """Smallest side of each kind of touch target, in design pixels."""
        s = self.sizes
        return {"button": min(s.button_height, s.button_min_width), "tile": s.tile_height,
                "key": s.key, "bar_button": s.bar_height - 24}


THEME = Theme()
