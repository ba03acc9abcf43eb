"""Hand-held degradations for the QR corpus: what a patient's shaking hand and a
lobby webcam's long indoor exposure do to a code (issue 19).

* `motion`  – the card moves in a straight line during the exposure: any
  direction, 5–25 px;
* `defocus` – the card is held closer than the focus plane: a disk of
  radius 2–6 px;
* `shake`   – a tremor: a short curved path walked at uneven speed;
* `rolling_shutter` – rows exposed one after another while the hand moves
  sideways: the code is sheared, plus a little motion;
* `low_light` – a dark corner of the lobby: the sensor's gain lifts noise and
  quantisation steps, then MJPEG compresses it all;
* `phone_screen` – the VNeID wallet on a phone: pixel grid (moiré), a dimmed
  screen and a streak of window glare on the glass.

Only the card (or phone) moves: its layer is blurred with its own alpha and
laid over a sharp background, as a fixed camera sees a moving hand. Every
kernel is drawn by splatting an oversampled path, independent of the kernels
the decoder's recovery uses (`drivers.qrdeblur`), so the recovery is not
tested against its own model. Deterministic for a given seed.
"""

from __future__ import annotations

import zlib

import cv2
import numpy as np

from drivers.virtual.qrscene import HAND_DISTORTIONS, _background, _moire_screen, qr_matrix


