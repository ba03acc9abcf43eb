"""The ticket (huge number, room, where to go), the health-book offer, the
health-book placeholder (replaced by kiosk.ui.health_book) and goodbye."""

from __future__ import annotations

from kiosk.journey import events as ev
from kiosk.journey.state import Session, Step
from kiosk.ui.registry import register_screen
from kiosk.ui.screens.base import StepScreen
from kiosk.ui.widgets import Panel, Text


@register_screen(Step.TICKET)
class TicketScreen(StepScreen):
    step = Step.TICKET

    def build(self) -> None:
        p = self.ctx.theme.palette
        self.content.spacing = self.ctx.px(14)  # the number needs the room
        self.title = self.heading(role="subheading")
        self.number = Text(self.ctx, "huge", bold=True, halign="center", color=p.ticket_number)
        self.number.kid = "ticket.number"
        self.content.add_widget(self.number)
        self.service = Text(self.ctx, "subheading", bold=True, halign="center")
        self.content.add_widget(self.service)
        self.go_to = Text(self.ctx, "subheading", halign="center")
        self.content.add_widget(self.go_to)
        self.panels = {kind: Panel(self.ctx, kind) for kind in ("ok", "info", "warn")}
        self.labels = {}
        for kind, panel in self.panels.items():
            label = Text(self.ctx, "body", color=panel.fg, halign="center")
            panel.add_widget(label)
            self.labels[kind] = label
        self._panel: str | None = None
        self.spacer()
        self.go = self.button("continue", ev.Continue(), "primary")

    def _show_panel(self, kind: str, text: str) -> None:
        if self._panel != kind:
            if self._panel is not None:
                self.content.remove_widget(self.panels[self._panel])
            self.content.add_widget(self.panels[kind], index=1)
            self._panel = kind
        self.labels[kind].text = text

    def render(self, session: Session) -> None:
        t = self.ctx.t
        self.title.text = t("ticket.heading")
        reg = session.registration
        if reg is not None:
            self.number.text = reg.queue_number
            self.service.text = reg.service_name_en if self.ctx.lang == "en" else reg.service_name
            self.go_to.text = t("ticket.go_to", room=reg.room_in(self.ctx.lang))
            if reg.appointment is not None:  # a follow-up: its time (the slip adds the doctor)
                at = reg.appointment.local_time(self.ctx.timezone)
                self.service.text += " · " + t("ticket.appointment", time=at)
        result = session.print_result
        if result is None:
            self._show_panel("info", t("ticket.printing"))
        elif result.printed:
            self._show_panel("ok", t("ticket.printed"))
        else:
            key = "ticket.paper_out" if result.problem == "paper_out" else "ticket.print_failed"
            self._show_panel("warn", t(key))
        # Nothing to tap until the number has been on screen a while (a double tap on
        # "register" must not carry the patient past their number).
        self.go.text = t("common.continue")
        self.go.opacity = 1 if session.ticket_ready else 0
        self.go.disabled = not session.ticket_ready

    def wipe(self) -> None:
        self.number.text = ""
        self.service.text = ""
        self.go_to.text = ""


@register_screen(Step.HEALTH_BOOK_OFFER)
class HealthBookOfferScreen(StepScreen):
    step = Step.HEALTH_BOOK_OFFER

    def build(self) -> None:
        self.title = self.heading()
        self.body = self.text("subheading")
        self.spacer()
        self.no = self.button("health.no", ev.HealthBookSkipped(), "secondary",
                              slot="left")
        self.yes = self.button("health.yes", ev.HealthBookStarted(), "primary")

    def render(self, session: Session) -> None:
        t = self.ctx.t
        self.title.text = t("health_offer.heading")
        self.body.text = t("health_offer.body")
        self.no.text = t("health_offer.no")
        self.yes.text = t("health_offer.yes")


@register_screen(Step.HEALTH_BOOK)
class HealthBookPlaceholder(StepScreen):
    """Stands in until kiosk.ui.health_book registers the real guide."""

    step = Step.HEALTH_BOOK

    def build(self) -> None:
        self.title = self.heading()
        self.body = self.text("subheading")
        self.spacer()
        self.done = self.button("health.done", ev.HealthBookFinished(completed=False),
                                "primary")

    def render(self, session: Session) -> None:
        t = self.ctx.t
        self.title.text = t("health_book.heading")
        self.body.text = t("health_book.body")
        self.done.text = t("health_book.done")


@register_screen(Step.DONE)
class DoneScreen(StepScreen):
    step = Step.DONE

    def build(self) -> None:
        self.spacer()
        self.title = Text(self.ctx, "huge", bold=True, halign="center",
                          color=self.ctx.theme.palette.primary)
        self.title.font_size = self.ctx.px(110)
        self.content.add_widget(self.title)
        self.body = Text(self.ctx, "heading", halign="center")
        self.content.add_widget(self.body)
        self.spacer()
        self.home = self.button("home", ev.Continue(), "primary")

    def render(self, session: Session) -> None:
        t = self.ctx.t
        self.title.text = t("done.heading")
        self.body.text = t("done.body")
        self.home.text = t("common.home")
