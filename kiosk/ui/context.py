"""What every screen and widget is built with: theme, strings, scale and a way to
send the journey an event. Screens never call ports or devices directly."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from kiosk.journey import events as ev
from kiosk.ui.i18n import Strings
from kiosk.ui.theme import THEME, Theme


@dataclass
class Ctx:
    strings: Strings
    send: Callable[[ev.Event], None]
    scale: float = 1.0
    theme: Theme = field(default_factory=lambda: THEME)
    animations: bool = True
    lang: str = "vi"
    images_dir: Path | None = None
    timezone: str = "Asia/Ho_Chi_Minh"  # the facility's: times shown as its clocks say
    send_many: Callable[[list[ev.Event]], None] | None = None
    # A screen changed what it shows without a journey step (the guide's next page):
    # the app makes the next touches wait for the new view, as after a step.
    view_changed: Callable[[], None] | None = None
    # The camera's small live view, (width, height, RGB bytes), for the face check's
    # screen (None: no camera). In memory only.
    preview: Callable[[], tuple[int, int, bytes] | None] | None = None

    def px(self, design: float) -> int:
        return max(1, round(design * self.scale))

    def t(self, key: str, **values: object) -> str:
        return self.strings.get(key, self.lang, **values)
