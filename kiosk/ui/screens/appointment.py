"""Today's follow-up appointment (giấy hẹn khám lại): one big button checks in.

One appointment: "Bạn có lịch hẹn khám lại hôm nay: Khám Nội tiết, Phòng 305, lúc
9:30" with the check-in button where "go on" always is, and a smaller "a
different service" beside it. Several: a tile per appointment (a tap checks that
one in). A short spinner covers the moments the HIS may still be answering.
"""

from __future__ import annotations

from collections.abc import Callable

from kivy.uix.gridlayout import GridLayout

from kiosk.domain.appointment import Appointment
from kiosk.journey import events as ev
from kiosk.journey.state import Session, Step
from kiosk.ui.registry import register_screen
from kiosk.ui.screens.base import NoticeBox, StepScreen, WaitingScreen
from kiosk.ui.theme import hex_rgba
from kiosk.ui.widgets import Panel, Text, Tile


@register_screen(Step.FINDING_APPOINTMENTS)
class FindingAppointmentsScreen(WaitingScreen):
    step = Step.FINDING_APPOINTMENTS
    heading_key = "finding.heading"


@register_screen(Step.APPOINTMENT)
class AppointmentScreen(StepScreen):
    step = Step.APPOINTMENT

    def build(self) -> None:
        self.title = self.heading()
        self.panel = Panel(self.ctx, "info")
        self.service = Text(self.ctx, "heading", bold=True, color=self.panel.fg)
        self.service.color = hex_rgba(self.ctx.theme.palette.primary)
        self.where = Text(self.ctx, "subheading", bold=True, color=self.panel.fg)
        self.doctor = Text(self.ctx, "body", color=self.panel.fg)
        for label in (self.service, self.where, self.doctor):
            self.panel.add_widget(label)
        self.content.add_widget(self.panel)
        gap = self.ctx.px(self.ctx.theme.sizes.spacing)
        self.grid = GridLayout(cols=2, spacing=gap, size_hint_y=None)
        self.grid.bind(minimum_height=self.grid.setter("height"))
        self.content.add_widget(self.grid)
        self.notice = NoticeBox(self.ctx)
        self.content.add_widget(self.notice)
        self.spacer()
        self.tiles: dict[str, Tile] = {}
        self._refs: tuple[str, ...] = ()
        self.cancel = self.cancel_button()
        self.other = self.button("appointment.other", ev.AppointmentDeclined(), "secondary")
        # No ref: the one appointment shown (the button only shows when there is one).
        self.go = self.button("appointment.check_in", ev.AppointmentChosen(), "primary")

    def view_key(self) -> object:
        return self._refs

    def _rebuild(self, appointments: tuple[Appointment, ...]) -> None:
        self.grid.clear_widgets()
        self.tiles = {}
        if len(appointments) > 1:
            for a in appointments:
                tile = Tile(self.ctx, f"appointment.{a.ref}", on_tap=self._chooser(a.ref))
                self.tiles[a.ref] = tile
                self.grid.add_widget(tile)
        self._refs = tuple(a.ref for a in appointments)

    def _chooser(self, ref: str) -> Callable[[], None]:
        return lambda: self.ctx.send(ev.AppointmentChosen(ref))

    def _where(self, a: Appointment) -> str:
        return self.ctx.t("appointment.where", room=a.room,
                          time=a.local_time(self.ctx.timezone))

    def render(self, session: Session) -> None:
        t = self.ctx.t
        appointments = session.appointments or ()
        if tuple(a.ref for a in appointments) != self._refs:
            self._rebuild(appointments)
        single = len(appointments) == 1
        self.panel.opacity = 1 if single else 0
        if single:
            a = appointments[0]
            self.title.text = t("appointment.heading")
            self.service.text = a.service_name
            self.where.text = self._where(a)
            self.doctor.text = t("appointment.doctor", doctor=a.doctor) if a.doctor else ""
        else:
            self.title.text = t("appointment.heading_many", count=len(appointments))
            for a in appointments:
                tile = self.tiles[a.ref]
                tile.title.text = a.service_name
                tile.room.text = self._where(a)
                tile.set_open(True)
        self.notice.show(session.notice)
        self.cancel.text = t("common.cancel")
        self.other.text = t("appointment.other")
        self.go.text = t("appointment.check_in")
        self.go.opacity = 1 if single else 0
        self.go.disabled = not single

    def wipe(self) -> None:
        self.service.text = ""
        self.where.text = ""
        self.doctor.text = ""
        self._rebuild(())
