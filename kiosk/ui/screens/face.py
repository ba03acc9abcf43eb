"""The face check (issue 29): consent words, the live camera with a large oval, and
the kind word to see the reception desk. The live view is the camera's small preview,
drawn into a texture in memory and dropped when the screen is left (decision 0163)."""

from __future__ import annotations

from typing import Any

from kivy.clock import Clock
from kivy.graphics import Color, Line
from kivy.graphics.texture import Texture
from kivy.uix.anchorlayout import AnchorLayout
from kivy.uix.image import Image

from kiosk.journey import events as ev
from kiosk.journey.state import Session, Step
from kiosk.ui.registry import register_screen
from kiosk.ui.screens.base import NoticeBox, StepScreen
from kiosk.ui.theme import hex_rgba
from kiosk.ui.widgets import Panel, Text


@register_screen(Step.FACE_CONSENT)
class FaceConsentScreen(StepScreen):
    """Nothing is looked at before the patient has read this and agreed."""

    step = Step.FACE_CONSENT

    def build(self) -> None:
        self.title = self.heading()
        self.body = self.text("subheading")
        self.spacer()
        self.no = self.button("face.consent.no", ev.FaceDeclined(), "secondary", slot="left")
        self.yes = self.button("face.consent.yes", ev.FaceConsented(), "primary")

    def render(self, session: Session) -> None:
        t = self.ctx.t
        self.title.text = t("face.consent.heading")
        self.body.text = t("face.consent.body")
        self.yes.text = t("face.consent.yes")
        self.no.text = t("face.consent.no")


class _Oval(AnchorLayout):
    """The live view with a large oval to put the face in."""

    def __init__(self, color: str, width: float, **kw: Any) -> None:
        super().__init__(**kw)
        self.view = Image(fit_mode="contain")
        self.add_widget(self.view)
        with self.canvas.after:
            Color(*hex_rgba(color))
            self._line = Line(width=width)
        self.bind(pos=self._follow, size=self._follow)

    def _follow(self, *_: object) -> None:
        h = self.height * 0.9
        w = h * 0.72  # a face's proportions
        self._line.ellipse = (self.center_x - w / 2, self.center_y - h / 2, w, h)


@register_screen(Step.FACE_MATCH)
class FaceMatchScreen(StepScreen):
    step = Step.FACE_MATCH

    def build(self) -> None:
        ctx = self.ctx
        self.title = self.heading()
        self.body = self.text("subheading")
        self.notice = NoticeBox(ctx)
        self.content.add_widget(self.notice)
        self.oval = _Oval(ctx.theme.palette.primary, ctx.px(8))
        self.oval.kid = "face.view"
        self.content.add_widget(self.oval)
        self.cancel_button()
        self._updates: Any = None
        self._texture: Texture | None = None

    def render(self, session: Session) -> None:
        t = self.ctx.t
        self.title.text = t("face.match.heading")
        self.body.text = t("face.match.body")
        self.notice.show(session.notice)

    def shown(self) -> None:
        if self.ctx.preview is not None and self._updates is None:
            self._updates = Clock.schedule_interval(self._refresh, 1 / 10)

    def hidden(self) -> None:
        if self._updates is not None:
            self._updates.cancel()
            self._updates = None
        self.wipe()

    def _refresh(self, _dt: float) -> None:
        shot = self.ctx.preview() if self.ctx.preview is not None else None
        if shot is None:
            return
        w, h, rgb = shot
        texture = self._texture
        if texture is None or tuple(texture.size) != (w, h):
            texture = Texture.create(size=(w, h), colorfmt="rgb")
            texture.flip_vertical()
            texture.flip_horizontal()  # a mirror: moving left moves left on screen
            self._texture = texture
        texture.blit_buffer(rgb, colorfmt="rgb", bufferfmt="ubyte")
        self.oval.view.texture = texture
        self.oval.view.canvas.ask_update()

    def wipe(self) -> None:
        self.oval.view.texture = None
        self._texture = None
        self.notice.show(None)


@register_screen(Step.FACE_DESK)
class FaceDeskScreen(StepScreen):
    """Not verified: said kindly, never as an accusation."""

    step = Step.FACE_DESK

    def build(self) -> None:
        self.title = self.heading()
        self.panel = Panel(self.ctx, "info")
        self.body = Text(self.ctx, "subheading", color=self.panel.fg)
        self.panel.add_widget(self.body)
        self.content.add_widget(self.panel)
        self.spacer()
        self.go_on = self.button("face.desk.continue", ev.Continue(), "primary")

    def render(self, session: Session) -> None:
        t = self.ctx.t
        self.title.text = t("face.desk.heading")
        self.body.text = t("face.desk.body")
        self.go_on.text = t("face.desk.continue")
