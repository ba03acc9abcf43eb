"""One face-check decision over a few live frames against the chip's photo.

The journey asks for a decision (`CheckFace`); this runs it off the UI thread on
the camera's newest frames, within a time budget, and returns only the outcome,
the distance and the threshold (decision 0163: no image or descriptor leaves this
module; the frames are the camera's and are dropped with it; the chip photo's
description is kept in memory for the retry, 120 s at most).

A decision needs `frames_needed` good frames (one face, large and bright enough);
more are taken, up to `max_frames` within the budget, while the face has not moved.
It is a match when the median distance is within the threshold AND the 5 landmarks
moved relative to each other between two frames by at least `min_motion` (a photo
held up and moved keeps its landmarks' geometry; decision 0162 says what this does
not stop). It is no_match when the median distance is over the threshold; anything
else is cannot_tell with the most frequent reason.
"""

from __future__ import annotations

import hashlib
import logging
import statistics
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from drivers.face import (
    Face,
    FaceError,
    FaceMatcher,
    FaceSettings,
    FaceUnavailable,
    ImageUnreadable,
    Probe,
    distance,
    landmark_motion,
)
from kiosk.domain.biometric import FaceCheckResult, FaceDecision

log = logging.getLogger(__name__)

# Between different head poses of one person the landmarks move 0.012–0.09 face
# widths; a photo re-captured moved, scaled or turned in its plane 0.002–0.015
# (benchmarks/face.py, decision 0162). 0.02 lets a slight head turn through.
MIN_MOTION = 0.02


@dataclass(frozen=True)
class FaceOutcome:
    decision: FaceDecision
    distance: float | None
    threshold: float
    reason: str | None = None  # why cannot_tell: no_face, several_faces, … no_movement
    frames: int = 0  # frames analysed
    ms: dict[str, float] = field(default_factory=dict)


def settings_from(threshold: float, min_face_px: int) -> FaceSettings:
    return FaceSettings(threshold=threshold, min_face_px=min_face_px)


def decide(
    matcher: FaceMatcher,
    reference: Probe,
    next_frame: Callable[[], np.ndarray | None],
    *,
    budget_s: float = 1.0,
    frames_needed: int = 2,
    max_frames: int = 4,
    min_motion: float = MIN_MOTION,
    clock: Callable[[], float] = time.monotonic,
) -> FaceOutcome:
    """Analyse frames from `next_frame()` (RGB, or None when none came) until
    `frames_needed` good ones, `max_frames` analysed or the budget spent, then decide."""
    threshold = matcher.settings.threshold
    started = clock()
    if reference.face is None:
        return FaceOutcome("cannot_tell", None, threshold, "no_reference_face")
    ref = reference.face
    good: list[Face] = []
    reasons: Counter[str] = Counter()
    frame_ms: list[float] = []
    frames = 0
    motion = 0.0

    def settled() -> bool:
        """Enough good frames, and either movement seen or clearly someone else."""
        if len(good) < frames_needed:
            return False
        return motion >= min_motion or _median_distance(ref, good) > threshold

    while clock() - started < budget_s and frames < max_frames and not settled():
        rgb = next_frame()
        if rgb is None:
            reasons["no_frame"] += 1
            continue
        t0 = time.perf_counter()
        probe = matcher.analyse(rgb)
        frame_ms.append((time.perf_counter() - t0) * 1000)
        frames += 1
        if probe.face is not None:
            motion = max([motion, *(landmark_motion(f, probe.face) for f in good)])
            good.append(probe.face)
        elif probe.reason is not None:
            reasons[probe.reason] += 1
    ms = {"decision": (clock() - started) * 1000,
          "frame_median": statistics.median(frame_ms) if frame_ms else 0.0}
    if not good:
        reason = reasons.most_common(1)[0][0] if reasons else "no_frame"
        return FaceOutcome("cannot_tell", None, threshold, reason, frames, ms)
    dist = _median_distance(ref, good)
    if dist > threshold:
        return FaceOutcome("no_match", dist, threshold, None, frames, ms)
    if len(good) < frames_needed:
        reason = reasons.most_common(1)[0][0] if reasons else "too_few_frames"
        return FaceOutcome("cannot_tell", dist, threshold, reason, frames, ms)
    if motion < min_motion:
        return FaceOutcome("cannot_tell", dist, threshold, "no_movement", frames, ms)
    return FaceOutcome("match", dist, threshold, None, frames, ms)


