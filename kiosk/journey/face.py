"""The face-check step's settings and rules (issue 29), pure like the rest of the journey.

After the patient confirms a chip identity with a photo, and before the insurance
check: consent words, then the camera, then verified (on to registration) or, after
the retries, a kind word to see the reception desk. `[biometric] face_match` = "off"
(default) leaves the journey exactly as it was.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from kiosk.domain.biometric import BiometricStatus
from kiosk.domain.identity import Identity

Mode = Literal["off", "offered", "required"]


@dataclass(frozen=True)
class FaceStepSettings:
    mode: Mode = "off"
    skip_under_age: int = 14
    attempts: int = 2  # a no-match or cannot-tell is final after this many decisions
    # After "not verified": "register" (registration goes on, not verified, flagged for
    # the desk) or "desk" (the patient is sent to the desk, nothing registered).
    on_no_match: Literal["register", "desk"] = "register"
    photo_wait_s: float = 8.0  # the chip's photo (DG2) is read after the name: wait this long


def skip_reason(settings: FaceStepSettings, identity: Identity,
                today: dt.date | None) -> BiometricStatus | Literal["off"] | None:
    """Why the face check is not asked for (None: ask)."""
    if settings.mode == "off":
        return "off"
    if identity.source != "chip" or (
            not identity.photo_jpeg and identity.verification != "chip_pending"):
        return "no_photo"  # (a pending chip's photo comes with the end of its checks)
    born = identity.date_of_birth
    if today is not None and born is not None:
        year = born if isinstance(born, int) else born.year
        age = today.year - year
        if not isinstance(born, int) and (today.month, today.day) < (born.month, born.day):
            age -= 1
        if age < settings.skip_under_age:
            return "skipped_child"
    return None
