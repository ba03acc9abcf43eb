"""Checking the BHYT card, and its result in plain words with the next step."""

from __future__ import annotations

from kivy.uix.anchorlayout import AnchorLayout

from kiosk.journey import events as ev
from kiosk.journey.state import Session, Step
from kiosk.ui.registry import register_screen
from kiosk.ui.screens.base import StepScreen, WaitingScreen
from kiosk.ui.widgets import Panel, Text

_PANEL = {"usable": "ok", "warning": "warn", "not_usable": "bad", "unavailable": "info",
          "misconfigured": "info"}


@register_screen(Step.CHECKING_INSURANCE)
class CheckingScreen(WaitingScreen):
    step = Step.CHECKING_INSURANCE
    heading_key = "checking.heading"


@register_screen(Step.INSURANCE_RESULT)
class InsuranceResultScreen(StepScreen):
    step = Step.INSURANCE_RESULT

    def build(self) -> None:
        self.title = self.heading()
        self.panels: dict[str, tuple[Panel, Text]] = {}
        self.current: str | None = None
        for kind in ("ok", "warn", "bad", "info"):
            panel = Panel(self.ctx, kind)
            label = Text(self.ctx, "subheading", color=panel.fg)
            panel.add_widget(label)
            self.panels[kind] = (panel, label)
        self.next = Text(self.ctx, "subheading", bold=True)
        self.slot = AnchorLayout(anchor_y="top", size_hint_y=None)
        self.content.add_widget(self.slot)
        self.content.add_widget(self.next)
        self.spacer()
        self.cancel = self.cancel_button()
        # In the middle: "Đúng, là tôi" sat on the right (decision 0142).
        self.go = self.button("continue", ev.Continue(), "primary", slot="middle")

    def render(self, session: Session) -> None:
        t = self.ctx.t
        result = session.insurance
        outcome = result.outcome if result else "unavailable"
        child = result is not None and result.child_covered
        self.title.text = t("insurance.heading.child" if child else f"insurance.heading.{outcome}")
        kind = "info" if child else _PANEL[outcome]  # covered by law: nothing is wrong
        panel, label = self.panels[kind]
        if self.current != kind:
            self.slot.clear_widgets()
            self.slot.add_widget(panel)
            panel.bind(height=self.slot.setter("height"))
            self.slot.height = panel.height
            self.current = kind
        label.text = "" if result is None else (
            result.message_en if self.ctx.lang == "en" else result.message_vi)
        nxt = {"usable": "usable", "warning": "usable", "not_usable": "not_usable"}.get(
            outcome, "unavailable")
        self.next.text = t("insurance.next.child" if child else f"insurance.next.{nxt}")
        self.cancel.text = t("common.cancel")
        self.go.text = t("common.continue")

    def wipe(self) -> None:
        for _, label in self.panels.values():
            label.text = ""
