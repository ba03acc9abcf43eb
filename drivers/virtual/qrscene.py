"""Synthetic camera frames showing a QR code, for the virtual camera, tests and benchmarks.

A frame is a cluttered 1280×720 scene with one code printed on a card or
shown on a phone, under one named degradation (the ones a lobby camera sees:
shaking hands, tilted cards, phone glare and moiré, worn low-contrast print,
fingers over the corner). Everything is deterministic for a given seed so a
failing corpus image can be regenerated exactly.
"""

from __future__ import annotations

import functools
from typing import Final

import cv2
import numpy as np
import qrcode
import qrcode.constants

DISTORTIONS: Final = (
    "clean",
    "rotation",
    "perspective",
    "blur",
    "noise",
    "low_contrast",
    "glare",
    "small_modules",
    "occlusion",
    "moire",
)
# Issue 19: a moving, shaking hand and a long indoor exposure (drivers.virtual.qrhand).
# Kept apart from DISTORTIONS so the frames above stay byte-identical for a given seed.
BLUR_DISTORTIONS: Final = ("motion", "defocus", "shake")
HAND_DISTORTIONS: Final = (*BLUR_DISTORTIONS, "rolling_shutter", "low_light", "phone_screen")
ALL_DISTORTIONS: Final = (*DISTORTIONS, *HAND_DISTORTIONS)
FRAME_SIZE: Final = (1280, 720)
_QUIET = 4  # modules of white border, as printed on the cards

_EC = {
    "L": qrcode.constants.ERROR_CORRECT_L,
    "M": qrcode.constants.ERROR_CORRECT_M,
    "Q": qrcode.constants.ERROR_CORRECT_Q,
    "H": qrcode.constants.ERROR_CORRECT_H,
}


