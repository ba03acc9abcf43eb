"""The common frame of a step screen: content on top, large actions at the bottom."""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

from kivy.uix.anchorlayout import AnchorLayout
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.screenmanager import Screen
from kivy.uix.widget import Widget

from kiosk.journey import events as ev
from kiosk.journey.state import Notice, Session, Step
from kiosk.ui.context import Ctx
from kiosk.ui.widgets import BigButton, Panel, Spinner, Text

SLOTS = ("left", "middle", "right")


class StepScreen(Screen):
    """Actions sit in three fixed slots on every screen: what ends or undoes the
    session on the left, going on in the middle or on the right. Screens that follow
    each other put their main buttons in different slots (decision 0142), so the
    second tap of a double tap, landing where the last screen's main or destructive
    button was, never meets the next screen's main button."""

    step: ClassVar[Step]

    def __init__(self, ctx: Ctx, **kw: Any) -> None:
        super().__init__(name=self.step.value, **kw)
        self.ctx = ctx
        s = ctx.theme.sizes
        frame = BoxLayout(orientation="vertical", padding=ctx.px(s.margin),
                          spacing=ctx.px(s.spacing))
        self.content = BoxLayout(orientation="vertical", spacing=ctx.px(s.spacing))
        self.actions = BoxLayout(orientation="horizontal", spacing=ctx.px(s.spacing),
                                 size_hint_y=None, height=ctx.px(s.button_height))
        self.slots: dict[str, Widget] = {}
        for slot in SLOTS:
            self.slots[slot] = Widget()
            self.actions.add_widget(self.slots[slot])
        frame.add_widget(self.content)
        frame.add_widget(self.actions)
        self.add_widget(frame)
        self.build()

    # -- for subclasses --------------------------------------------------------
    def build(self) -> None:
        """Create the widgets (once)."""

    def render(self, session: Session) -> None:
        """Show `session` in `self.ctx.lang` (called on every change)."""

    def wipe(self) -> None:
        """Forget anything personal shown (called when the session ends)."""

    def view_key(self) -> object:
        """What identifies the page shown within this step (None: one page)."""
        return None

    def shown(self) -> None:
        """The screen became current (start animations)."""

    def hidden(self) -> None:
        """The screen was left (stop animations)."""

    # -- helpers ----------------------------------------------------------------
    def heading(self, key: str = "", role: str = "heading") -> Text:
        label = Text(self.ctx, role, bold=True)
        label.i18n = key
        self.content.add_widget(label)
        return label

    def text(self, role: str = "body", **kw: Any) -> Text:
        label = Text(self.ctx, role, **kw)
        self.content.add_widget(label)
        return label

    def spacer(self) -> None:
        self.content.add_widget(Widget())

    def button(self, kid: str, event: ev.Event | None = None, style: str = "primary",
               slot: str | None = None, **kw: Any) -> BigButton:
        """A button in its slot: `slot` "left", "middle", "right" or "wide" (middle and
        right together); by default primary buttons go right, others in the middle."""
        tap = (lambda: self.ctx.send(event)) if event is not None else None
        b = BigButton(self.ctx, kid, style, on_tap=tap, **kw)
        slot = slot or ("right" if style == "primary" else "middle")
        if slot == "wide":
            self._place(b, "middle")
            self.actions.remove_widget(self.slots.pop("right"))
            b.size_hint_x = 2
        else:
            self._place(b, slot)
        return b

    def _place(self, widget: Widget, slot: str) -> None:
        old = self.slots[slot]
        if isinstance(old, BigButton):
            raise ValueError(f"{self.step.value}: slot {slot} holds {old.kid} already")
        index = self.actions.children.index(old)
        self.actions.remove_widget(old)
        self.actions.add_widget(widget, index=index)
        self.slots[slot] = widget

    def cancel_button(self) -> BigButton:
        return self.button("cancel", ev.Cancelled(), "secondary", slot="left")


class WaitingScreen(StepScreen):
    """A heading, one line and a spinner while a device or service works."""

    heading_key: ClassVar[str]
    body_key: ClassVar[str] = "common.wait"

    def build(self) -> None:
        self.title = self.heading()
        self.body = self.text("subheading")
        holder = AnchorLayout()
        self.spinner = Spinner(self.ctx)
        holder.add_widget(self.spinner)
        self.content.add_widget(holder)

    def render(self, session: Session) -> None:
        self.title.text = self.ctx.t(self.heading_key)
        self.body.text = self.ctx.t(self.body_key)

    def shown(self) -> None:
        self.spinner.start()

    def hidden(self) -> None:
        self.spinner.stop()


class NoticeBox(Panel):
    """The journey's current notice, if any (plain words, never a code)."""

    def __init__(self, ctx: Ctx, kind: str = "warn") -> None:
        super().__init__(ctx, kind)
        self.ctx = ctx
        self.label = Text(ctx, "body", color=self.fg)
        self.add_widget(self.label)
        self._padding: Any = self.padding
        self._spacing: Any = self.spacing
        self.show(None)

    def show(self, notice: Notice | None) -> None:
        message = ""
        if notice is not None:
            message = notice.message_en if self.ctx.lang == "en" else notice.message_vi
        self.label.text = message
        self.opacity = 1 if message else 0
        # Hidden, it takes no room at all (the padding would leave a gap).
        self.padding = self._padding if message else 0
        self.spacing = self._spacing if message else 0
        self.unbind(minimum_height=self._follow)
        if message:
            self.bind(minimum_height=self._follow)
            self._follow()
        else:
            self.height = 0

    def _follow(self, *_: object) -> None:
        self.height = self.minimum_height


def format_date(value: dt.date | int | None) -> str:
    if value is None:
        return ""
    if isinstance(value, int):  # only the year is known (old cards)
        return str(value)
    return value.strftime("%d/%m/%Y")


def format_money(amount: int) -> str:
    return f"{amount:,}".replace(",", ".")  # Vietnamese thousands separator