def _median_distance(reference: Face, faces: list[Face]) -> float:
    return statistics.median(distance(reference, f) for f in faces)


class CameraFaceCheck:
    """The journey's `FacePort` on the kiosk's camera (the one the QR scanner uses).

    `camera()` gives the running `drivers.camera.Camera` (None before it started).
    Runs on the runner's worker thread; the frames are the camera's own, converted in
    memory and dropped on return."""

    KEEP_S = 120.0  # a prepared description of the chip's photo is dropped after this

    def __init__(self, camera: Callable[[], Any], threshold: float, min_face_px: int,
                 budget_ms: int, clock: Callable[[], float] = time.monotonic,
                 pause_qr: Callable[[bool], None] | None = None) -> None:
        self._camera = camera
        self._pause_qr = pause_qr  # the QR decoder would compete for the same cores
        self.matcher = FaceMatcher(settings_from(threshold, min_face_px))
        self.budget_s = budget_ms / 1000
        self._clock = clock
        self._lock = threading.Lock()
        # (digest of the photo, when, its description): in memory, one patient's only.
        self._prepared: tuple[bytes, float, Probe] | None = None

    def prepare(self, photo: bytes) -> None:
        try:
            self._reference(photo)
        except FaceError as exc:
            log.info("chip photo not prepared: %s", exc)

    def _reference(self, photo: bytes) -> Probe:
        digest = hashlib.sha256(photo).digest()
        with self._lock:
            kept = self._prepared
            if kept and kept[0] == digest and self._clock() - kept[1] < self.KEEP_S:
                return kept[2]
        probe = self.matcher.analyse_bytes(photo)
        with self._lock:
            self._prepared = (digest, self._clock(), probe)  # the last patient's is dropped
        return probe

    def warm(self) -> None:
        """Load the models now (in the background at start-up), not at the first patient."""
        try:
            self.matcher.load()
        except FaceError as exc:
            log.warning("face matching unavailable: %s", exc)

    def check(self, photo: bytes) -> FaceCheckResult:
        import cv2

        threshold = self.matcher.settings.threshold
        started = time.monotonic()
        camera = self._camera()
        if camera is None:
            return FaceCheckResult("cannot_tell", None, threshold, "no_camera")
        try:
            reference = self._reference(photo)
        except ImageUnreadable:
            return FaceCheckResult("cannot_tell", None, threshold, "no_reference_face")
        except FaceUnavailable:
            return FaceCheckResult("cannot_tell", None, threshold, "unavailable")
        latest = camera.latest()
        seen = [latest.seq if latest is not None else 0]

        def next_frame() -> np.ndarray | None:
            frame = camera.wait_frame(seen[0], timeout=0.3)  # only frames after the ask
            if frame is None:
                return None
            seen[0] = frame.seq
            return cv2.cvtColor(frame.image, cv2.COLOR_BGR2RGB)

        left = max(0.0, self.budget_s - (time.monotonic() - started))
        if self._pause_qr is not None:
            self._pause_qr(True)
        try:
            out = decide(self.matcher, reference, next_frame, budget_s=left)
        finally:
            if self._pause_qr is not None:
                self._pause_qr(False)
        # No distance, image or descriptor in the log: the outcome and the cost only.
        log.info("face check: %s%s, %d frame(s), %.0f ms", out.decision,
                 f" ({out.reason})" if out.reason else "", out.frames,
                 (time.monotonic() - started) * 1000)
        return FaceCheckResult(out.decision, out.distance, out.threshold, out.reason)