def qr_matrix(data: str | bytes, ec: str = "M") -> np.ndarray:
    """Module matrix (True = dark) including the quiet zone. Text is encoded as
    UTF-8 bytes without an ECI header, as the Vietnamese cards do."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    return _matrix(raw, ec).copy()


@functools.lru_cache(maxsize=64)
def _matrix(raw: bytes, ec: str) -> np.ndarray:
    # Cached: choosing the mask pattern is the slow part, and the corpus renders
    # each payload twenty times.
    code = qrcode.QRCode(error_correction=_EC[ec], border=_QUIET)
    code.add_data(raw, optimize=0)
    code.make(fit=True)
    return np.array(code.get_matrix(), dtype=bool)


def render_code(data: str | bytes, module_px: int = 6, ec: str = "M") -> np.ndarray:
    """A clean black-on-white grayscale image of the code (for files and screens)."""
    matrix = qr_matrix(data, ec)
    img = np.where(matrix, 0, 255).astype(np.uint8)
    return np.kron(img, np.ones((module_px, module_px), dtype=np.uint8))


def _background(rng: np.random.Generator, size: tuple[int, int]) -> np.ndarray:
    """A lobby-ish clutter: lighting gradient plus random shapes and some text."""
    w, h = size
    # The lighting gradient is linear: compute it small and let resize interpolate.
    xs = np.linspace(0, 1, 64, dtype=np.float32)
    ys = np.linspace(0, 1, 36, dtype=np.float32)
    a, b, c = rng.uniform(60, 170), rng.uniform(-50, 50), rng.uniform(-50, 50)
    base = a + b * xs[None, :] + c * ys[:, None]
    img = base[:, :, None] * rng.uniform(0.85, 1.15, size=3).astype(np.float32)  # colour cast
    small = np.clip(img, 0, 255).astype(np.uint8)
    frame = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    for _ in range(12):
        colour = tuple(int(v) for v in rng.integers(0, 256, size=3))
        x, y = int(rng.integers(0, w)), int(rng.integers(0, h))
        if rng.random() < 0.5:
            cv2.rectangle(frame, (x, y), (x + int(rng.integers(20, 300)),
                                         y + int(rng.integers(20, 200))), colour, -1)
        else:
            cv2.circle(frame, (x, y), int(rng.integers(10, 120)), colour, -1)
    for _ in range(4):
        cv2.putText(frame, "BENH VIEN 115", (int(rng.integers(0, w - 200)),
                    int(rng.integers(20, h))), cv2.FONT_HERSHEY_SIMPLEX, 0.8,
                    (20, 20, 20), 2)
    return frame


def render_background(seed: int = 0, size: tuple[int, int] = FRAME_SIZE) -> np.ndarray:
    """The same cluttered scene with no code in it (the virtual camera's idle view)."""
    return _background(np.random.default_rng([seed, len(DISTORTIONS)]), size)


def _moire_screen(code: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The code as a phone screen photographs: a visible pixel grid (dark gaps between
    emitters) that aliases against the camera sensor when resampled."""
    cell = 4  # camera pixels per screen pixel before the final warp
    up = np.kron(code, np.ones((cell, cell), dtype=np.uint8)).astype(np.float32)
    grid = np.ones((cell, cell), dtype=np.float32)
    grid[0, :] = grid[:, 0] = rng.uniform(0.45, 0.65)
    tiled = np.tile(grid, (code.shape[0], code.shape[1]))
    screen = up * tiled
    # A backlit screen is never fully black.
    screen = 25 + screen * (230 / 255)
    return np.clip(screen, 0, 255).astype(np.uint8)


def render_scene(
    data: str | bytes,
    distortion: str = "clean",
    seed: int = 0,
    size: tuple[int, int] = FRAME_SIZE,
    ec: str = "M",
) -> np.ndarray:
    """A BGR frame of `size` showing `data` as a QR code under `distortion`."""
    if distortion in HAND_DISTORTIONS:
        from drivers.virtual.qrhand import render_hand  # imports this module

        return render_hand(data, distortion, seed, size, ec)
    if distortion not in DISTORTIONS:
        raise ValueError(f"unknown distortion {distortion!r}")
    rng = np.random.default_rng([seed, DISTORTIONS.index(distortion)])
    w, h = size
    frame = _background(rng, size)
    matrix = qr_matrix(data, ec)
    n = matrix.shape[0]

    if distortion == "small_modules":
        module = float(rng.uniform(2.0, 2.6))
    else:
        module = float(rng.uniform(3.5, 6.0))
    side = n * module
    src_px = 8 if distortion != "moire" else 1  # modules rendered at 8 px, warped down
    code: np.ndarray
    if distortion == "moire":
        code = _moire_screen(np.where(matrix, 0, 255).astype(np.uint8), rng)
        code = np.kron(code, np.ones((2, 2), dtype=np.uint8))
    else:
        code = np.kron(np.where(matrix, 0, 255).astype(np.uint8),
                       np.ones((src_px, src_px), dtype=np.uint8))
    ch, cw = code.shape

    # Destination quad: centred somewhere in the frame, slightly rotated (hands
    # are never square), more for the rotation / perspective cases.
    angle = float(rng.uniform(0, 360) if distortion == "rotation" else rng.uniform(-8, 8))
    margin = side * 0.75 + 10
    cx = float(rng.uniform(margin, max(margin + 1, w - margin)))
    cy = float(rng.uniform(margin, max(margin + 1, h - margin)))
    half = side / 2
    corners = np.array([[-half, -half], [half, -half], [half, half], [-half, half]])
    if distortion == "perspective":
        # A card tilted ~30° about a random axis: one edge shrinks, the other grows.
        k = float(rng.uniform(0.18, 0.28))
        axis = int(rng.integers(0, 2))
        scale = np.array([1 - k, 1 - k, 1 + k, 1 + k]) if axis == 0 else np.array(
            [1 - k, 1 + k, 1 + k, 1 - k])
        corners = corners * scale[:, None] * np.array([1.0, 0.85])[None, :]
        corners += rng.uniform(-0.04, 0.04, size=corners.shape) * side
    theta = np.deg2rad(angle)
    rot = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    dst = (corners @ rot.T + np.array([cx, cy])).astype(np.float32)
    src = np.array([[0, 0], [cw, 0], [cw, ch], [0, ch]], dtype=np.float32)
    hom = cv2.getPerspectiveTransform(src, dst)

    # A card (or phone body) larger than the code, then the code on it.
    card_scale = 1.6 if distortion != "moire" else 1.4
    card = (corners * card_scale) @ rot.T + np.array([cx, cy])
    card_colour = (30, 30, 30) if distortion == "moire" else tuple(
        int(v) for v in rng.integers(200, 245, size=3))
    cv2.fillConvexPoly(frame, card.astype(np.int32), card_colour, lineType=cv2.LINE_AA)
    interp = cv2.INTER_NEAREST if distortion == "moire" else cv2.INTER_AREA
    warped = cv2.warpPerspective(code.astype(np.uint8), hom, size, flags=interp, borderValue=0)
    full = np.full(code.shape, 255, dtype=np.uint8)
    mask = cv2.warpPerspective(full, hom, size, flags=cv2.INTER_LINEAR)
    alpha = (mask.astype(np.float32) / 255)[:, :, None]
    ink: np.ndarray = warped.astype(np.float32)[:, :, None]
    if distortion == "low_contrast":
        # Worn print under weak or strong light: modules only 28-40 grey levels apart.
        dark = float(rng.uniform(60, 160))
        light = dark + float(rng.uniform(28, 40))
        ink = dark + ink / 255 * (light - dark)
    elif distortion != "moire":
        ink = 25 + ink / 255 * 205
    layer = np.repeat(ink, 3, axis=2)
    out: np.ndarray = frame.astype(np.float32) * (1 - alpha) + layer * alpha

    if distortion == "glare":
        # A bright specular blob on a laminated card / phone glass, clipping part of
        # the code (but not all of it: the sensor still sees some modules there).
        gx, gy = dst[:, 0].mean() + rng.uniform(-0.3, 0.3) * side, dst[:, 1].mean() + \
            rng.uniform(-0.3, 0.3) * side
        yy = np.arange(h, dtype=np.float32)[:, None] - np.float32(gy)
        xx = np.arange(w, dtype=np.float32)[None, :] - np.float32(gx)
        r = side * float(rng.uniform(0.18, 0.28))
        blob = np.exp(-(xx * xx + yy * yy) / np.float32(2 * r * r))
        out = out + (blob * float(rng.uniform(150, 200)))[:, :, None]
    if distortion == "occlusion":
        # A fingertip over the bottom-right corner (no finder pattern there).
        tip = dst[2] + (dst[0] - dst[2]) * float(rng.uniform(0.08, 0.12))
        axes = (int(side * 0.14), int(side * 0.09))
        finger_angle = float(np.degrees(np.arctan2(*(dst[2] - dst[0])[::-1])))
        out_u8 = np.clip(out, 0, 255).astype(np.uint8)
        cv2.ellipse(out_u8, (int(tip[0]), int(tip[1])), axes, finger_angle, 0, 360,
                    (120, 150, 200), -1, lineType=cv2.LINE_AA)
        out = out_u8.astype(np.float32)
    if distortion == "blur":
        if rng.random() < 0.5:
            sigma = float(rng.uniform(1.2, 1.8))
            out = cv2.GaussianBlur(out, (0, 0), sigma)
        else:  # motion blur from a shaking hand
            length = int(rng.integers(5, 8))
            kernel: np.ndarray = np.zeros((length, length), np.float32)
            kernel[length // 2, :] = 1 / length
            m = cv2.getRotationMatrix2D((length / 2 - 0.5, length / 2 - 0.5),
                                        float(rng.uniform(0, 180)), 1.0)
            kernel = cv2.warpAffine(kernel, m, (length, length))
            kernel = kernel / kernel.sum()
            out = cv2.filter2D(out, -1, kernel)
    else:
        out = cv2.GaussianBlur(out, (0, 0), 0.6)  # every lens is a little soft
    sigma_noise = float(rng.uniform(14, 20)) if distortion == "noise" else 3.0
    # Luminance noise, one draw per pixel shared by the channels (cheaper, and what
    # dominates a small sensor in dim light).
    noise = rng.standard_normal(size=(h, w, 1), dtype=np.float32) * np.float32(sigma_noise)
    out = out + noise
    return np.clip(out, 0, 255).astype(np.uint8)
