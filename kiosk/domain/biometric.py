"""The outcome of the face check at the kiosk (issue 29): the only biometric fact the
kiosk keeps. No image, no descriptor: a status, the distance and the threshold
(decision 0163), stored on the registration and purged with its personal fields."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

# verified: the face matched the chip's photo. not_verified: it did not, or could not
# be told, after the retries. declined: the patient said no. skipped_child: younger
# than the hospital's age. no_photo: the identity came without a chip photo.
BiometricStatus = Literal["verified", "not_verified", "declined", "skipped_child", "no_photo"]
FaceDecision = Literal["match", "no_match", "cannot_tell"]


@dataclass(frozen=True)
class FaceCheckResult:
    """One decision of the face port (what `kiosk face match` prints, minus timings)."""

    decision: FaceDecision
    distance: float | None
    threshold: float
    reason: str | None = None  # why cannot_tell: no_face, several_faces, no_movement, …


@dataclass(frozen=True)
class Biometric:
    status: BiometricStatus
    distance: float | None = None
    threshold: float | None = None
    reason: str | None = None  # no_match, or the last cannot_tell reason

    @property
    def verified(self) -> bool:
        return self.status == "verified"

    def to_json(self) -> dict[str, Any]:
        return {"status": self.status,
                "distance": None if self.distance is None else round(self.distance, 4),
                "threshold": self.threshold, "reason": self.reason}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Biometric:
        return cls(data["status"], data.get("distance"), data.get("threshold"),
                   data.get("reason"))
