"""The kiosk's Kivy application: one screen per journey step, driven only by
the journey (`Journey.session`), talking to it only through events.

Threads: effects (chip, BHXH, HIS, printer) run on the runner's worker pool
and device sources emit from their own threads; both reach the journey only
through `Clock.schedule_once`, so the UI thread never waits on I/O and the
systemd watchdog (pinged from the UI clock) notices if it ever stops.
Import this module only after `kiosk.ui.hardening.apply()`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from kivy.app import App
from kivy.clock import Clock
from kivy.core.text import LabelBase
from kivy.core.window import Window
from kivy.uix.anchorlayout import AnchorLayout
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.floatlayout import FloatLayout
from kivy.uix.gridlayout import GridLayout
from kivy.uix.screenmanager import NoTransition, ScreenManager, SlideTransition
from kivy.uix.scrollview import ScrollView
from kivy.uix.widget import Widget

from kiosk.assets import asset_path
from kiosk.journey import events as ev
from kiosk.journey.face import FaceStepSettings
from kiosk.journey.machine import Journey, JourneySettings
from kiosk.journey.runner import Ports, Runner
from kiosk.journey.state import Session, Step
from kiosk.ops import activity
from kiosk.ops.pin_attempts import PinAttempts
from kiosk.runtime import sdnotify
from kiosk.ui.context import Ctx
from kiosk.ui.devices import DeviceSource, PreviewSource
from kiosk.ui.hardening import Blanking, OpeningHours
from kiosk.ui.i18n import Strings
from kiosk.ui.prompts import PromptPlayer, prompt_for
from kiosk.ui.registry import load_plugins, screen_class
from kiosk.ui.screens.base import StepScreen
from kiosk.ui.staff import (
    RESTART_EXIT_CODE,
    Backdrop,
    PinGate,
    PinOverlay,
    RecentErrors,
    StaffOverlay,
    StaffStatus,
)
from kiosk.ui.text_memory import OffDisplayTextures
from kiosk.ui.text_memory import install as free_text_surfaces
from kiosk.ui.theme import hex_rgba
from kiosk.ui.widgets import BigButton, Panel, Text, paint

log = logging.getLogger(__name__)
free_text_surfaces()
KEY_SIMULATOR = 293  # F12 toggles the simulator panel (demo with a display)
KEY_ESCAPE = 27


@dataclass
class UiOptions:
    language: str = "vi"
    facility_name: str = ""
    timezone: str = "Asia/Ho_Chi_Minh"
    idle_timeout_s: float = 45.0
    idle_warning_s: float = 15.0
    staff_pin: str = ""
    opening_hours: str = "00:00-24:00"
    animations: bool = True
    sound: bool = True
    transition_s: float = 0.25
    # A view (screen, guide page, overlay) takes touches only once it has settled:
    # this long after it appeared, and as long again after each touch it swallowed
    # (a triple tap), but never longer than `guard_max_s` after it appeared.
    step_guard_s: float = 0.7
    guard_max_s: float = 1.6
    tick_s: float = 0.5
    pin_state: Path | None = None  # wrong-PIN count kept across restarts (kiosk.ops.pin_attempts)
    staff_idle_s: float = 60.0  # the staff screen and PIN pad close after this long untouched
    card_reminder_s: float = 8.0  # "take your card" is said again this often
    watchdog_s: float = 2.0
    workers: int = 4
    face: FaceStepSettings = dataclasses.field(default_factory=FaceStepSettings)  # issue 29


class KioskRoot(FloatLayout):
    """Routes touches: a blanked screen wakes without pressing, one finger at a time,
    and a tap acts only on the view it was aimed at: it must go down after that view
    settled and come up before the view changed (elderly hands double-tap, and the
    second tap must not land on whatever the first one brought up)."""

    def __init__(self, app: KioskApp, **kw: Any) -> None:
        super().__init__(**kw)
        self.app = app
        self._active: Any = None
        self._view: Any = None

    def on_touch_down(self, touch: Any) -> bool:
        app = self.app
        if app.blank_layer.parent is not None:
            app.wake()
            return True
        if self._active is not None:
            return True  # a second finger
        if app.in_guard():
            app.extend_guard()  # a double or triple tap: all of it is swallowed
            return True
        self._active = touch.uid
        self._view = app.view
        super().on_touch_down(touch)
        app.keep_alive()
        return True

    def on_touch_move(self, touch: Any) -> bool:
        if touch.uid != self._active:
            return True
        return bool(super().on_touch_move(touch))

    def on_touch_up(self, touch: Any) -> bool:
        if touch.uid != self._active:
            return True
        self._active = None
        self.app.note_view()
        if self.app.view != self._view:
            _cancel_presses(touch)  # the view changed under the finger: press nothing
            return True
        return bool(super().on_touch_up(touch))


def _cancel_presses(touch: Any) -> None:
    """Release whatever the touch pressed without firing it (buttons fire on
    release through the touch's grab list, after the root has seen the touch)."""
    for ref in list(touch.grab_list):
        widget = ref()
        if widget is None:
            continue
        touch.ungrab(widget)
        if isinstance(widget, ButtonBehavior):
            widget.state = "normal"


class KioskApp(App):
    title = "Kiosk"

    def __init__(
        self,
        options: UiOptions,
        ports: Ports,
        devices: Sequence[DeviceSource] = (),
        staff_status: Callable[[], StaffStatus] | None = None,
        clock: Callable[[], float] = time.monotonic,
        simulator_actions: Sequence[tuple[str, str, Callable[[], None]]] = (),
        on_started: Callable[[KioskApp], None] | None = None,
        strings: Strings | None = None,
    ) -> None:
        super().__init__()
        self.options = options
        self.ports = ports
        self.devices = list(devices)
        self.staff_status = staff_status
        self.clock = clock
        self.simulator_actions = list(simulator_actions)
        self.on_started = on_started
        self.strings = strings or Strings.load()
        self.exit_code = 0
        self.session = Session()
        self.view: tuple[Any, ...] = ()
        self.view_changed_at = 0.0
        self.settled_at = 0.0
        self.screens: dict[Step, StepScreen] = {}
        self.recent_errors = RecentErrors()
        self.executor = ThreadPoolExecutor(max_workers=options.workers,
                                           thread_name_prefix="kiosk-effect")
        self.use_kivy_settings = False
        self._prompt_key: str | None = None
        self._notice: object = None
        self.blanking = Blanking(OpeningHours.parse(options.opening_hours))
        self._zone = ZoneInfo(options.timezone)
        self._last_touch = clock()

    # -- building ----------------------------------------------------------------
    def build(self) -> Widget:
        fonts = asset_path("fonts")
        # One font with full Vietnamese coverage everywhere (replaces Kivy's default).
        LabelBase.register("Roboto", str(fonts / "DejaVuSans.ttf"),
                           fn_bold=str(fonts / "DejaVuSans-Bold.ttf"))
        logging.getLogger().addHandler(self.recent_errors)
        ctx = Ctx(strings=self.strings, send=self.send, animations=self.options.animations,
                  timezone=self.options.timezone,
                  view_changed=self.note_view,
                  lang=self.options.language, images_dir=asset_path("images"))
        camera = next((d for d in self.devices if isinstance(d, PreviewSource)), None)
        ctx.preview = camera.preview if camera is not None else None
        ctx.scale = ctx.theme.scale(*Window.size)
        Window.clearcolor = hex_rgba(ctx.theme.palette.background)
        self.ctx = ctx
        self.prompts = PromptPlayer(asset_path("sounds"), enabled=self.options.sound)
        self.plugins = load_plugins()

        root = KioskRoot(self)
        frame = BoxLayout(orientation="vertical")
        frame.add_widget(self._top_bar())
        frame.add_widget(self._card_reminder())
        transition: Any = (SlideTransition(duration=self.options.transition_s)
                           if self.options.transition_s > 0 else NoTransition())
        self.manager = ScreenManager(transition=transition)
        for step in Step:
            screen = screen_class(step)(ctx)
            self.screens[step] = screen
            self.manager.add_widget(screen)
        frame.add_widget(self.manager)
        root.add_widget(frame)
        self.root_widget = root
        self.warning_layer = self._idle_warning()
        self.blank_layer = self._blank()
        attempts = PinAttempts(self.options.pin_state) if self.options.pin_state else None
        self.gate = PinGate(self.options.staff_pin, attempts=attempts)
        self.pin_layer = PinOverlay(ctx, self.gate, self._open_staff, self._close_staff)
        self.staff_layer = StaffOverlay(ctx, self.restart, self._close_staff)
        self.simulator_layer = self._simulator_panel()
        self.textures = OffDisplayTextures(
            [*self.screens.values(), self.warning_layer, self.blank_layer, self.pin_layer,
             self.staff_layer, self.simulator_layer], delay_s=self.options.transition_s + 0.1)

        settings = JourneySettings(idle_timeout_s=self.options.idle_timeout_s,
                                   idle_warning_s=self.options.idle_warning_s,
                                   find_appointments=self.ports.appointments is not None,
                                   face=self.options.face)
        self.journey = Journey(settings, today=lambda: dt.datetime.now(self._zone).date())
        self.runner = Runner(self.journey, self.ports, executor=self.executor,
                             post=self.post, clock=self.clock, on_change=self._changed)
        Window.bind(on_key_down=self._key)
        return root

    def _top_bar(self) -> Widget:
        ctx = self.ctx
        s = ctx.theme.sizes
        bar = BoxLayout(orientation="horizontal", size_hint_y=None, height=ctx.px(s.bar_height),
                        padding=(ctx.px(s.margin), ctx.px(12)), spacing=ctx.px(20))
        paint(bar, ctx.theme.palette.bar)
        self.staff_corner = _Hotspot(self._corner_tap, size_hint_x=None,
                                     width=ctx.px(s.bar_height))
        self.staff_corner.kid = "staff"
        self.facility = Text(ctx, "small", bold=True, color=ctx.theme.palette.bar_text)
        holder = AnchorLayout(anchor_y="center")
        holder.add_widget(self.facility)
        self.lang_button = BigButton(ctx, "lang", "secondary", on_tap=self.toggle_language,
                                     size_hint=(None, None), width=ctx.px(300),
                                     height=ctx.px(s.bar_height - 24))
        self.lang_button.font_size = ctx.px(s.small)
        for w in (self.staff_corner, holder, self.lang_button):
            bar.add_widget(w)
        return bar

    def _card_reminder(self) -> Widget:
        """A banner over every screen while the patient's card is left on the reader."""
        ctx = self.ctx
        self.reminder = Panel(ctx, "warn")
        self.reminder_text = Text(ctx, "heading", bold=True, halign="center",
                                  color=self.reminder.fg)
        self.reminder_text.kid = "take_card"
        self.reminder.add_widget(self.reminder_text)
        self._reminding: Any = None  # the repeating prompt while the banner is up
        self.reminder.opacity = 0
        self.reminder.unbind(minimum_height=self.reminder._follow)
        self.reminder.height = 0
        return self.reminder

    def _show_reminder(self, show: bool) -> None:
        panel = self.reminder
        self.reminder_text.text = self.ctx.t("take_card.heading") if show else ""
        if show == (self._reminding is not None):
            return  # only the language may have changed
        panel.opacity = 1 if show else 0
        if not show:
            panel.unbind(minimum_height=panel._follow)
            panel.height = 0
            self._reminding.cancel()
            self._reminding = None
            return
        panel.bind(minimum_height=panel._follow)
        panel._follow()
        # Said after the step's own prompt, then again until the card is lifted.
        Clock.schedule_once(self._say_take_card, 3.0)
        self._reminding = Clock.schedule_interval(self._say_take_card,
                                                  self.options.card_reminder_s)

    def _say_take_card(self, _dt: float) -> None:
        if self.session.remind_card:
            self.prompts.play("take_card", self.ctx.lang)

    def _idle_warning(self) -> Widget:
        ctx = self.ctx
        layer = Backdrop(hex_rgba("#000000", 0.6))
        card = BoxLayout(orientation="vertical", padding=ctx.px(48), spacing=ctx.px(28),
                         size_hint=(0.62, None), pos_hint={"center_x": 0.5, "center_y": 0.5})
        paint(card, ctx.theme.palette.overlay_card, radius=ctx.px(24))
        self.warning_title = Text(ctx, "heading", bold=True, halign="center")
        self.warning_body = Text(ctx, "subheading", halign="center")
        self.warning_yes = BigButton(ctx, "still_here", "primary",
                                     on_tap=lambda: self.send(ev.Touched()))
        for w in (self.warning_title, self.warning_body, self.warning_yes):
            card.add_widget(w)
        card.bind(minimum_height=card.setter("height"))
        layer.add_widget(card)
        return layer

    def _blank(self) -> Widget:
        ctx = self.ctx
        layer = Backdrop(hex_rgba(ctx.theme.palette.blank))
        self.blank_text = Text(ctx, "small", halign="center", color=ctx.theme.palette.blank_text,
                               pos_hint={"center_x": 0.5, "center_y": 0.1})
        layer.add_widget(self.blank_text)
        return layer

    def _simulator_panel(self) -> Widget:
        """F12 (demo with a display): the simulated devices' buttons, two columns that
        scroll when there are more than fit under the top bar."""
        ctx = self.ctx
        layer = ScrollView(size_hint=(0.42, 0.84), pos_hint={"right": 0.99, "top": 0.88},
                           do_scroll_x=False)
        paint(layer, "#333333", radius=ctx.px(12))
        grid = GridLayout(cols=2, padding=ctx.px(16), spacing=ctx.px(10), size_hint_y=None)
        grid.bind(minimum_height=grid.setter("height"))
        for kid, label, action in self.simulator_actions:
            b = BigButton(ctx, f"sim.{kid}", "secondary", on_tap=action, text=label,
                          height=ctx.px(80))
            b.font_size = ctx.px(24)
            grid.add_widget(b)
        layer.add_widget(grid)
        return layer

    # -- lifecycle ----------------------------------------------------------------
    def on_start(self) -> None:
        Window.bind(on_request_close=self._refuse_close)
        _stop_on_signals(self)
        for source in self.devices:
            source.start(self.device_event)
        self.runner.dispatch(ev.Tick())
        Clock.schedule_interval(self._tick, self.options.tick_s)
        Clock.schedule_interval(self._check_blanking, 30)
        # The watchdog is pinged from the UI loop itself: a frozen loop stops the pings
        # and systemd restarts the kiosk (WatchdogSec in kiosk-ui.service).
        sdnotify.notify_ready(activity.IDLE_STATUS)
        interval = sdnotify.watchdog_interval() or self.options.watchdog_s
        Clock.schedule_interval(lambda _dt: sdnotify.notify_watchdog(), interval)
        if self.on_started is not None:
            Clock.schedule_once(self._call_started, 0)

    def _call_started(self, _dt: float) -> None:
        try:
            if self.on_started is not None:
                self.on_started(self)
        except Exception:
            log.exception("start-up hook failed")
            import traceback

            traceback.print_exc()
            self.exit_code = 1
            self.stop()

    def on_stop(self) -> None:
        for source in self.devices:
            try:
                source.stop()
            except Exception:
                log.exception("stopping a device source failed")
        self.prompts.stop()
        self.executor.shutdown(wait=False, cancel_futures=True)
        logging.getLogger().removeHandler(self.recent_errors)

    def _tick(self, _dt: float) -> None:
        self.runner.dispatch(ev.Tick())
        staff_open = self.pin_layer.parent is not None or self.staff_layer.parent is not None
        if staff_open and self.clock() - self._last_touch >= self.options.staff_idle_s:
            log.info("staff screen closed after %.0f s untouched", self.options.staff_idle_s)
            self._close_staff()

    def _refuse_close(self, *_args: Any, **_kw: Any) -> bool:
        log.warning("window close request refused (kiosk mode)")
        return True

    def open_settings(self, *largs: Any) -> bool:
        return False  # no Kivy settings panel (F1) on a kiosk

    def restart(self) -> None:
        self.exit_code = RESTART_EXIT_CODE
        self.stop()

    # -- events in -----------------------------------------------------------------
    def post(self, event: ev.Event) -> None:
        """From any thread: hand the event to the UI thread."""
        Clock.schedule_once(lambda _dt: self.runner.dispatch(event), 0)

    def device_event(self, event: ev.Event) -> None:
        """From a device thread: a card or a QR also wakes a blanked screen."""
        def deliver(_dt: float) -> None:
            if isinstance(event, ev.CardPlaced | ev.QrScanned) and self.blank_layer.parent:
                self.wake()
            self.runner.dispatch(event)

        Clock.schedule_once(deliver, 0)

    def send(self, event: ev.Event) -> None:
        """A patient action from a widget (UI thread)."""
        self.runner.dispatch(event)

    def keep_alive(self) -> None:
        self._last_touch = self.clock()
        if self.session.step is not Step.IDLE:
            self.runner.dispatch(ev.Touched())

    # -- what the patient is looking at ---------------------------------------------
    def _view_now(self) -> tuple[Any, ...]:
        """The current view: the step, the screen's own page (the guide's step) and
        which overlays are up. Any change makes the next touches wait."""
        screen = self.screens.get(self.session.step)
        page = screen.view_key() if screen is not None else None
        layers = tuple(id(w) for w in self.root_widget.children[:-1])  # [-1]: the frame
        return (self.session.step, page, layers)

    def note_view(self) -> None:
        view = self._view_now()
        if view != self.view:
            self.view = view
            now = self.clock()
            self.view_changed_at = now
            self.settled_at = now + self.options.step_guard_s

    def in_guard(self) -> bool:
        self.note_view()
        return self.clock() < self.settled_at

    def extend_guard(self) -> None:
        limit = self.view_changed_at + self.options.guard_max_s
        self.settled_at = max(self.settled_at,
                              min(self.clock() + self.options.step_guard_s, limit))

    def _key(self, _window: Any, key: int, *_args: Any) -> bool:
        if key == KEY_SIMULATOR and self.simulator_actions:
            self._toggle(self.simulator_layer)
            return True
        return key == KEY_ESCAPE  # swallow Escape: no way out but the staff screen

    # -- rendering ------------------------------------------------------------------
    def _changed(self, journey: Journey) -> None:
        self.render(journey.session)

    def render(self, session: Session) -> None:
        old = self.session
        self.session = session
        ctx = self.ctx
        if session.step is not old.step:
            if session.step is Step.IDLE:
                self.wipe()
                self._close(self.pin_layer)  # nobody is typing a PIN for a new patient
                self.pin_layer.clear()
            if (session.step is Step.IDLE) != (old.step is Step.IDLE):
                activity.announce(busy=session.step is not Step.IDLE)
            self.screens[old.step].hidden()
            self.manager.current = session.step.value
            self.screens[session.step].shown()
        self.facility.text = self.options.facility_name
        self.lang_button.text = ctx.t("lang.other")
        self.screens[session.step].render(session)
        self._show_warning(session.idle_warning)
        self._show_reminder(session.remind_card)
        self._speak(session)
        self.note_view()
        self.textures.schedule_sweep()  # text set on hidden screens (the wipe) too

    def _speak(self, session: Session) -> None:
        key = prompt_for(session)
        if key is not None and key != self._prompt_key:
            self.prompts.play(key, self.ctx.lang)
        elif session.notice is not None and session.notice != self._notice:
            self.prompts.play("notice", self.ctx.lang)
        self._prompt_key = key
        self._notice = session.notice

    def _show_warning(self, show: bool) -> None:
        t = self.ctx.t
        if show and self.warning_layer.parent is None:
            self.warning_title.text = t("idle_warning.heading")
            self.warning_body.text = t("idle_warning.body")
            self.warning_yes.text = t("idle_warning.yes")
            self.root_widget.add_widget(self.warning_layer)
        elif not show and self.warning_layer.parent is not None:
            self.root_widget.remove_widget(self.warning_layer)
        self.note_view()

    def wipe(self) -> None:
        """The session ended: no widget may keep anything personal, and the next
        patient starts in the kiosk's language."""
        for screen in self.screens.values():
            screen.wipe()
        self.ctx.lang = self.options.language
        self._prompt_key = None

    def toggle_language(self) -> None:
        self.ctx.lang = "en" if self.ctx.lang == "vi" else "vi"
        self._prompt_key = None
        self.render(self.session)

    # -- blanking -------------------------------------------------------------------
    def _check_blanking(self, _dt: float = 0) -> None:
        local = dt.datetime.now(self._zone).time()
        quiet = self.clock() - max(self._last_touch, self.session.last_activity)
        if self.blanking.should_blank(local, self.session.step is Step.IDLE, quiet):
            self.blank()

    def blank(self) -> None:
        if self.blank_layer.parent is None:
            self.blank_text.text = self.ctx.t("blank.body")
            self.prompts.stop()
            self.root_widget.add_widget(self.blank_layer)
            self.note_view()

    def wake(self) -> None:
        self._last_touch = self.clock()
        if self.blank_layer.parent is not None:
            self.root_widget.remove_widget(self.blank_layer)
        self.note_view()  # the waking touch presses nothing, nor one right after it

    # -- staff ----------------------------------------------------------------------
    def _corner_tap(self) -> None:
        if self.gate.tap(self.clock()):
            self.pin_layer.refresh()
            self.root_widget.add_widget(self.pin_layer)
            self.note_view()

    def _open_staff(self) -> None:
        self._close(self.pin_layer)
        self.staff_layer.show(None)
        self.root_widget.add_widget(self.staff_layer)
        self.note_view()
        self.refresh_staff()

    def refresh_staff(self) -> None:
        def collect() -> StaffStatus:
            base = self.staff_status() if self.staff_status else StaffStatus()
            devices = base.devices or [d.status() for d in self.devices]
            errors = base.errors or list(self.recent_errors.lines)
            return dataclasses.replace(base, devices=devices, errors=errors)

        def done(future: Any) -> None:
            try:
                status = future.result()
            except Exception:
                log.exception("staff status failed")
                status = StaffStatus(errors=["status unavailable"])
            camera = next((d for d in self.devices if isinstance(d, PreviewSource)), None)
            preview = camera.preview() if camera is not None else None
            Clock.schedule_once(lambda _dt: self.staff_layer.show(status, preview), 0)

        self.executor.submit(collect).add_done_callback(done)

    def _close_staff(self) -> None:
        self._close(self.pin_layer)
        self._close(self.staff_layer)
        self.pin_layer.clear()  # digits typed so far never wait for the next person

    def _close(self, layer: Widget) -> None:
        if layer.parent is not None:
            self.root_widget.remove_widget(layer)
        self.note_view()

    def _toggle(self, layer: Widget) -> None:
        if layer.parent is None:
            self.root_widget.add_widget(layer)
        else:
            self.root_widget.remove_widget(layer)
        self.note_view()


class _Hotspot(Widget):
    """An invisible touch area (the staff corner)."""

    def __init__(self, on_tap: Callable[[], None], **kw: Any) -> None:
        super().__init__(**kw)
        self._on_tap = on_tap

    def on_touch_down(self, touch: Any) -> bool:
        if self.collide_point(*touch.pos):
            self._on_tap()
            return True
        return False


def _stop_on_signals(app: KioskApp) -> None:
    """SIGTERM (systemd) and SIGINT stop the app cleanly from the UI thread."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return

    def handler(signum: int, _frame: Any) -> None:
        app.exit_code = 128 + signum if signum != signal.SIGTERM else 0
        Clock.schedule_once(lambda _dt: app.stop(), 0)

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


def sounds_dir() -> Path:
    return asset_path("sounds")
