"""Where is the code, when the decoder cannot say? And how sharp is it there?

A QR code is a square of densely packed dark and light modules: even smeared
by 25 px of motion or a 6-px defocus disk it keeps a high *local* contrast
over its whole area, where the lobby around it has flat surfaces whose
contrast is confined to thin edges and short lines of text. So: local
standard deviation on a quarter-size frame, a morphological opening to wipe
out edges and text strokes (narrower than the opening), and the filled blobs
that remain, biggest first. ~1 ms on a 720p frame; it never decodes anything,
it only tells the recovery (`drivers.qrdeblur`) where to spend its time.

`sharpness()` is the variance of the Laplacian over a region: the classic
focus measure, used to pick the least blurred of recent frames.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

_SCALE = 4  # work on a quarter-size frame: a code is never smaller than ~80 px


@dataclass(frozen=True)
class Box:
    x0: int
    y0: int
    x1: int
    y1: int

    @property
    def width(self) -> int:
        return self.x1 - self.x0

    @property
    def height(self) -> int:
        return self.y1 - self.y0

    def grow(self, margin: int, width: int, height: int) -> Box:
        """The box with `margin` pixels more each side, clipped to a width × height frame."""
        return Box(max(0, self.x0 - margin), max(0, self.y0 - margin),
                   min(width, self.x1 + margin), min(height, self.y1 + margin))

    def crop(self, image: np.ndarray) -> np.ndarray:
        return image[self.y0:self.y1, self.x0:self.x1]

    def overlap(self, other: Box) -> float:
        """Intersection over union, 0..1."""
        iw = min(self.x1, other.x1) - max(self.x0, other.x0)
        ih = min(self.y1, other.y1) - max(self.y0, other.y0)
        if iw <= 0 or ih <= 0:
            return 0.0
        inter = iw * ih
        union = self.width * self.height + other.width * other.height - inter
        return inter / union if union > 0 else 0.0


def find_code_regions(gray: np.ndarray, max_regions: int = 2, min_side: int = 64,
                      min_contrast: float = 14.0) -> list[Box]:
    """Candidate code regions in a grey frame, most likely first (maybe none).

    `min_side`: smallest code side in pixels worth a recovery attempt;
    `min_contrast`: local standard deviation (grey levels) a blurred code keeps
    and a flat, noisy surface does not.
    """
    if gray.ndim != 2:
        raise ValueError(f"expected a grey image, got shape {gray.shape}")
    h, w = gray.shape
    if h < min_side or w < min_side:
        return []
    small = cv2.resize(gray, (w // _SCALE, h // _SCALE), interpolation=cv2.INTER_AREA)
    f = small.astype(np.float32)
    win = (5, 5)
    mean = cv2.blur(f, win)
    var = cv2.blur(f * f, win) - mean * mean
    std = np.sqrt(np.maximum(var, 0))
    # Opening wider than an edge band or a text stroke, narrower than the smallest code.
    k = max(3, min_side // _SCALE // 3) | 1
    mask = cv2.morphologyEx((std > min_contrast).astype(np.uint8), cv2.MORPH_OPEN,
                            cv2.getStructuringElement(cv2.MORPH_RECT, (k, k)))
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    scored: list[tuple[float, Box]] = []
    min_small = min_side / _SCALE
    for contour in contours:
        x, y, bw, bh = cv2.boundingRect(contour)
        if bw < min_small or bh < min_small:
            continue
        aspect = max(bw, bh) / min(bw, bh)
        if aspect > 2.5:  # a code seen at up to ~60° of tilt is still not a strip
            continue
        fill = cv2.contourArea(contour) / (bw * bh)
        if fill < 0.45:
            continue
        score = float(std[y:y + bh, x:x + bw].mean()) * fill * bw * bh
        box = Box(x * _SCALE, y * _SCALE, min(w, (x + bw) * _SCALE), min(h, (y + bh) * _SCALE))
        scored.append((score, box))
    scored.sort(key=lambda item: -item[0])
    return [box for _, box in scored[:max_regions]]


def sharpness(gray: np.ndarray, box: Box | None = None) -> float:
    """Variance of the Laplacian over `box` (the whole image when None): higher is sharper.

    Computed at half size: cheap enough to run on every frame, and module edges
    of 3.5 px or more still register."""
    region = gray if box is None else box.crop(gray)
    if region.size == 0:
        return 0.0
    h, w = region.shape[:2]
    if min(h, w) >= 32:
        region = cv2.resize(region, (w // 2, h // 2), interpolation=cv2.INTER_AREA)
    lap = cv2.Laplacian(region, cv2.CV_32F, ksize=3)
    return float(lap.var())
