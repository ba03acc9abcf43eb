"""Identity confirmation: photo (from the chip, in memory only), name, birth date,
masked ID number, and where the data came from."""

from __future__ import annotations

import io
import logging

from kivy.core.image import Image as CoreImage
from kivy.uix.anchorlayout import AnchorLayout
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.image import Image

from kiosk.domain.text import mask_id
from kiosk.journey import events as ev
from kiosk.journey.state import Session, Step
from kiosk.ui.registry import register_screen
from kiosk.ui.screens.base import NoticeBox, StepScreen, format_date
from kiosk.ui.theme import hex_rgba
from kiosk.ui.widgets import Text, paint

log = logging.getLogger(__name__)


@register_screen(Step.CONFIRM_IDENTITY)
class ConfirmIdentityScreen(StepScreen):
    step = Step.CONFIRM_IDENTITY

    def build(self) -> None:
        ctx = self.ctx
        self.title = self.heading()
        row = BoxLayout(orientation="horizontal", spacing=ctx.px(48))
        size = ctx.px(ctx.theme.sizes.photo)
        frame = AnchorLayout(size_hint=(None, None), size=(size, size * 4 // 3))
        paint(frame, ctx.theme.palette.secondary, radius=ctx.px(12))
        self.photo = Image(fit_mode="contain")
        self.no_photo = Text(ctx, "small", halign="center")
        frame.add_widget(self.photo)
        frame.add_widget(self.no_photo)
        details = BoxLayout(orientation="vertical", spacing=ctx.px(18))
        self.full_name = Text(ctx, "heading", bold=True)
        self.full_name.color = hex_rgba(ctx.theme.palette.primary)
        self.dob = Text(ctx, "subheading")
        self.id_line = Text(ctx, "subheading")
        self.bhyt = Text(ctx, "subheading")
        self.source = Text(ctx, "body", color=ctx.theme.palette.muted)
        self.notice = NoticeBox(ctx)
        for w in (self.full_name, self.dob, self.id_line, self.bhyt, self.source, self.notice):
            details.add_widget(w)
        details.add_widget(BoxLayout())
        holder = AnchorLayout(anchor_y="top", size_hint_x=None, width=size)
        holder.add_widget(frame)
        row.add_widget(holder)
        row.add_widget(details)
        self.content.add_widget(row)
        self.no = self.button("confirm.no", ev.IdentityRejected(), "secondary",
                              slot="left")
        self.yes = self.button("confirm.yes", ev.IdentityConfirmed(), "primary")
        self._photo_of: int | None = None  # id() of the bytes shown, to decode once

    def render(self, session: Session) -> None:
        t = self.ctx.t
        self.title.text = t("confirm.heading")
        self.yes.text = t("confirm.yes")
        self.no.text = t("confirm.no")
        self.notice.show(session.notice)
        person = session.identity
        if person is None:
            self.wipe()
            return
        self.full_name.text = person.full_name
        self.dob.text = f"{t('confirm.dob')}: {format_date(person.date_of_birth)}"
        self.id_line.text = (f"{t('confirm.id')}: {mask_id(person.id_number)}"
                             if person.id_number else "")
        self.bhyt.text = (f"{t('confirm.bhyt')}: {mask_id(person.bhyt_card)}"
                          if person.bhyt_card else "")
        source: str = person.source
        if source == "chip" and person.verification != "chip_verified":
            # Verified only once every check finished (decision 0110).
            source = ("chip_pending" if person.verification == "chip_pending"
                      else "chip_unverified")
        self.source.text = t(f"confirm.source.{source}")
        self._show_photo(person.photo_jpeg)

    def _show_photo(self, jpeg: bytes | None) -> None:
        self.no_photo.text = "" if jpeg else self.ctx.t("confirm.no_photo")
        if jpeg is None:
            self.photo.texture = None
            self._photo_of = None
            return
        if self._photo_of == id(jpeg):
            return
        try:
            # Decoded in memory: the photo never touches the disk.
            self.photo.texture = CoreImage(io.BytesIO(jpeg), ext="jpg").texture
            self._photo_of = id(jpeg)
        except Exception:  # a broken photo must not break the screen
            log.warning("chip photo could not be decoded")
            self.photo.texture = None

    def wipe(self) -> None:
        for label in (self.full_name, self.dob, self.id_line, self.bhyt, self.source):
            label.text = ""
        self.photo.texture = None
        self._photo_of = None
        self.notice.show(None)
