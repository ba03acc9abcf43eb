"""Run in a subprocess by test_health_book_ui.py: the real guide screen in a Kivy
window on Xvfb, driven by simulated touches on its buttons; prints a JSON log."""

import json
import os
import sys
from pathlib import Path

from kiosk.ui.hardening import DisplayOptions, apply

apply(DisplayOptions(fullscreen=False, touch=False, width=1280, height=720), audio=False,
      kivy_home=Path(sys.argv[1]))

from kivy.app import App  # noqa: E402
from kivy.clock import Clock  # noqa: E402
from kivy.core.window import Window  # noqa: E402
from kivy.uix.screenmanager import ScreenManager  # noqa: E402

from kiosk.journey import Journey, Step  # noqa: E402
from kiosk.journey.health_book import Guide, Node  # noqa: E402
from kiosk.journey.state import Session  # noqa: E402
from kiosk.ui.context import Ctx  # noqa: E402
from kiosk.ui.i18n import Strings  # noqa: E402
from kiosk.ui.inspect import find, tap  # noqa: E402
from kiosk.ui.registry import load_plugins, screen_class  # noqa: E402

# name -> [start node, card number, [kid, ...]] and optionally the language ("vi" default)
PATHS = json.loads(os.environ["HB_PATHS"])


class Driver(App):
    def build(self):
        load_plugins()
        self.journey = Journey()
        self.log = {"screen": screen_class(Step.HEALTH_BOOK).__name__, "paths": {}}
        self.ctx = Ctx(Strings.load(), self.send, scale=720 / 1080)
        self.screen = screen_class(Step.HEALTH_BOOK)(self.ctx)
        sm = ScreenManager()
        sm.add_widget(self.screen)
        self.events = []
        self.queue = list(PATHS.items())
        Clock.schedule_once(self.next_path, 0.5)
        return sm

    def send(self, event):
        self.events.append(type(event).__name__)
        self.journey.handle(event, 1.0)
        if self.journey.session.step is Step.HEALTH_BOOK:
            self.screen.render(self.journey.session)

    def next_path(self, _dt):
        if not self.queue:
            print(json.dumps(self.log, ensure_ascii=False))
            self.stop()
            return
        name, (start_node, card, kids, *lang) = self.queue.pop(0)
        self.ctx.lang = lang[0] if lang else "vi"
        guide = Guide(Node(start_node), card)
        self.journey.session = Session(id=1, step=Step.HEALTH_BOOK, health_book=guide)
        self.screen.render(self.journey.session)
        self.trail = {"nodes": [start_node], "texts": [], "pictures": [], "missing": None}
        self.log["paths"][name] = self.trail
        self.kids = list(kids)
        Clock.schedule_once(self.press, 0.1)

    def press(self, _dt):
        guide = self.journey.session.health_book
        self.trail["texts"].append([self.screen.title.text, self.screen.body.text,
                                    self.screen.card_number.text])
        # File names of the big picture and of the answer buttons' pictures.
        icons = [b.icon.source for b in self.screen.answer_buttons.values()]
        self.trail["pictures"].append([Path(s).name for s in [self.screen.picture.source, *icons]
                                       if s])
        if not self.kids:
            self.trail["end"] = (self.journey.session.step.value,
                                 guide.node.value if guide else None,
                                 guide.completed if guide else None)
            self.trail["handout"] = guide.handout if guide else None
            Clock.schedule_once(self.next_path, 0.1)
            return
        kid = self.kids.pop(0)
        widget = find(self.screen, kid)
        if widget is None:
            self.trail["missing"] = kid
            self.kids = []
        else:
            tap(widget)
            guide = self.journey.session.health_book
            self.trail["nodes"].append(guide.node.value if guide else "done")
        Clock.schedule_once(self.press, 0.1)


Window.size = (1280, 720)
Driver().run()
