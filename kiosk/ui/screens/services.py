"""Choosing where to be seen (large tiles with icons), confirming, registering."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from kivy.uix.gridlayout import GridLayout

from kiosk.domain.registration import ServiceOption
from kiosk.journey import events as ev
from kiosk.journey.state import Session, Step
from kiosk.ui.registry import register_screen
from kiosk.ui.screens.base import NoticeBox, StepScreen, WaitingScreen, format_money
from kiosk.ui.theme import hex_rgba
from kiosk.ui.widgets import Panel, Text, Tile


def icon_path(images_dir: Path | None, icon: str | None) -> str:
    if images_dir is None:
        return ""
    path = images_dir / "icons" / f"{icon or 'clinic'}.png"
    if not path.exists():
        path = images_dir / "icons" / "clinic.png"
    return str(path) if path.exists() else ""


@register_screen(Step.CHOOSE_SERVICE)
class ChooseServiceScreen(StepScreen):
    step = Step.CHOOSE_SERVICE
    COLUMNS = 3

    def build(self) -> None:
        self.title = self.heading()
        gap = self.ctx.px(self.ctx.theme.sizes.spacing)
        self.grid = GridLayout(cols=self.COLUMNS, spacing=gap, size_hint_y=None)
        self.grid.bind(minimum_height=self.grid.setter("height"))
        self.content.add_widget(self.grid)
        self.notice = NoticeBox(self.ctx)
        self.content.add_widget(self.notice)
        self.spacer()
        self.tiles: dict[str, Tile] = {}
        self._codes: tuple[str, ...] = ()
        self.cancel = self.cancel_button()
        self.back = self.button("back", ev.Back(), "secondary", slot="right")

    def _rebuild(self, services: tuple[ServiceOption, ...]) -> None:
        self.grid.clear_widgets()
        self.tiles = {}
        for option in services:
            tile = Tile(self.ctx, f"service.{option.code}", on_tap=self._chooser(option.code))
            tile.icon.source = icon_path(self.ctx.images_dir, option.icon)
            self.tiles[option.code] = tile
            self.grid.add_widget(tile)
        self._codes = tuple(s.code for s in services)

    def _chooser(self, code: str) -> Callable[[], None]:
        return lambda: self.ctx.send(ev.ServiceChosen(code))

    def render(self, session: Session) -> None:
        t = self.ctx.t
        services = session.services or ()
        loaded = session.services is not None
        self.title.text = t("services.heading") if loaded else t("services.loading")
        if tuple(s.code for s in services) != self._codes:
            self._rebuild(services)
        for option in services:
            tile = self.tiles[option.code]
            tile.title.text = option.name_en if self.ctx.lang == "en" else option.name
            room = option.room_in(self.ctx.lang)
            tile.room.text = room if option.open else f"{room} · {t('services.closed')}"
            tile.set_open(option.open)
        self.notice.show(session.notice)
        self.cancel.text = t("common.cancel")
        self.back.text = t("common.back")


@register_screen(Step.CONFIRM_SERVICE)
class ConfirmServiceScreen(StepScreen):
    step = Step.CONFIRM_SERVICE

    def build(self) -> None:
        self.title = self.heading()
        self.service = Text(self.ctx, "heading", bold=True)
        self.service.color = hex_rgba(self.ctx.theme.palette.primary)
        self.content.add_widget(self.service)
        self.room = self.text("subheading")
        self.panel = Panel(self.ctx, "info")
        self.payment = Text(self.ctx, "subheading", color=self.panel.fg)
        self.panel.add_widget(self.payment)
        self.content.add_widget(self.panel)
        self.spacer()
        self.cancel = self.cancel_button()
        # "Đăng ký" in the middle, so the ticket's "Tiếp tục" (right) is never under it.
        self.back = self.button("back", ev.Back(), "secondary", slot="right")
        self.go = self.button("register", ev.RegistrationConfirmed(), "primary", slot="middle")

    def render(self, session: Session) -> None:
        t = self.ctx.t
        self.title.text = t("confirm_service.heading")
        option = session.chosen_service
        if option is not None:
            self.service.text = option.name_en if self.ctx.lang == "en" else option.name
            self.room.text = option.room_in(self.ctx.lang)
        insurance = session.insurance
        if insurance is not None and insurance.usable:
            self.payment.text = t("confirm_service.insured")
        elif insurance is not None and insurance.child_covered:
            self.payment.text = t("confirm_service.child")  # covered by law: no fee
        elif insurance is not None and not insurance.checked:
            self.payment.text = t("confirm_service.unchecked")
        else:
            fee = option.fee if option else 0
            self.payment.text = t("confirm_service.fee", fee=format_money(fee))
        self.cancel.text = t("common.cancel")
        self.back.text = t("common.back")
        self.go.text = t("confirm_service.register")

    def wipe(self) -> None:
        self.service.text = ""
        self.room.text = ""
        self.payment.text = ""


@register_screen(Step.REGISTERING)
class RegisteringScreen(WaitingScreen):
    step = Step.REGISTERING
    heading_key = "registering.heading"
