"""Attract screen, "need a key" (QR or the 6 CAN digits) and chip reading."""

from __future__ import annotations

from kivy.uix.anchorlayout import AnchorLayout
from kivy.uix.boxlayout import BoxLayout

from kiosk.journey import events as ev
from kiosk.journey.state import Session, Step
from kiosk.ui.card_picture import CardPicture
from kiosk.ui.registry import register_screen
from kiosk.ui.screens.base import NoticeBox, StepScreen, WaitingScreen
from kiosk.ui.widgets import BigButton, CanPicture, Keypad, Text


@register_screen(Step.IDLE)
class AttractScreen(StepScreen):
    step = Step.IDLE

    def build(self) -> None:
        self.welcome = self.heading(role="heading")
        self.title = self.heading(role="heading")
        self.title.color = self._primary()
        self.picture = CardPicture(self.ctx)
        self.content.add_widget(self.picture)
        self.or_qr = self.text("subheading")
        self.notice = NoticeBox(self.ctx)
        self.content.add_widget(self.notice)
        # Above the action bar, where no screen has a button: a finger coming back from
        # the last screen (a cancel, "not me", a double tap) never starts a session.
        holder = AnchorLayout(anchor_x="center", size_hint_y=None,
                              height=self.ctx.px(self.ctx.theme.sizes.button_height))
        self.start = BigButton(self.ctx, "start", "primary", on_tap=lambda: self.ctx.send(
            ev.Touched()), size_hint_x=0.66)
        holder.add_widget(self.start)
        self.content.add_widget(holder)

    def _primary(self) -> tuple[float, float, float, float]:
        from kiosk.ui.theme import hex_rgba

        return hex_rgba(self.ctx.theme.palette.primary)

    def render(self, session: Session) -> None:
        t = self.ctx.t
        self.welcome.text = t("idle.welcome")
        # A card left on the reader: placing it again starts a session, lifting it
        # (for the desk) clears this.
        left = session.card_present
        self.title.text = t("idle.card_left" if left else "idle.heading")
        self.or_qr.text = t("idle.card_left_body" if left else "idle.or_qr")
        self.start.text = t("idle.touch")
        self.notice.show(session.notice)

    def wipe(self) -> None:
        self.notice.show(None)

    def shown(self) -> None:
        self.picture.start()

    def hidden(self) -> None:
        self.picture.stop()


def group_digits(digits: str) -> str:
    """"001185012345" -> "001 185 012 345": easier to check against the card."""
    return " ".join(digits[i:i + 3] for i in range(0, len(digits), 3))


@register_screen(Step.NEED_KEY)
class NeedKeyScreen(StepScreen):
    """The chip's key: the card's QR shown to the camera, or the 6 digits of the CAN
    (the ID number's last six, marked on a picture of both card generations). The
    keypad goes on by itself after the sixth digit (decision 0141)."""

    step = Step.NEED_KEY
    LENGTH = 6

    def build(self) -> None:
        self.digits = ""
        row = BoxLayout(orientation="horizontal", spacing=self.ctx.px(40))
        left = BoxLayout(orientation="vertical", spacing=self.ctx.px(18))
        self.title = Text(self.ctx, "heading", bold=True)
        self.picture = CanPicture(self.ctx)
        self.or_type = Text(self.ctx, "subheading")
        self.display = Text(self.ctx, "heading", bold=True)
        self.display.kid = "keypad.display"
        self.hint = Text(self.ctx, "body")
        self.notice = NoticeBox(self.ctx)
        for w in (self.title, self.picture, self.or_type, self.display, self.hint, self.notice):
            left.add_widget(w)
        left.add_widget(BoxLayout())
        self.keypad = Keypad(self.ctx, self._digit, self._clear, self._done)
        holder = AnchorLayout(anchor_x="center", anchor_y="top", size_hint_x=None,
                              width=self.keypad.width)
        holder.add_widget(self.keypad)
        row.add_widget(left)
        row.add_widget(holder)
        self.content.add_widget(row)
        self.cancel = self.cancel_button()
        self.mine = self.button("card.mine", ev.CardClaimed(), "secondary")
        self._typing_hint = ""  # a word about the digits themselves, until the next key

    def _digit(self, d: str) -> None:
        if len(self.digits) >= self.LENGTH:
            return  # already sent: the screen is about to change
        self.digits += d
        self._typing_hint = ""
        self._show_digits()
        if len(self.digits) == self.LENGTH:
            self._done()

    def _clear(self) -> None:
        """One tap clears the field (a wrong digit is retyped, not picked out)."""
        self.digits = ""
        self._typing_hint = ""
        self._show_digits()

    def _done(self) -> None:
        if len(self.digits) < self.LENGTH:  # keep what was typed: say what is missing
            self._typing_hint = self.ctx.t("need_key.short", n=len(self.digits))
            self._show_digits()
            return
        self._typing_hint = ""
        self.ctx.send(ev.IdNumberTyped(self.digits))  # digits stay until a key is set

    def _show_digits(self) -> None:
        shown = group_digits(self.digits + "_" * (self.LENGTH - len(self.digits)))
        self.display.text = shown.replace("_", "–")
        if self._typing_hint:
            self.hint.text = self._typing_hint

    def render(self, session: Session) -> None:
        t = self.ctx.t
        asking = session.card_usable and session.key is None
        self.title.text = t("need_key.can_heading" if asking else "need_key.heading")
        self.or_type.text = t("need_key.can_or_qr" if asking else "need_key.or_type")
        self.picture.render()
        self.keypad.keys["delete"].text = t("keypad.clear")
        self.keypad.keys["ok"].text = t("keypad.ok")
        self.cancel.text = t("common.cancel")
        stale = session.card_present and session.reader_ok and not session.card_fresh
        self.mine.text = t("need_key.card_mine")
        self.mine.opacity = 1 if stale else 0
        self.mine.disabled = not stale
        if session.key is not None:
            self.digits = ""  # the number was taken (a refused one leaves an empty field)
        if session.key is not None and not session.card_present:
            self.hint.text = t("need_key.place_card")
        else:
            self.hint.text = ""
        self.notice.show(session.notice)
        self._show_digits()

    def wipe(self) -> None:
        self.digits = ""
        self._typing_hint = ""
        self._show_digits()
        self.notice.show(None)

    def hidden(self) -> None:
        # The digits went to the chip: if it refuses them, the patient comes back to
        # an empty field (retyping six digits beats picking out a wrong one).
        self.digits = ""
        self._typing_hint = ""
        self._show_digits()


@register_screen(Step.READING_CHIP)
class ReadingScreen(WaitingScreen):
    step = Step.READING_CHIP
    heading_key = "reading.heading"
    body_key = "reading.body"
