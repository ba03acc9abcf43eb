"""Undo motion blur and defocus over a code region: kernels, blur estimation, Wiener.

Only the code's region is deconvolved (a few hundred pixels square, not the
720p frame), in the frequency domain: one forward FFT of the region, then per
candidate kernel one multiply and one inverse FFT (~2–4 ms at 512²).

Blur estimation (`estimate_blur`, decision record 0095):
* **Direction** of a motion blur from the gradient structure tensor: the blur
  smears away the gradients along its own direction, while a code's square
  grid has no preferred one (the power-spectrum view of the same fact).
* **Length** from the autocorrelation of the derivative along that direction:
  a box of length L turns each edge into a ramp, whose derivative repeats with
  opposite sign L px later, the deepest dip. (The cepstrum says the same, but
  a code's module grid puts its own peaks into the log spectrum.)
* **Defocus**: no preferred direction (anisotropy near 1); its diameter from
  the same dip over both axes.
* **Tremor**: a hand dwells where it turns back, a near double image: the
  derivative's strongest positive echo.

The decoder's own Reed–Solomon correction is the judge: a candidate is only
ever accepted when zxing-cpp decodes it cleanly, never by our estimate.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import cv2
import numpy as np


@functools.lru_cache(maxsize=256)
def motion_kernel(length: float, angle_deg: float) -> np.ndarray:
    """A straight motion blur `length` px long at `angle_deg` (image axes, y down),
    anti-aliased by drawing it 8× larger and averaging down."""
    over = 8
    half = int(np.ceil(length / 2)) + 1
    size = 2 * half + 1
    canvas = np.zeros((size * over, size * over), np.uint8)
    c = size * over / 2
    a = np.deg2rad(angle_deg)
    # A thick line gets round caps of half its thickness at each end: draw the
    # segment 1 px short so the smear is `length` px end to end, not length + 1.
    seg = max(length - 1.0, 0.0) * over / 2
    dx, dy = np.cos(a) * seg, np.sin(a) * seg
    cv2.line(canvas, (round(c - dx), round(c - dy)), (round(c + dx), round(c + dy)), 255,
             thickness=over, lineType=cv2.LINE_AA)
    small = cv2.resize(canvas.astype(np.float32), (size, size), interpolation=cv2.INTER_AREA)
    kernel = small / small.sum()
    kernel.setflags(write=False)
    return kernel


@functools.lru_cache(maxsize=256)
def tremor_kernel(length: float, angle_deg: float, bend: float = 0.0) -> np.ndarray:
    """A hand tremor during one exposure: an arc `length` px from end to end at
    `angle_deg`, bowed sideways by `bend` × length, with the time spent along it
    following the arcsine law of an oscillation (a hand dwells where it turns
    back, so the two ends weigh most: the image is nearly a double exposure)."""
    t = np.linspace(0.0, 1.0, 256)
    a = np.deg2rad(angle_deg)
    u = np.array([np.cos(a), np.sin(a)])
    nrm = np.array([-np.sin(a), np.cos(a)])
    # Quadratic Bézier from -L/2 to +L/2 whose middle is pushed out by bend × L.
    p0, p2 = -u * length / 2, u * length / 2
    p1 = nrm * bend * length * 2  # the curve's apex lands at half the control offset
    pts = ((1 - t) ** 2)[:, None] * p0 + (2 * (1 - t) * t)[:, None] * p1 + (t**2)[:, None] * p2
    weights = 1.0 / np.sqrt(np.clip(t * (1 - t), 0.02, None))
    half = int(np.ceil(np.abs(pts).max())) + 1
    size = 2 * half + 1
    kernel = np.zeros((size, size), np.float64)
    x, y = pts[:, 0] + half, pts[:, 1] + half
    x0, y0 = np.floor(x).astype(int), np.floor(y).astype(int)
    fx, fy = x - x0, y - y0
    # Bilinear splat: each sample's weight shared by its four neighbouring pixels.
    for dx, dy, share in ((0, 0, (1 - fx) * (1 - fy)), (1, 0, fx * (1 - fy)),
                          (0, 1, (1 - fx) * fy), (1, 1, fx * fy)):
        np.add.at(kernel, (y0 + dy, x0 + dx), weights * share)
    out = (kernel / kernel.sum()).astype(np.float32)
    out.setflags(write=False)
    return out


@functools.lru_cache(maxsize=32)
def disk_kernel(radius: float) -> np.ndarray:
    """A defocus disk of `radius` px (anti-aliased rim)."""
    over = 8
    half = int(np.ceil(radius)) + 1
    size = 2 * half + 1
    canvas = np.zeros((size * over, size * over), np.uint8)
    c = size * over // 2
    cv2.circle(canvas, (c, c), round(radius * over), 255, -1, lineType=cv2.LINE_AA)
    small = cv2.resize(canvas.astype(np.float32), (size, size), interpolation=cv2.INTER_AREA)
    kernel = small / small.sum()
    kernel.setflags(write=False)
    return kernel


class Deconvolver:
    """One region, many candidate kernels: the region's spectrum is computed once.

    The region is padded by reflection (to an FFT-friendly size, with room for
    the largest kernel) so the circular convolution the FFT assumes does not
    wrap the far edge into the code; edges are tapered so the padding seam
    does not ring. OpenCV's real DFT in its packed (CCS) layout is used
    throughout: ~10× faster here than numpy's complex FFT.
    """

    def __init__(self, region: np.ndarray, max_kernel: int = 33) -> None:
        if region.ndim != 2 or region.size == 0:
            raise ValueError(f"expected a non-empty grey region, got shape {region.shape}")
        self.h, self.w = region.shape
        pad = max_kernel
        ph = cv2.getOptimalDFTSize(self.h + 2 * pad)
        pw = cv2.getOptimalDFTSize(self.w + 2 * pad)
        self.top, self.left = (ph - self.h) // 2, (pw - self.w) // 2
        padded = cv2.copyMakeBorder(region, self.top, ph - self.h - self.top, self.left,
                                    pw - self.w - self.left, cv2.BORDER_REFLECT_101)
        f = padded.astype(np.float32)
        self.mean = float(f.mean())
        f -= self.mean
        f *= _taper(ph, pw, pad)
        self.shape = (ph, pw)
        self.spectrum = cv2.dft(f)
        # The DFT of an impulse is 1 + 0i everywhere: in the packed layout it marks
        # the real slots, so `nsr * ones` regularises |H|² and nothing else.
        impulse = np.zeros((ph, pw), np.float32)
        impulse[0, 0] = 1.0
        self._ones = cv2.dft(impulse)

    def _otf(self, kernel: np.ndarray) -> np.ndarray:
        ph, pw = self.shape
        kh, kw = kernel.shape
        psf = np.zeros((ph, pw), np.float32)
        psf[:kh, :kw] = kernel
        # Centre the kernel on the origin so the result is not shifted.
        psf = np.roll(psf, (-(kh // 2), -(kw // 2)), axis=(0, 1))
        otf: np.ndarray = cv2.dft(psf)
        return otf

    def wiener(self, kernel: np.ndarray, nsr: float = 0.01) -> np.ndarray:
        """The region deblurred by `kernel` (uint8, the region's size); `nsr` is the
        noise-to-signal power ratio that keeps near-zero frequencies from exploding:
        X = G·conj(H) / (|H|² + nsr)."""
        otf = self._otf(kernel)
        num = cv2.mulSpectrums(self.spectrum, otf, 0, conjB=True)
        den = cv2.mulSpectrums(otf, otf, 0, conjB=True) + np.float32(nsr) * self._ones
        est = cv2.divSpectrums(num, den, 0)
        out = cv2.idft(est, flags=cv2.DFT_SCALE | cv2.DFT_REAL_OUTPUT)
        out = out[self.top:self.top + self.h, self.left:self.left + self.w] + self.mean
        return np.clip(out, 0, 255).astype(np.uint8)


@functools.lru_cache(maxsize=16)
def _taper(h: int, w: int, width: int) -> np.ndarray:
    """1 in the middle, a raised-cosine fall to 0 over `width` px at every edge."""
    def ramp(n: int) -> np.ndarray:
        r = np.ones(n, np.float32)
        t = min(width, n // 2)
        edge = 0.5 - 0.5 * np.cos(np.linspace(0, np.pi, t, dtype=np.float32))
        r[:t] = edge
        r[n - t:] = edge[::-1]
        return r

    win = np.outer(ramp(h), ramp(w)).astype(np.float32)
    win.setflags(write=False)
    return win


def _derivative_autocorrelation(f: np.ndarray, max_lag: int) -> np.ndarray:
    """Mean autocorrelation of the row-wise derivative, normalised to 1 at lag 0.

    A box blur of length L turns each edge into a ramp L px long; the derivative
    is then two ramps' ends, L apart, of opposite sign, so the autocorrelation
    dips to its deepest negative value at lag ≈ L."""
    d = np.diff(f, axis=1)
    d = d - d.mean(axis=1, keepdims=True)
    n = d.shape[1]
    # Zero-padded to twice the width so the row-wise circular correlation is linear.
    padded = np.zeros((d.shape[0], cv2.getOptimalDFTSize(2 * n)), np.float32)
    padded[:, :n] = d
    spec = cv2.dft(padded, flags=cv2.DFT_ROWS)
    power = cv2.mulSpectrums(spec, spec, cv2.DFT_ROWS, conjB=True)
    rows = cv2.idft(power, flags=cv2.DFT_ROWS | cv2.DFT_REAL_OUTPUT)
    ac: np.ndarray = rows[:, :max_lag + 1].sum(axis=0)
    if ac.size < max_lag + 1:  # a region narrower than the lags asked for (its transpose)
        ac = np.pad(ac, (0, max_lag + 1 - ac.size))
    return ac / ac[0] if ac[0] > 0 else ac


@dataclass(frozen=True)
class BlurEstimate:
    angle: float  # direction of least gradient energy, degrees in [0, 180), y down
    anisotropy: float  # smallest / largest gradient energy: ~1 for defocus, ≪1 for motion
    length: int  # motion length along `angle`, px
    diameter: int  # defocus disk diameter (from both axes), px
    echo: int = 0  # lag of the strongest repeat along `angle`: a tremor's double image


def estimate_blur(region: np.ndarray, max_length: int = 32) -> BlurEstimate:
    """Direction from the gradient structure tensor (motion smears away the gradients
    along its own direction, while a code's square grid has no preferred direction);
    length and defocus diameter from the derivative's autocorrelation."""
    f = region.astype(np.float32)
    gx = cv2.Sobel(f, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(f, cv2.CV_32F, 0, 1, ksize=3)
    jxx, jyy, jxy = float((gx * gx).mean()), float((gy * gy).mean()), float((gx * gy).mean())
    spread = float(np.hypot((jxx - jyy) / 2, jxy))
    big, small = (jxx + jyy) / 2 + spread, (jxx + jyy) / 2 - spread
    anisotropy = small / big if big > 0 else 1.0
    # The strongest gradients point across the motion; the motion is 90° from them.
    angle = (0.5 * float(np.degrees(np.arctan2(2 * jxy, jxx - jyy))) + 90.0) % 180.0
    h, w = f.shape
    # Rotate so the motion runs along the rows, and keep the middle (no rotated-in border).
    m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    rotated = cv2.warpAffine(f, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    core = rotated[h // 4:3 * h // 4, w // 4:3 * w // 4]
    max_lag = min(max_length, core.shape[1] - 2)
    lags = np.arange(3, max_lag + 1)
    if lags.size == 0:
        return BlurEstimate(angle, anisotropy, 0, 0)
    along = _derivative_autocorrelation(core, max_lag)
    length = int(lags[np.argmin(along[lags])])
    # A hand that dwells at both ends of its tremor leaves a double image: the
    # derivative repeats itself at that distance (a positive echo, beyond the
    # ramp's own negative dip).
    far = lags[lags >= 6]
    echo = int(far[np.argmax(along[far])]) if far.size else 0
    iso = (_derivative_autocorrelation(f, max_lag)
           + _derivative_autocorrelation(np.ascontiguousarray(f.T), max_lag)) / 2
    diameter = int(lags[np.argmin(iso[lags])])
    return BlurEstimate(angle, anisotropy, length, diameter, echo)
