"""Scripted patients played through the real widgets with simulated touches.

A script is a list of actions; the player runs them on the Kivy clock, one
per frame at most, waiting for screens to settle. It records what happened
(steps seen, taps, prompts spoken, text-fit problems, screenshots) so the
demo can print it and the tests can assert on it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from kivy.clock import Clock
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.label import Label

from kiosk.journey.state import Step
from kiosk.ui.actions import (
    Action,
    Do,
    Mark,
    Patient,
    Say,
    Shot,
    Skip,
    Sleep,
    Tap,
    Type,
    Wait,
)
from kiosk.ui.app import KioskApp
from kiosk.ui.inspect import all_texts, find, fit_problems, grab_next_frame, tap_at, visible

EARLY_S = 2.0  # a screen's settle time at most (guard_max_s), and a transition


class OffsetClock:
    """Monotonic time that a script can move forward."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.monotonic() + self.offset


@dataclass
class PatientLog:
    key: str
    title: str
    steps: list[str] = field(default_factory=list)
    taps: list[str] = field(default_factory=list)
    taps_card_to_ticket: int | None = None
    screenshots: list[str] = field(default_factory=list)


@dataclass
class Report:
    patients: list[PatientLog] = field(default_factory=list)
    transcript: list[str] = field(default_factory=list)
    fit_problems: dict[str, list[str]] = field(default_factory=dict)
    prompts: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    wipe_leaks: list[str] = field(default_factory=list)
    timings: dict[str, list[float]] = field(default_factory=dict)
    memory_mib: list[float] = field(default_factory=list)  # RSS before each patient, at end
    timeline: list[tuple[str, float]] = field(default_factory=list)  # (step, seconds in)
    registrations: list[dict[str, str]] = field(default_factory=list)  # id, number, room
    # How far each identity on screen was verified, in order ("chip_pending",
    # "chip_verified"...): a clone must never reach "chip_verified" (issue 24).
    identity_marks: list[str] = field(default_factory=list)
    repeated_taps: int = 0  # second and third taps of double and triple taps
    # Between patients: labels off display still holding text pixels (see text_memory).
    off_display_textures: list[str] = field(default_factory=list)
    kept_text_surfaces: int = 0
    # Screen changes with the buttons a patient could tap on each side (the screen left,
    # the last one with buttons before it, and the one entered): the spatial-safety check.
    transitions: list[dict[str, Any]] = field(default_factory=list)

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), ensure_ascii=False, indent=2), "utf-8")