def path_kernel(points: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """A blur kernel (sum 1, odd square) from a sampled path of sub-pixel points:
    each sample's weight is split bilinearly over its four neighbouring pixels."""
    pts = np.asarray(points, dtype=np.float64)
    pts = pts - (pts.min(axis=0) + pts.max(axis=0)) / 2  # centre the path on the kernel
    w = np.ones(len(pts)) if weights is None else np.asarray(weights, dtype=np.float64)
    half = int(np.ceil(np.abs(pts).max())) + 1
    size = 2 * half + 1
    kernel = np.zeros((size, size), np.float64)
    x, y = pts[:, 0] + half, pts[:, 1] + half
    x0, y0 = np.floor(x).astype(int), np.floor(y).astype(int)
    fx, fy = x - x0, y - y0
    for dx, dy, share in ((0, 0, (1 - fx) * (1 - fy)), (1, 0, fx * (1 - fy)),
                          (0, 1, (1 - fx) * fy), (1, 1, fx * fy)):
        np.add.at(kernel, (y0 + dy, x0 + dx), w * share)
    return (kernel / kernel.sum()).astype(np.float32)


def line_path(length: float, angle_deg: float, samples: int = 400) -> np.ndarray:
    t = np.linspace(-length / 2, length / 2, samples)
    a = np.deg2rad(angle_deg)
    return np.stack([t * np.cos(a), t * np.sin(a)], axis=1)


def disk_kernel(radius: float) -> np.ndarray:
    """A defocus disk with anti-aliased rim (drawn 8× larger, then averaged down)."""
    over = 8
    half = int(np.ceil(radius)) + 1
    size = (2 * half + 1) * over
    canvas = np.zeros((size, size), np.uint8)
    centre = size // 2
    cv2.circle(canvas, (centre, centre), round(radius * over), 255, -1, lineType=cv2.LINE_AA)
    small = cv2.resize(canvas.astype(np.float32), (2 * half + 1, 2 * half + 1),
                       interpolation=cv2.INTER_AREA)
    return (small / small.sum()).astype(np.float32)


def shake_path(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A tremor during one exposure: a quadratic Bézier 8–20 px long, bent sideways by
    20–50 % of its length, walked at uneven speed (slow where the hand turns)."""
    span = float(rng.uniform(8, 20))
    a = float(rng.uniform(0, 2 * np.pi))
    p0 = np.zeros(2)
    p2 = np.array([np.cos(a), np.sin(a)]) * span
    normal = np.array([-np.sin(a), np.cos(a)])
    p1 = (p0 + p2) / 2 + normal * span * float(rng.uniform(0.2, 0.5)) * rng.choice([-1, 1])
    t = np.linspace(0, 1, 400)[:, None]
    points = (1 - t) ** 2 * p0 + 2 * (1 - t) * t * p1 + t**2 * p2
    # Time spent per point: more at the ends (the hand reverses there).
    weights = 1 + float(rng.uniform(0.5, 2.0)) * (np.abs(t[:, 0] - 0.5) * 2) ** 2
    return points, weights


def _glare_streak(h: int, w: int, centre: tuple[float, float], angle: float, width: float,
                  strength: float) -> np.ndarray:
    """A soft band of reflected window light across the phone glass."""
    yy = np.arange(h, dtype=np.float32)[:, None] - np.float32(centre[1])
    xx = np.arange(w, dtype=np.float32)[None, :] - np.float32(centre[0])
    dist = xx * np.float32(-np.sin(angle)) + yy * np.float32(np.cos(angle))
    return np.exp(-(dist * dist) / np.float32(2 * width * width)) * np.float32(strength)


def render_hand(data: str | bytes, distortion: str, seed: int, size: tuple[int, int],
                ec: str = "M") -> np.ndarray:
    """A BGR frame of `size` showing `data` under one of `HAND_DISTORTIONS`."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    # The payload is part of the seed: every payload kind gets its own blur, angle
    # and placement, so a corpus of few seeds still spans the 5–25 px range.
    rng = np.random.default_rng([seed, 1000 + HAND_DISTORTIONS.index(distortion),
                                 zlib.crc32(raw)])
    w, h = size
    frame = _background(rng, size).astype(np.float32)
    matrix = qr_matrix(data, ec)
    n = matrix.shape[0]
    module = float(rng.uniform(3.5, 6.0))
    side = n * module
    phone = distortion == "phone_screen"
    code: np.ndarray
    if phone:
        screen = _moire_screen(np.where(matrix, 0, 255).astype(np.uint8), rng)
        code = np.kron(screen, np.ones((2, 2), dtype=np.uint8)).astype(np.uint8)
    else:
        code = np.kron(np.where(matrix, 0, 255).astype(np.uint8),
                       np.ones((8, 8), np.uint8)).astype(np.uint8)
    ch, cw = code.shape

    angle = float(rng.uniform(-8, 8))
    margin = side * 0.8 + 30
    cx = float(rng.uniform(margin, max(margin + 1, w - margin)))
    cy = float(rng.uniform(margin, max(margin + 1, h - margin)))
    half = side / 2
    corners = np.array([[-half, -half], [half, -half], [half, half], [-half, half]])
    theta = np.deg2rad(angle)
    rot = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    shear = 0.0
    if distortion == "rolling_shutter":
        # Row y is read (y / h) of a frame time later than row 0: a sideways hand
        # turns the square into a parallelogram.
        shear = float(rng.uniform(0.06, 0.15)) * float(rng.choice([-1, 1]))
    skew = np.array([[1.0, shear], [0.0, 1.0]])
    dst = (corners @ rot.T @ skew.T + np.array([cx, cy])).astype(np.float32)
    src = np.array([[0, 0], [cw, 0], [cw, ch], [0, ch]], dtype=np.float32)
    hom = cv2.getPerspectiveTransform(src, dst)

    # The card / phone layer, premultiplied by its own coverage.
    card = ((corners * (1.4 if phone else 1.6)) @ rot.T @ skew.T + np.array([cx, cy]))
    card_mask = np.zeros((h, w), np.uint8)
    cv2.fillConvexPoly(card_mask, card.astype(np.int32), 255, lineType=cv2.LINE_AA)
    card_alpha = card_mask.astype(np.float32) / 255
    card_colour = np.array((30, 30, 30) if phone else rng.integers(200, 245, size=3),
                           dtype=np.float32)
    interp = cv2.INTER_NEAREST if phone else cv2.INTER_AREA
    warped = cv2.warpPerspective(code, hom, size, flags=interp, borderValue=0)
    code_mask = cv2.warpPerspective(np.full(code.shape, 255, np.uint8), hom, size,
                                    flags=cv2.INTER_LINEAR).astype(np.float32) / 255
    ink: np.ndarray = warped.astype(np.float32)
    # A phone screen is dimmed, never full brightness; print is never pure black.
    ink = ink * float(rng.uniform(0.7, 0.9)) if phone else 25 + ink / 255 * 205
    layer = card_colour[None, None, :] * (1 - code_mask[:, :, None]) + \
        ink[:, :, None] * code_mask[:, :, None]
    premult = layer * card_alpha[:, :, None]

    kernel: np.ndarray | None = None
    if distortion == "motion":
        kernel = path_kernel(line_path(float(rng.uniform(5, 25)), float(rng.uniform(0, 180))))
    elif distortion == "defocus":
        kernel = disk_kernel(float(rng.uniform(2, 6)))
    elif distortion == "shake":
        kernel = path_kernel(*shake_path(rng))
    elif distortion == "rolling_shutter":
        kernel = path_kernel(line_path(float(rng.uniform(2, 5)), float(rng.uniform(-10, 10))))
    if kernel is not None:
        # Blur only around the card (the rest of the layer is zero): far cheaper
        # than filtering the whole frame with a 25-px kernel.
        pad = kernel.shape[0]
        x0, y0 = max(0, int(card[:, 0].min()) - pad), max(0, int(card[:, 1].min()) - pad)
        x1, y1 = min(w, int(card[:, 0].max()) + pad), min(h, int(card[:, 1].max()) + pad)
        premult[y0:y1, x0:x1] = cv2.filter2D(premult[y0:y1, x0:x1], -1, kernel)
        card_alpha[y0:y1, x0:x1] = cv2.filter2D(card_alpha[y0:y1, x0:x1], -1, kernel)
    out: np.ndarray = frame * (1 - card_alpha[:, :, None]) + premult

    if phone:
        centre = (float(dst[:, 0].mean() + rng.uniform(-0.3, 0.3) * side),
                  float(dst[:, 1].mean() + rng.uniform(-0.3, 0.3) * side))
        streak = _glare_streak(h, w, centre, float(rng.uniform(0, np.pi)),
                               side * float(rng.uniform(0.05, 0.10)), float(rng.uniform(90, 150)))
        out = out + (streak * card_alpha)[:, :, None]
    out = cv2.GaussianBlur(out, (0, 0), 0.6)  # every lens is a little soft
    if distortion == "low_light":
        # Little light reaches the sensor; the camera's gain multiplies its noise and
        # its quantisation steps alike, then MJPEG compresses the result.
        gain = float(rng.uniform(3, 5))
        dim = out / gain + rng.standard_normal(size=(h, w, 1), dtype=np.float32) * np.float32(2.5)
        out = np.round(np.clip(dim, 0, 255)) * gain
        quality = int(rng.integers(35, 60))
        ok, buf = cv2.imencode(".jpg", np.clip(out, 0, 255).astype(np.uint8),
                               [cv2.IMWRITE_JPEG_QUALITY, quality])
        if not ok:  # pragma: no cover - OpenCV always encodes a valid array
            raise RuntimeError("JPEG encoding failed")
        decoded = cv2.imdecode(buf, cv2.IMREAD_COLOR)
        if decoded is None:  # pragma: no cover - we just encoded it
            raise RuntimeError("JPEG decoding failed")
        return decoded
    noise = rng.standard_normal(size=(h, w, 1), dtype=np.float32) * np.float32(3.0)
    return np.clip(out + noise, 0, 255).astype(np.uint8)
