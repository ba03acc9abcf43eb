"""`kiosk doctor`'s face check: is face matching installed, and how fast is it here.

Self-contained (issue 29): no image needed, nothing written. A kiosk that does not
use face matching only gets a note; one configured for it (`[biometric] face_match`
not "off") fails without the `[face]` extra, and warns when two frames — what one
decision needs — would not fit the decision budget on this machine.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from kiosk.config import Config

if TYPE_CHECKING:
    from kiosk.ops.doctor import Check


def check_face(config: Config) -> Check:
    from drivers.face import FaceMatcher, available
    from kiosk.ops.doctor import Check
    from kiosk.services.face_check import settings_from

    bio = config.biometric
    if not available():
        if bio.face_match == "off":
            return Check("face", "pass", "face matching not installed (not used: "
                         "[biometric] face_match = \"off\")")
        return Check("face", "fail", f"[biometric] face_match = {bio.face_match!r} but face "
                     "matching is not installed",
                     "Cài gói so khớp khuôn mặt (vn-hospital-kiosk[face]) hoặc tắt "
                     "[biometric] face_match.",
                     "Install the [face] extra or set [biometric] face_match = \"off\".")
    matcher = FaceMatcher(settings_from(bio.threshold, bio.min_face_px))
    t0 = time.perf_counter()
    matcher.load()
    load_ms = (time.perf_counter() - t0) * 1000
    dev = config.devices
    ms = matcher.time_frame(dev.camera_width, dev.camera_height)
    frame = ms["detect"] + ms["describe"]
    detail = (f"installed; models load {load_ms:.0f} ms; one {dev.camera_width}×"
              f"{dev.camera_height} frame {frame:.0f} ms (detect {ms['detect']:.0f}, "
              f"describe {ms['describe']:.0f}); a decision (2 frames) ≈ {2 * frame:.0f} ms "
              f"of {bio.budget_ms} ms; face_match = {bio.face_match!r}")
    if bio.face_match != "off" and 2 * frame > bio.budget_ms:
        return Check("face", "warn", detail,
                     "Máy chậm: kiểm tra khuôn mặt có thể vượt thời gian cho phép.",
                     "This machine is slow for the face check's budget ([biometric] "
                     "budget_ms).")
    return Check("face", "pass", detail)