def resident_mib() -> float:
    """This process's resident set size (Linux /proc)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class Player:
    def __init__(self, app: KioskApp, script: list[Action], shots_dir: Path | None,
                 clock: OffsetClock, on_done: Callable[[Report], None],
                 echo: Callable[[str], None] | None = None,
                 personal: Callable[[], list[str]] | None = None) -> None:
        self.app = app
        self.script = list(script)
        self.shots_dir = shots_dir
        self.clock = clock
        self.on_done = on_done
        self.echo = echo
        self.personal = personal  # strings that must vanish from widgets after a reset
        self.report = Report()
        self._i = 0
        self._busy = False
        self._wait_started = 0.0
        self._patient: PatientLog | None = None
        self._last_step: Step | None = None
        self._shot_no = 0
        self._event: Any = None
        self._mark: int | None = None
        self._started = self._step_seen_at = time.monotonic()
        self._sleep_until = 0.0
        self._again: Callable[[float], None] | None = None
        self._buttons: dict[str, dict[str, Any]] = {}  # tappable on the current screen
        self._left: tuple[str, dict[str, dict[str, Any]]] | None = None
        self._tapped_at = -1e9  # on the app's clock (skipped time counts)
        self._entered_after_tap = 1e9
        self._entered_at = 0.0
        self._early: dict[str, dict[str, Any]] = {}

    # -- running -------------------------------------------------------------------
    def start(self) -> None:
        self._event = Clock.schedule_interval(self._frame, 0)

    def say(self, line: str) -> None:
        self.report.transcript.append(line)
        if self.echo is not None:
            self.echo(line)

    def _finish(self) -> None:
        if self._event is not None:
            self._event.cancel()
        self.report.prompts = list(self.app.prompts.played)
        self.report.memory_mib.append(resident_mib())
        self.on_done(self.report)

    def _fail(self, message: str) -> None:
        self.report.failures.append(message)
        self.say(f"  !! {message}")
        self._finish()

    def _settled(self) -> bool:
        manager = self.app.manager
        return not manager.transition.is_active and not self.app.in_guard()

    def _track_buttons(self, step: Step) -> None:
        """Remember every button the current screen offered (visible and enabled) and,
        when the screen changes, the pair of screens with their buttons."""
        if step is not self._last_step and self._last_step is not None:
            if self._buttons:
                if self._left is not None:
                    self.report.transitions.append({
                        "from": self._left[0], "to": self._last_step.value,
                        "after_tap_s": round(self._entered_after_tap, 2),
                        "from_buttons": list(self._left[1].values()),
                        "to_buttons": list(self._early.values())})
                self._left = (self._last_step.value, self._buttons)
            self._buttons, self._early = {}, {}
        if step is not self._last_step:
            self._entered_after_tap = self.clock() - self._tapped_at
            self._entered_at = self.clock()  # the app's clock: skipped time counts
        if self.app.manager.transition.is_active:
            return
        for w in visible(self.app.screens[step]):
            if isinstance(w, ButtonBehavior) and not w.disabled and hasattr(w, "kid"):
                x, y = w.to_window(w.x, w.y)
                self._buttons[w.kid] = {"kid": w.kid, "style": getattr(w, "style", ""),
                                        "rect": [round(x), round(y), round(w.width),
                                                 round(w.height)]}
                # What a second tap can still meet: buttons there soon after the screen
                # came (the ticket's "Tiếp tục" waits 3 s, out of a double tap's reach).
                if self.clock() - self._entered_at <= EARLY_S:
                    self._early[w.kid] = self._buttons[w.kid]

    def _track_step(self) -> None:
        session = self.app.session
        step = session.step
        self._track_buttons(step)
        reg = session.registration
        if reg is not None and all(r["registration_id"] != reg.id
                                   for r in self.report.registrations):
            self.report.registrations.append(
                {"registration_id": reg.id, "queue_number": reg.queue_number,
                 "room": reg.room})
        mark = session.identity.verification if session.identity else None
        if mark and self.report.identity_marks[-1:] != [mark]:
            self.report.identity_marks.append(mark)
        if step is not self._last_step:
            self._last_step = step
            self._step_seen_at = time.monotonic()
            if not self.report.timeline or self.report.timeline[-1][0] != step.value:
                at = round(self._step_seen_at - self._started, 3)
                self.report.timeline.append((step.value, at))
            if self._patient is not None:
                self._patient.steps.append(step.value)
            self.say(f"    [màn hình] {step.value}")
            p = self._patient
            if step is Step.TICKET and p is not None and self._mark is not None:
                p.taps_card_to_ticket = len(p.taps) - self._mark
                self._mark = None
            if step is Step.IDLE and self.personal is not None:
                Clock.schedule_once(lambda _dt: self._check_wipe(), 0)

    def _check_wipe(self) -> None:
        shown = "\n".join(all_texts(self.app.root_widget))
        for secret in self.personal() if self.personal else []:
            if secret and secret in shown:
                self.report.wipe_leaks.append(secret[:3] + "…")

    def _audit_textures(self) -> None:
        for holder in self.app.textures.widgets:
            labels = [w for w in holder.walk(restrict=True) if isinstance(w, Label)]
            self.report.kept_text_surfaces += sum(hasattr(w._label, "_surface") for w in labels)
            if holder.parent is None:
                name = getattr(holder, "name", "") or type(holder).__name__
                self.report.off_display_textures += [
                    f"{name}/{type(w).__name__}" for w in labels
                    if w.texture is not None or w._label.texture is not None]

    def _frame(self, _dt: float) -> None:
        self._track_step()
        if self._busy:
            return
        if self._i >= len(self.script):
            self._finish()
            return
        action = self.script[self._i]
        if self._run(action):
            self._i += 1
            self._wait_started = 0.0

    def _run(self, action: Action) -> bool:  # True: done, move on
        app = self.app
        if isinstance(action, Patient):
            # Let the texture sweep after the last change (a step, or an overlay opened
            # or closed: `view_changed_at`, on the app's own clock) run first.
            since = min(time.monotonic() - self._step_seen_at,
                        app.clock() - app.view_changed_at)
            if since < app.options.transition_s + 0.3:
                return False
            self._audit_textures()
            self.report.memory_mib.append(resident_mib())
            self._patient = PatientLog(action.key, action.title)
            self.report.patients.append(self._patient)
            self._last_step = None
            self.say(f"\n── {action.title}")
            return True
        if isinstance(action, Mark):
            self._mark = len(self._patient.taps) if self._patient else 0
            return True
        if isinstance(action, Say):
            self.say(action.text)
            return True
        if isinstance(action, Do):
            if action.what:
                self.say(f"  [bệnh nhân] {action.what}")
            action.fn()
            return True
        if isinstance(action, Skip):
            self.clock.offset += action.seconds
            self.say(f"  [thời gian] {action.what or f'{action.seconds:.0f} giây trôi qua'}")
            return True
        if isinstance(action, Sleep):
            if not self._sleep_until:
                self._sleep_until = time.monotonic() + action.seconds
            if time.monotonic() < self._sleep_until:
                return False
            self._sleep_until = 0.0
            return True
        if isinstance(action, Wait):
            if not self._wait_started:
                self._wait_started = time.monotonic()
            ok = (action.step is None or app.session.step is action.step) and (
                action.until is None or action.until(app)) and (
                not action.steps or app.session.step in action.steps)
            if ok:
                return True
            if time.monotonic() - self._wait_started > action.timeout:
                wanted = action.step or action.until or [s.value for s in action.steps]
                self._fail(f"timed out waiting for {wanted} (on {app.session.step.value})")
            return False
        if not self._settled():
            return False
        if isinstance(action, Type):
            self._type(action.digits)
            return False  # replaced by the taps it stands for
        if isinstance(action, Tap):
            widget = find(app.root_widget, action.kid)
            if widget is None:
                if action.optional:
                    return True
                self._fail(f"no visible widget {action.kid!r} on {app.session.step.value}")
                return False
            if action.what:
                self.say(f"  [bệnh nhân] {action.what}")
            if self._patient is not None:
                self._patient.taps.append(action.kid)
            x, y = widget.to_window(*widget.center)
            self._tapped_at = self.clock()
            tap_at(x, y)
            if action.repeat_ms > 0 and action.taps > 1:
                self._repeat(x, y, action.repeat_ms / 1000, action.taps - 1)
            return True
        if isinstance(action, Shot):
            if self.shots_dir is not None:  # None: a measuring run (benchmarks/ui.py)
                self._shoot(action, self.shots_dir)
            return True
        raise TypeError(action)  # pragma: no cover

    def _type(self, digits: str) -> None:
        """Stand the typing in for its taps: open the keypad if needed, then the digits
        (the keypad goes on by itself after the sixth)."""
        taps: list[Action] = []
        if self.app.session.step is Step.IDLE:
            taps += [Tap("start"), Wait(Step.NEED_KEY)]
        taps += [Tap(f"keypad.{d}") for d in digits]
        self.script[self._i:self._i + 1] = taps

    def _repeat(self, x: float, y: float, gap_s: float, more: int) -> None:
        """The same spot again after `gap_s`, whatever is on screen by then (the
        player waits: nothing else happens between the taps of a double tap)."""
        self._busy = True

        def again(_dt: float) -> None:
            tap_at(x, y)
            self.report.repeated_taps += 1
            if more > 1:
                self._repeat(x, y, gap_s, more - 1)
            else:
                self._busy = False

        self._again = again  # Kivy's clock holds callbacks weakly
        Clock.schedule_once(again, gap_s)

    # -- screenshots and fit checks ------------------------------------------------
    def _shoot(self, action: Shot, shots_dir: Path) -> None:
        self._busy = True
        self._shot_no += 1
        name = f"{self._shot_no:02d}-{action.name}"
        langs = ["vi", "en"] if action.fit else []
        start_lang = self.app.ctx.lang

        def check_next(_dt: float = 0) -> None:
            if langs:
                lang = langs.pop(0)
                self.app.ctx.lang = lang
                self.app.render(self.app.session)
                # two frames: texture sizes, then layout
                Clock.schedule_once(lambda _dt: Clock.schedule_once(
                    lambda _dt: record(lang), 0), 0)
            else:
                self.app.ctx.lang = start_lang
                self.app.render(self.app.session)
                Clock.schedule_once(lambda _dt: grab_next_frame(
                    shots_dir / f"{name}.png", saved), 0.05)

        def record(lang: str) -> None:
            problems = fit_problems(self.app.root_widget)
            if problems:
                self.report.fit_problems[f"{name}/{lang}"] = problems
            check_next()

        def saved(path: Path) -> None:
            if self._patient is not None:
                self._patient.screenshots.append(path.name)
            self._busy = False

        check_next()
