"""Which fixed spoken prompt belongs to what the patient sees, and playing it.

Prompts are pre-recorded assets (assets/sounds/<lang>/<key>.wav, generated
by scripts/generate_prompts.py): the kiosk never synthesises speech at run
time, so it can never speak a name or a number.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kiosk.journey.state import Session, Step

log = logging.getLogger(__name__)

_BY_STEP: dict[Step, str] = {
    Step.IDLE: "idle",
    Step.NEED_KEY: "need_key",
    Step.READING_CHIP: "reading",
    Step.CONFIRM_IDENTITY: "confirm_identity",
    Step.CHECKING_INSURANCE: "checking",
    Step.FINDING_APPOINTMENTS: "finding_appointments",
    Step.APPOINTMENT: "appointment",
    Step.CHOOSE_SERVICE: "choose_service",
    Step.CONFIRM_SERVICE: "confirm_service",
    Step.REGISTERING: "registering",
    Step.FACE_CONSENT: "face_consent",
    Step.FACE_MATCH: "face_match",
    Step.FACE_DESK: "face_desk",
    Step.HEALTH_BOOK_OFFER: "health_book_offer",
    Step.HEALTH_BOOK: "health_book",
    Step.DONE: "done",
}
_ERRORS = {
    "reader_unplugged": "error_reader",
    "card_unreadable": "error_card",
}


def prompt_for(session: Session) -> str | None:
    """The prompt key for what the screen shows now (None: nothing new to say)."""
    if session.idle_warning:
        return "idle_warning"
    step = session.step
    if step is Step.INSURANCE_RESULT:
        outcome = session.insurance.outcome if session.insurance else "unavailable"
        return f"insurance_{'unavailable' if outcome == 'misconfigured' else outcome}"
    if step is Step.TICKET:
        if session.print_result is None:
            return None
        return "ticket_printed" if session.print_result.printed else "ticket_not_printed"
    if step is Step.ERROR:
        return _ERRORS.get(session.error or "", "error_desk")
    return _BY_STEP.get(step)


def all_prompt_keys() -> set[str]:
    keys = set(_BY_STEP.values()) | set(_ERRORS.values())
    keys |= {f"insurance_{o}" for o in ("usable", "warning", "not_usable", "unavailable")}
    return keys | {"ticket_printed", "ticket_not_printed", "error_desk", "idle_warning",
                   "notice", "take_card"}


class PromptPlayer:
    """Plays one prompt at a time; a missing sound or audio device is logged, not fatal."""

    def __init__(self, sounds_dir: Path, loader: Callable[[str], Any] | None = None,
                 enabled: bool = True) -> None:
        self.sounds_dir = sounds_dir
        self.enabled = enabled
        self._loader = loader
        self._cache: dict[str, Any] = {}
        self._current: Any = None
        self.played: list[str] = []  # "lang/key", for tests and the demo transcript

    def _load(self, path: Path) -> Any:
        if self._loader is None:
            from kivy.core.audio import SoundLoader

            self._loader = SoundLoader.load
        return self._loader(str(path))

    def play(self, key: str, lang: str) -> None:
        self.played.append(f"{lang}/{key}")
        self.stop()
        if not self.enabled:
            return
        path = self.sounds_dir / lang / f"{key}.wav"
        sound = self._cache.get(str(path))
        if sound is None:
            if not path.exists():
                log.warning("prompt sound missing: %s", path)
                return
            sound = self._load(path)
            if sound is None:
                log.warning("prompt sound could not be loaded: %s", path)
                return
            self._cache[str(path)] = sound
        self._current = sound
        sound.play()

    def stop(self) -> None:
        if self._current is not None:
            self._current.stop()
            self._current = None
