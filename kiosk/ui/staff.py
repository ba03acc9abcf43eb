"""The staff screen behind the PIN: device status, outbox depth, last errors, restart."""

from __future__ import annotations

import collections
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kivy.graphics import Color, Rectangle
from kivy.graphics.texture import Texture
from kivy.uix.anchorlayout import AnchorLayout
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.floatlayout import FloatLayout
from kivy.uix.image import Image
from kivy.uix.widget import Widget

from kiosk.domain import staff_pin
from kiosk.ops.pin_attempts import PinAttempts
from kiosk.ui.context import Ctx
from kiosk.ui.devices import DeviceStatus
from kiosk.ui.theme import hex_rgba
from kiosk.ui.widgets import BigButton, Keypad, Text, paint

RESTART_EXIT_CODE = 75  # systemd restarts the unit (Restart=always)


@dataclass(frozen=True)
class StaffStatus:
    devices: list[DeviceStatus] = field(default_factory=list)
    outbox_depth: int | None = None
    errors: list[str] = field(default_factory=list)
    # Registrations the HIS has not confirmed (failed ones included) and when the oldest
    # is purged unsynced (retention.unsynced_days): staff must register them by hand.
    unsynced: int = 0
    unsynced_failed: int = 0
    unsynced_purge_at: str | None = None  # local time, as staff read it
    # Chip cards refused today (a failed check: a clone or forgery?); their holders were
    # sent to the desk with the card (decision 0110).
    chip_refused: int = 0
    # Today's face-check outcomes, counts only (issue 29): {"verified": 12, …}; empty
    # when the kiosk does not check faces.
    face_counts: dict[str, int] = field(default_factory=dict)


class RecentErrors(logging.Handler):
    """Keeps the last warnings and errors for the staff screen. Log messages are
    already free of personal data (IDs are masked where they are logged)."""

    def __init__(self, capacity: int = 12) -> None:
        super().__init__(logging.WARNING)
        self.lines: collections.deque[str] = collections.deque(maxlen=capacity)

    def emit(self, record: logging.LogRecord) -> None:
        stamp = time.strftime("%H:%M:%S", time.localtime(record.created))
        self.lines.append(f"{stamp} {record.name}: {record.getMessage()}"[:160])


class PinGate:
    """Counts taps on the hidden corner; five within a few seconds ask for the PIN.

    The PIN is checked against `ui.staff_pin` (a scrypt hash, or digits in the demo)
    through `PinAttempts`: an escalating wait after 5 wrong PINs, a lockout after 10,
    each failure logged and counted. Pass `attempts=PinAttempts(state_dir /
    STATE_NAME)` so a restart of the UI keeps the count (kiosk/ops/pin_attempts.py).
    """

    def __init__(self, pin: str, taps: int = 5, window_s: float = 4.0, *,
                 attempts: PinAttempts | None = None) -> None:
        self.pin = pin
        self.taps = taps
        self.window_s = window_s
        self.attempts = attempts if attempts is not None else PinAttempts()
        self._times: list[float] = []

    @property
    def enabled(self) -> bool:
        return bool(self.pin)

    def tap(self, now: float) -> bool:
        self._times = [t for t in self._times if now - t <= self.window_s] + [now]
        if len(self._times) >= self.taps and self.enabled:
            self._times = []
            return True
        return False

    def check(self, typed: str) -> bool:
        """True only for the right PIN while the pad is not waiting or locked."""
        if not self.enabled:
            return False
        return self.attempts.attempt(lambda: staff_pin.verify(self.pin, typed))

    def retry_in(self) -> float:
        """Seconds until the pad takes another PIN (0: now); for the wrong-PIN message."""
        return self.attempts.wait_s()

    @property
    def locked(self) -> bool:
        return self.attempts.locked()


class Backdrop(FloatLayout):
    """A full-screen layer that swallows every touch (nothing behind is pressed)."""

    def __init__(self, color: tuple[float, float, float, float], **kw: Any) -> None:
        super().__init__(**kw)
        with self.canvas.before:
            Color(*color)
            self._rect = Rectangle()
        self.bind(pos=self._draw, size=self._draw)

    def _draw(self, *_: Any) -> None:
        self._rect.pos = self.pos
        self._rect.size = self.size

    def on_touch_down(self, touch: Any) -> bool:
        super().on_touch_down(touch)
        return True

    def on_touch_move(self, touch: Any) -> bool:
        super().on_touch_move(touch)
        return True

    def on_touch_up(self, touch: Any) -> bool:
        super().on_touch_up(touch)
        return True


