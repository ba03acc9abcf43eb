"""Looking at the live widget tree: find touch targets, check text fits, grab frames.

Used by the scenario player (demo, tests, benchmark); nothing here changes
what the patient sees.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from kivy.core.window import Window
from kivy.input.motionevent import MotionEvent
from kivy.uix.label import Label
from kivy.uix.screenmanager import ScreenManager
from kivy.uix.widget import Widget


def visible(widget: Widget) -> Iterator[Widget]:
    """Widgets a patient can see (top-most first): only the current screen of a
    ScreenManager, nothing transparent."""
    if widget.opacity == 0:
        return
    children: list[Widget] = list(widget.children)
    if isinstance(widget, ScreenManager):
        current = widget.current_screen
        children = [current] if current is not None else []
    for child in children:  # children[0] is drawn last, i.e. on top
        yield from visible(child)
    yield widget


def find(root: Widget, kid: str) -> Widget | None:
    return next((w for w in visible(root) if getattr(w, "kid", None) == kid), None)


def texts(root: Widget) -> list[str]:
    return [w.text for w in visible(root) if isinstance(w, Label) and w.text]


def all_texts(root: Widget) -> list[str]:
    """Every label's text, visible or not (for the wipe check)."""
    out: list[str] = []

    def walk(w: Widget) -> None:
        if isinstance(w, Label) and w.text:
            out.append(w.text)
        children = list(w.children)
        if isinstance(w, ScreenManager):
            children = list(w.screens)
        for c in children:
            walk(c)

    walk(root)
    return out


def fit_problems(root: Widget, tolerance: float = 1.0) -> list[str]:
    """Labels whose text does not fit: wider or taller than the label, or the label
    sticking out of its parent or the window (clipped or overlapping)."""
    problems = []
    win_w, win_h = Window.size
    for w in visible(root):
        if not isinstance(w, Label) or not w.text.strip():
            continue
        tw, th = w.texture_size
        name = f"{type(w).__name__}({w.text[:40]!r})"
        if tw > w.width + tolerance or th > w.height + tolerance:
            problems.append(f"{name}: text {tw:.0f}x{th:.0f} in {w.width:.0f}x{w.height:.0f}")
            continue
        x, y = w.to_window(w.x, w.y)
        if x < -tolerance or y < -tolerance or x + w.width > win_w + tolerance or (
                y + w.height > win_h + tolerance):
            problems.append(f"{name}: outside the window at {x:.0f},{y:.0f}")
            continue
        parent = w.parent
        if (parent is not None and not isinstance(parent, ScreenManager) and parent.height > 0
                and (w.y < parent.y - tolerance or w.top > parent.top + tolerance)):
            problems.append(f"{name}: overflows its container")
    return problems


class Tap(MotionEvent):
    """A single finger touch through the window's normal input path."""

    def __init__(self, x: float, y: float) -> None:
        super().__init__("kiosk-scenario", 1, {"x": x, "y": y}, is_touch=True,
                         type_id="touch")
        self.profile = ["pos"]

    def depack(self, args: dict[str, float]) -> None:
        self.sx = args["x"] / max(1.0, Window.width - 1.0)
        self.sy = args["y"] / max(1.0, Window.height - 1.0)
        super().depack(args)


def tap(widget: Widget) -> None:
    tap_at(*widget.to_window(*widget.center))


def tap_at(x: float, y: float) -> None:
    """A finger down and up at window coordinates (x, y)."""
    from kivy.base import EventLoop

    touch = Tap(x, y)
    EventLoop.post_dispatch_input("begin", touch)
    EventLoop.post_dispatch_input("end", touch)


def grab_next_frame(path: Path, done: Callable[[Path], None] | None = None) -> None:
    """Save the next drawn frame (read before the buffer swap) as PNG."""
    from kivy.graphics.opengl import GL_RGB, GL_UNSIGNED_BYTE, glReadPixels
    from PIL import Image

    def on_flip(*_: Any) -> None:
        Window.unbind(on_flip=on_flip)
        w, h = Window.size
        data = glReadPixels(0, 0, w, h, GL_RGB, GL_UNSIGNED_BYTE)
        image = Image.frombytes("RGB", (w, h), data).transpose(Image.Transpose.FLIP_TOP_BOTTOM)
        path.parent.mkdir(parents=True, exist_ok=True)
        image.save(path, compress_level=1)
        if done is not None:
            done(path)

    Window.bind(on_flip=on_flip)
    Window.canvas.ask_update()
