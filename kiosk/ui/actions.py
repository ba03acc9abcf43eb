"""What a patient script is made of, and the script-file contract of `kiosk run
--script` (a JSON list of actions). Kivy-free, so a script is checked before a
window opens; `kiosk.ui.scenario.Player` plays the actions.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kiosk.journey.state import Step

if TYPE_CHECKING:
    from kiosk.ui.app import KioskApp

MAX_WAIT_S = 600.0
CAN_DIGITS = 6  # what `type` enters: the keypad goes on by itself after the sixth
# The ids a script may tap (`kid` of the real widgets; the touchscreen test checks
# every tappable widget of the scripted day against this list).
WIDGET_IDS = frozenset({
    "start", "cancel", "card.mine", "keypad.ok", "keypad.delete", "confirm.yes",
    "confirm.no", "continue", "back", "register", "reprint", "health.yes", "health.no",
    "health.done", "hb.back", "hb.print", "hb.quit", "home", "error.type", "lang", "staff",
    "staff.close", "staff.restart", "still_here", "appointment.check_in",
    "appointment.other", "face.consent.yes", "face.consent.no",
    "face.desk.continue", *(f"keypad.{d}" for d in "0123456789"),
})
# a clinic's code, a guide answer, one of several appointments
WIDGET_PREFIXES = ("service.", "hb.answer.", "appointment.")


def known_widget_id(kid: str) -> bool:
    return kid in WIDGET_IDS or (kid.startswith(WIDGET_PREFIXES)
                                 and len(kid) > len(kid.split(".")[0]) + 1)


@dataclass
class Tap:
    kid: str
    what: str = ""  # transcript wording
    repeat_ms: float = 0  # > 0: the same spot is tapped again this long after (a double tap)
    taps: int = 2  # with repeat_ms: how many taps in all (3: a triple tap)
    optional: bool = False  # no such widget on screen: skip instead of failing


@dataclass
class Wait:
    step: Step | None = None
    until: Callable[[KioskApp], bool] | None = None
    timeout: float = 8.0
    steps: tuple[Step, ...] = ()  # any of these


@dataclass
class Type:
    """Type digits on the ID keypad (opening it from the attract screen) and confirm."""

    digits: str


@dataclass
class Sleep:
    """Let real time pass (the journey's clock too)."""

    seconds: float


@dataclass
class Shot:
    name: str
    fit: bool = True  # also check every text fits, in both languages


@dataclass
class Do:
    fn: Callable[[], None]
    what: str = ""


@dataclass
class Skip:
    """Let `seconds` pass on the journey's clock (timeouts without waiting)."""

    seconds: float
    what: str = ""


@dataclass
class Say:
    text: str


@dataclass
class Mark:
    """The card or QR was just presented: taps from here to the ticket are counted."""


@dataclass
class Patient:
    key: str
    title: str


Action = Tap | Wait | Shot | Do | Skip | Say | Patient | Mark | Type | Sleep


class ScriptError(ValueError):
    """The script file breaks its contract (the message names the action)."""


def _number(raw: dict[str, Any], key: str, where: str, default: float, limit: float) -> float:
    value = raw.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not (
            math.isfinite(value) and 0 <= value <= limit):
        raise ScriptError(f"{where}: {key!r} must be a number from 0 to {limit:g}")
    return float(value)


def _steps(value: Any, where: str) -> tuple[Step, ...]:
    names = value if isinstance(value, list) else [value]
    if not names or not all(isinstance(n, str) for n in names):
        raise ScriptError(f"{where}: 'wait' takes a step name or a list of step names")
    try:
        return tuple(Step(n) for n in names)
    except ValueError:
        known = ", ".join(s.value for s in Step)
        raise ScriptError(f"{where}: unknown step in {value!r} (known: {known})") from None


def parse_action(raw: Any, index: int) -> Action:
    where = f"action {index + 1}"
    if not isinstance(raw, dict):
        raise ScriptError(f"{where}: must be an object like {{\"tap\": \"confirm.yes\"}}")
    kinds = [k for k in ("wait", "tap", "type", "sleep") if k in raw]
    if len(kinds) != 1:
        raise ScriptError(f"{where}: needs exactly one of wait, tap, type, sleep")
    allowed = {"wait": {"wait", "timeout"}, "tap": {"tap", "double_ms", "optional"},
               "type": {"type"}, "sleep": {"sleep"}}[kinds[0]]
    extra = sorted(set(raw) - allowed)
    if extra:
        raise ScriptError(f"{where}: unknown key(s) {', '.join(extra)}")
    if "wait" in raw:
        return Wait(steps=_steps(raw["wait"], where),
                    timeout=_number(raw, "timeout", where, 8.0, MAX_WAIT_S))
    if "tap" in raw:
        kid = raw["tap"]
        if not isinstance(kid, str) or not kid or len(kid) > 100:
            raise ScriptError(f"{where}: 'tap' takes a widget id like \"confirm.yes\"")
        if not known_widget_id(kid):
            raise ScriptError(f"{where}: unknown widget id {kid!r} (known: "
                              f"{', '.join(sorted(WIDGET_IDS))}, service.<code>, "
                              "hb.answer.<answer>)")
        optional = raw.get("optional", False)
        if not isinstance(optional, bool):
            raise ScriptError(f"{where}: 'optional' must be true or false")
        gap = _number(raw, "double_ms", where, 0, 5000)
        return Tap(kid, repeat_ms=gap, optional=optional)
    if "type" in raw:
        digits = raw["type"]
        if not isinstance(digits, str) or not digits.isascii() or not digits.isdigit() or len(
                digits) != CAN_DIGITS:
            raise ScriptError(f"{where}: 'type' takes the {CAN_DIGITS} digits the keypad asks "
                              "for (the last six of the ID number), like \"123456\"")
        return Type(digits)
    return Sleep(_number(raw, "sleep", where, 0, MAX_WAIT_S))


def parse_script(data: Any) -> list[Action]:
    if not isinstance(data, list) or not data:
        raise ScriptError("a script is a non-empty JSON list of actions")
    return [parse_action(raw, i) for i, raw in enumerate(data)]


def load_script(path: Path, card: str | None = None) -> list[Action]:
    """A script file; `card` (the test card's 12-digit number) replaces `{"type":
    "{card}"}` with what the keypad asks for: its last six digits, the chip's CAN."""
    if card is not None and not (len(card) == 12 and card.isascii() and card.isdigit()):
        raise ScriptError("--card must be the card's 12 digits")
    try:
        text = path.read_text("utf-8")
        if card is not None:
            text = text.replace('"{card}"', f'"{card[-6:]}"')
        data = json.loads(text)
    except OSError as exc:
        raise ScriptError(f"cannot read {path}: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise ScriptError(f"{path} is not valid JSON: {exc}") from None
    return parse_script(data)