class PinOverlay(Backdrop):
    def __init__(self, ctx: Ctx, gate: PinGate, on_ok: Callable[[], None],
                 on_close: Callable[[], None]) -> None:
        super().__init__(hex_rgba("#000000", 0.75))
        self.ctx = ctx
        self.gate = gate
        self.typed = ""
        card = BoxLayout(orientation="vertical", padding=ctx.px(32), spacing=ctx.px(20),
                         size_hint=(None, None))
        paint(card, ctx.theme.palette.overlay_card, radius=ctx.px(20))
        self.title = Text(ctx, "subheading", bold=True, halign="center")
        self.dots = Text(ctx, "heading", halign="center")
        self.message = Text(ctx, "body", halign="center", color=ctx.theme.palette.bad_text)
        self.message.kid = "staff.pin_message"
        self._message_key = ""
        self._wait_s = 0
        self.keypad = Keypad(ctx, self._digit, self._delete, self._done)
        self.close = BigButton(ctx, "staff.close", "secondary", on_tap=on_close)
        holder = AnchorLayout(size_hint_y=None, height=self.keypad.height)
        holder.add_widget(self.keypad)
        for w in (self.title, self.dots, self.message, holder, self.close):
            card.add_widget(w)
        card.width = self.keypad.width + ctx.px(64)
        card.height = self.keypad.height + ctx.px(480)
        card.pos_hint = {"center_x": 0.5, "center_y": 0.5}
        self.add_widget(card)
        self._on_ok = on_ok

    def clear(self) -> None:
        self.typed = ""
        self._message_key = ""
        if self.parent is not None:  # off display, `refresh()` runs when it is opened
            self.refresh()

    def refresh(self) -> None:
        t = self.ctx.t
        self.title.text = t("staff.pin")
        self.dots.text = "●" * len(self.typed) or " "
        self.message.text = t(self._message_key, s=self._wait_s) if self._message_key else ""
        self.keypad.keys["delete"].text = t("keypad.delete")
        self.keypad.keys["ok"].text = t("keypad.ok")
        self.close.text = t("staff.close")

    def _digit(self, d: str) -> None:
        self.typed = (self.typed + d)[:12]
        self._message_key = ""
        self.refresh()

    def _delete(self) -> None:
        self.typed = self.typed[:-1]
        self.refresh()

    def _done(self) -> None:
        ok = self.gate.check(self.typed)
        self.typed = ""
        self._wait_s = 0 if ok else round(self.gate.retry_in())
        self._message_key = "" if ok else "staff.pin_locked" if self.gate.locked else (
            "staff.pin_wait" if self._wait_s else "staff.pin_wrong")
        self.refresh()
        if ok:
            self._on_ok()


class StaffOverlay(Backdrop):
    def __init__(self, ctx: Ctx, on_restart: Callable[[], None],
                 on_close: Callable[[], None]) -> None:
        super().__init__(hex_rgba(ctx.theme.palette.background))
        self.ctx = ctx
        pad = ctx.px(ctx.theme.sizes.margin)
        frame = BoxLayout(orientation="vertical", padding=pad, spacing=ctx.px(20))
        self.title = Text(ctx, "heading", bold=True)
        row = BoxLayout(orientation="horizontal", spacing=pad)
        left = BoxLayout(orientation="vertical", spacing=ctx.px(12))
        self.devices_title = Text(ctx, "subheading", bold=True)
        self.devices = Text(ctx, "small")
        self.outbox = Text(ctx, "body", bold=True)
        self.errors_title = Text(ctx, "subheading", bold=True)
        self.errors = Text(ctx, "small", color=ctx.theme.palette.muted)
        for w in (self.devices_title, self.devices, self.outbox, self.errors_title, self.errors):
            left.add_widget(w)
        left.add_widget(Widget())
        right = BoxLayout(orientation="vertical", size_hint_x=0.35, spacing=ctx.px(12))
        self.preview = Image(fit_mode="contain", size_hint_y=None, height=ctx.px(300))
        self.preview_note = Text(ctx, "small")
        right.add_widget(self.preview)
        right.add_widget(self.preview_note)
        right.add_widget(Widget())
        row.add_widget(left)
        row.add_widget(right)
        actions = BoxLayout(orientation="horizontal", spacing=ctx.px(28), size_hint_y=None,
                            height=ctx.px(ctx.theme.sizes.button_height))
        self.restart = BigButton(ctx, "staff.restart", "danger", on_tap=on_restart)
        self.close = BigButton(ctx, "staff.close", "primary", on_tap=on_close)
        actions.add_widget(self.restart)
        actions.add_widget(self.close)
        for w in (self.title, row, actions):
            frame.add_widget(w)
        self.add_widget(frame)

    def _device_line(self, d: DeviceStatus) -> str:
        mark = "✔" if d.ok else "✘"
        if not d.label:
            return f"{mark}  {d.name}: {d.detail}"
        t = self.ctx.t
        return f"{mark}  {t(d.label)}: {t(d.state)} ({d.detail})"

    def show(self, status: StaffStatus | None,
             preview: tuple[int, int, bytes] | None = None) -> None:
        t = self.ctx.t
        self.title.text = t("staff.heading")
        self.devices_title.text = t("staff.devices")
        self.errors_title.text = t("staff.errors")
        self.restart.text = t("staff.restart")
        self.close.text = t("staff.close")
        if status is None:
            self.devices.text = "…"
            return
        self.devices.text = "\n".join(map(self._device_line, status.devices))
        depth = "?" if status.outbox_depth is None else str(status.outbox_depth)
        lines = [t("staff.outbox", n=depth)]
        if status.unsynced:
            lines.append(t("staff.unsynced", n=status.unsynced, failed=status.unsynced_failed,
                           at=status.unsynced_purge_at or ""))
        if status.chip_refused:
            lines.append(t("staff.chip_refused", n=status.chip_refused))
        if status.face_counts:
            c = status.face_counts
            lines.append(t("staff.face", verified=c.get("verified", 0),
                           not_verified=c.get("not_verified", 0),
                           declined=c.get("declined", 0)))
        self.outbox.text = "\n".join(lines)
        self.errors.text = "\n".join(status.errors[-6:]) or t("staff.no_errors")
        if preview is None:
            self.preview.texture = None
            self.preview_note.text = t("staff.camera_none")
        else:
            w, h, rgb = preview
            tex = Texture.create(size=(w, h), colorfmt="rgb")
            tex.blit_buffer(rgb, colorfmt="rgb", bufferfmt="ubyte")
            tex.flip_vertical()
            self.preview.texture = tex
            self.preview_note.text = ""
