"""Errors that say what to do next (never a code)."""

from __future__ import annotations

from kiosk.journey import events as ev
from kiosk.journey.state import Session, Step
from kiosk.ui.registry import register_screen
from kiosk.ui.screens.base import StepScreen
from kiosk.ui.widgets import Panel, Text

_RETYPE = ("card_unreadable", "key_rejected")  # errors a freshly typed number can mend

@register_screen(Step.ERROR)
class ErrorScreen(StepScreen):
    step = Step.ERROR

    def build(self) -> None:
        self.title = self.heading()
        self.panel = Panel(self.ctx, "warn")
        self.body = Text(self.ctx, "subheading", color=self.panel.fg)
        self.panel.add_widget(self.body)
        self.content.add_widget(self.panel)
        self.spacer()
        self.home = self.button("home", ev.Continue(), "secondary", slot="left")
        self.type_number = self.button("error.type", None, "primary")
        self.type_number.bind(on_release=lambda *_: self._type())
        self._kind: str | None = None

    def _type(self) -> None:
        # Back to the start, then straight to the keypad (same as touching the
        # attract screen): a fresh session, nothing carried over.
        if self._kind in _RETYPE:
            self.ctx.send(ev.Continue())
            self.ctx.send(ev.Touched())

    def render(self, session: Session) -> None:
        t = self.ctx.t
        kind = session.error or "registration_failed"
        self._kind = kind
        self.title.text = t(f"error.{kind}.heading")
        self.body.text = t(f"error.{kind}.body")
        self.home.text = t("common.home")
        typing = kind in _RETYPE
        self.type_number.text = t("error.card_unreadable.type") if typing else ""
        self.type_number.opacity = 1 if typing else 0
        self.type_number.disabled = not typing
