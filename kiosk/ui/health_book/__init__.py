"""The health-book guide on the touchscreen (replaces the placeholder for
Step.HEALTH_BOOK through `kiosk.ui.registry`).

What to show comes from the journey (`session.health_book`: the node of the
decision tree) and from the content file (`assets/health_book/guide.toml`);
taps become `HealthBookAnswered` / `HandoutRequested` events. Step screens
page through their numbered steps one at a time, large, with the picture,
and speak each one; the page is presentation only (the journey does not
care which step is on screen). The BHYT number is shown large beside the
steps that ask the patient to type it.
"""

from __future__ import annotations

import logging
from typing import Any

from kivy.app import App
from kivy.clock import Clock
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.image import Image

from kiosk.assets import asset_path, assets_dir
from kiosk.journey import events as ev
from kiosk.journey.health_book import Answer, Guide, Node
from kiosk.journey.health_book_content import Content, load, picture_variant
from kiosk.journey.state import Session, Step
from kiosk.ui.context import Ctx
from kiosk.ui.prompts import PromptPlayer
from kiosk.ui.registry import register_screen
from kiosk.ui.screens.base import StepScreen
from kiosk.ui.widgets import Panel, Text, paint

log = logging.getLogger(__name__)
_NAVIGATION = (Answer.BACK, Answer.QUIT)


def picture_source(name: str | None, lang: str) -> str:
    """The guide picture `name` drawn for `lang` (`install.en.png`), else the
    Vietnamese one: pictures without words have no variant, and a hospital's own
    artwork may come without one."""
    if not name:
        return ""
    for candidate in dict.fromkeys((picture_variant(name, lang), name)):
        try:
            return str(asset_path("images", "health_book", candidate))
        except FileNotFoundError:
            continue
    log.warning("health-book picture missing: %s", name)
    return ""


class PictureButton(ButtonBehavior, BoxLayout):
    """A big answer button: picture on the left, words on the right."""

    def __init__(self, ctx: Ctx, kid: str, style: str = "primary", **kw: Any) -> None:
        s = ctx.theme.sizes
        super().__init__(orientation="horizontal", padding=ctx.px(16), spacing=ctx.px(16),
                         size_hint_y=None, height=ctx.px(s.button_height + 60), **kw)
        p = ctx.theme.palette
        bg, fg = {"primary": (p.primary, p.primary_text),
                  "secondary": (p.secondary, p.secondary_text)}[style]
        paint(self, bg, radius=ctx.px(22))
        self.kid = kid
        self.icon = Image(size_hint_x=None, width=ctx.px(s.button_height + 20),
                          fit_mode="contain")
        self.label = Text(ctx, "subheading", color=fg, bold=True, halign="center")
        self.label.size_hint_y = 1
        self.add_widget(self.icon)
        self.add_widget(self.label)
        self.on_tap: Any = None

    def show(self, text: str, picture: str | None) -> None:
        self.label.text = text
        self.icon.source = picture or ""
        self.icon.opacity = 1 if picture else 0
        self.icon.width = self.icon.width if picture else 0

    def on_release(self) -> None:
        if self.on_tap is not None:
            self.on_tap()


