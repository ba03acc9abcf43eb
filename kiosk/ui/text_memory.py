"""Text pixels only for what is on display.

Two costs of Kivy labels that a kiosk with a dozen prebuilt screens pays for
the whole day (measured with heaptrack over the demo day at 1080p, see
docs/decisions/0063):

* `LabelSDL2._render_end` keeps each label's last SDL surface (width x height
  x 4 bytes) after copying it into the texture: a second copy of every
  label's pixels, 32 MiB. `install()` lets the surface go once copied.
* Every label of every screen keeps its texture while the screen is off
  display: 20 MiB more under llvmpipe, and on a Raspberry Pi the GPU memory
  that runs out first. `OffDisplayTextures` releases the textures of the
  screens and overlays that are not attached to the window and renders them
  again when they are attached. Their layout (`texture_size`) is kept, so
  nothing moves.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from kivy.clock import Clock
from kivy.uix.label import Label
from kivy.uix.widget import Widget


def _render_end_and_free(self: Any) -> Any:
    data = self._surface.get_data()  # ImageData owns a copy of the pixels
    del self._surface
    return data


def install() -> None:
    """Patch the SDL2 text provider (idempotent; other providers are left alone)."""
    try:
        from kivy.core.text.text_sdl2 import LabelSDL2
    except ImportError:  # pragma: no cover - Kivy built without SDL2 text
        return
    LabelSDL2._render_end = _render_end_and_free


def release_textures(root: Widget) -> int:
    """Drop the text textures of the labels under `root`; returns how many."""
    released = 0
    for widget in root.walk(restrict=True):
        if isinstance(widget, Label) and (widget.texture is not None
                                          or widget._label.texture is not None):
            widget.texture = None
            widget._label.texture = None  # the core label would reuse it (even for '')
            released += 1
    return released


def restore_textures(root: Widget) -> None:
    for widget in root.walk(restrict=True):
        if isinstance(widget, Label) and widget.texture is None and widget.text:
            widget.texture_update()


class OffDisplayTextures:
    """Keeps text textures only for the given widgets while they have a parent.

    A widget gets its textures back the moment it is attached (a screen as its
    transition starts, an overlay when it opens) and loses them the moment it is
    detached (a screen when its transition out ends). Text set on a widget while
    it is detached (the wipe at the end of a session) renders on a later frame;
    a sweep `delay_s` after each change releases that too."""

    def __init__(self, widgets: Iterable[Widget], delay_s: float) -> None:
        self.widgets = list(widgets)
        self._sweep = Clock.create_trigger(lambda _dt: self.sweep(), delay_s)
        for widget in self.widgets:
            widget.bind(parent=self._parent_changed)

    def schedule_sweep(self) -> None:
        self._sweep()

    def _parent_changed(self, widget: Widget, parent: Widget | None) -> None:
        if parent is not None:
            restore_textures(widget)
            return
        release_textures(widget)
        # Its labels may lay out once more on the next frame: sweep a full delay later.
        self._sweep.cancel()
        self._sweep()

    def sweep(self) -> int:
        """Release the textures of every watched widget that is off display."""
        return sum(release_textures(w) for w in self.widgets if w.parent is None)