@register_screen(Step.HEALTH_BOOK)
class HealthBookGuideScreen(StepScreen):
    step = Step.HEALTH_BOOK

    def build(self) -> None:
        self.guide_content: Content = load()
        self.player = PromptPlayer(assets_dir() / "sounds" / "health_book")
        self.node: Node | None = None
        self.page = 0
        self._spoken: str | None = None
        ctx = self.ctx
        self.title = self.heading()
        row = BoxLayout(orientation="horizontal", spacing=ctx.px(24))
        self.picture = Image(size_hint_x=0.34, fit_mode="contain")
        # Top padding: the counter's stacked diacritics ("Bước") must not meet the
        # heading's descenders above it.
        column = BoxLayout(orientation="vertical", spacing=ctx.px(12), padding=(0, ctx.px(14),
                                                                                0, 0))
        self.counter = Text(ctx, "small", bold=True)
        self.body = Text(ctx, "body")
        self.card_panel = Panel(ctx, "info")
        self.card_label = Text(ctx, "body", color=self.card_panel.fg, halign="center")
        self.card_number = Text(ctx, "heading", color=self.card_panel.fg, bold=True,
                                halign="center")
        self.card_number.font_size = ctx.px(76)
        self.card_number.kid = "hb.card_number"
        self.card_panel.add_widget(self.card_label)
        self.card_panel.add_widget(self.card_number)
        self.status = Text(ctx, "small")
        for w in (self.counter, self.body, self.card_panel, self.status):
            column.add_widget(w)
        column.add_widget(BoxLayout())  # pushes the text up
        row.add_widget(self.picture)
        row.add_widget(column)
        self.content.add_widget(row)
        self.answer_row = BoxLayout(orientation="horizontal", spacing=ctx.px(20),
                                    size_hint_y=None, height=ctx.px(200))
        self.content.add_widget(self.answer_row)
        self.answer_buttons: dict[Answer, PictureButton] = {}
        self.back = self.button("hb.back", None, "secondary")
        self.back.bind(on_release=lambda *_: self._back())
        self.print_button = self.button("hb.print", ev.HandoutRequested(), "secondary",
                                        slot="right")
        self.quit = self.button("hb.quit", ev.HealthBookAnswered(Answer.QUIT), "secondary",
                                slot="left")

    # -- taps ---------------------------------------------------------------------
    def _steps(self) -> int:
        return len(self.guide_content.nodes[self.node].steps) if self.node else 0

    def _answer(self, answer: Answer) -> None:
        if answer is Answer.NEXT and self.page < self._steps() - 1:
            self._turn(self.page + 1)  # next numbered step first; the journey moves after
            return
        self.ctx.send(ev.HealthBookAnswered(answer))

    def _back(self) -> None:
        if self.page > 0:
            self._turn(self.page - 1)
            return
        self.ctx.send(ev.HealthBookAnswered(Answer.BACK))

    def _turn(self, page: int) -> None:
        self.page = page
        self.render(self._session)
        if self.ctx.view_changed is not None:
            self.ctx.view_changed()

    def view_key(self) -> object:
        return (self.node, self.page)

    # -- drawing ------------------------------------------------------------------
    def render(self, session: Session) -> None:
        self._session = session
        guide = session.health_book
        if guide is None:
            return
        if guide.node is not self.node:
            self.node = guide.node
            self.page = 0
        lang = self.ctx.lang
        node = self.guide_content.nodes[guide.node]
        steps = node.steps
        step = steps[self.page] if steps else None
        self.title.text = node.title.get(lang)
        if step is not None:
            self.counter.text = (f"Bước {self.page + 1}/{len(steps)}" if lang != "en"
                                 else f"Step {self.page + 1} of {len(steps)}")
            self.body.text = step.text.get(lang)
            picture = step.picture or node.picture
            prompt = f"{guide.node.value}_{self.page + 1}"
        else:
            self.counter.text = ""
            self.body.text = node.body.get(lang)
            picture = node.picture
            prompt = guide.node.value
        self.picture.source = self._image(picture)
        self._card(guide, step.show_card_number if step else guide.node is Node.INTEGRATE)
        self._answers(guide)
        self.status.text = self._handout_text(guide)
        self.print_button.text = self.guide_content.answers["print"].text.get(lang)
        self.print_button.disabled = guide.handout == "printing"
        self.back.text = self.guide_content.answers["back"].text.get(lang)
        self.back.opacity = 1 if (guide.history or self.page) else 0
        self.back.disabled = not (guide.history or self.page)
        self.quit.text = self.guide_content.answers["quit"].text.get(lang)
        self._speak(f"{lang}/{prompt}")

    def _image(self, name: str | None) -> str:
        return picture_source(name, self.ctx.lang)

    def _card(self, guide: Guide, wanted: bool) -> None:
        show = wanted and guide.bhyt_number is not None
        self.card_label.text = ("Số thẻ BHYT của bạn:" if self.ctx.lang != "en"
                                else "Your BHYT card number:") if show else ""
        self.card_number.text = guide.bhyt_number or "" if show else ""
        self.card_panel.opacity = 1 if show else 0
        if not show:
            self.card_panel.height = 0

    def _answers(self, guide: Guide) -> None:
        wanted = [a for a in guide.answers() if a not in _NAVIGATION]
        if tuple(self.answer_buttons) != tuple(wanted):
            self.answer_row.clear_widgets()
            self.answer_buttons = {}
            for i, a in enumerate(wanted):
                style = "primary" if i == 0 else "secondary"
                b = PictureButton(self.ctx, f"hb.answer.{a.value}", style)
                b.on_tap = lambda a=a: self._answer(a)
                self.answer_row.add_widget(b)
                self.answer_buttons[a] = b
        for a, b in self.answer_buttons.items():
            label = self.guide_content.label(guide.node, a)
            text = label.text.get(self.ctx.lang)
            if a is Answer.NEXT and self.page < self._steps() - 1:
                text = self.guide_content.answers["next"].text.get(self.ctx.lang)
            b.show(text, self._image(label.picture))

    def _handout_text(self, guide: Guide) -> str:
        en = self.ctx.lang == "en"
        return {
            "printing": "Printing the steps…" if en else "Đang in hướng dẫn…",
            "printed": "Please take the printed slip." if en else "Mời bạn lấy phiếu hướng dẫn.",
            "failed": ("The slip could not be printed; please ask at the reception desk." if en
                       else "Chưa in được phiếu; mời bạn hỏi quầy tiếp đón."),
        }.get(guide.handout or "", "")

    def _speak(self, key: str) -> None:
        if key == self._spoken:
            return
        self._spoken = key
        # After this frame: the app speaks its generic step prompt right after
        # render(); the guide's own, more specific prompt replaces it.
        Clock.schedule_once(lambda _dt: self._say(key), 0)

    def _say(self, key: str) -> None:
        if key != self._spoken:
            return  # the patient already moved on
        app = App.get_running_app()
        shared = getattr(app, "prompts", None)
        if shared is not None:
            shared.stop()  # the journey's own prompt must not talk over the step
            self.player.enabled = shared.enabled
        lang, name = key.split("/", 1)
        self.player.play(name, lang)

    def hidden(self) -> None:
        self.player.stop()
        self._spoken = None

    def wipe(self) -> None:
        # The BHYT number is the only personal datum this screen ever shows.
        self.card_number.text = ""
        self.node = None
        self.page = 0
        self._spoken = None


__all__ = ["HealthBookGuideScreen", "PictureButton", "picture_source"]
