"""QR decoding for camera frames: zxing-cpp first, zbar (via pyzbar) as fallback.

Why this shape (measured in benchmarks/qr_decode.py, decision record 0040):
* zxing-cpp restricted to QR Code is the fastest and most tolerant decoder
  here and returns the raw bytes, so UTF-8 Vietnamese text survives.
* zbar is the requested library and a second opinion on frames zxing
  misses, but only with its *binary* mode on: otherwise zbar guesses a
  legacy charset for short texts and "Lê Lợi" / "Nữ" come back garbled
  (DOMAIN.md §4). pyzbar's `decode()` cannot set that option, so we drive
  the scanner through pyzbar's ctypes wrapper.
* `QrReader` tries cheap passes first (last position, half resolution,
  full resolution) and expensive rescues (contrast boost, zbar) only when
  the cheap ones fail, so a typical frame costs a millisecond or two.
* `QrWorker` decodes on its own thread and keeps only the newest frame
  (no backlog), and `RepeatFilter` stops one card held in front of the
  camera from being reported thirty times a second.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import cv2
import numpy as np

from drivers.qrrecover import recover
from drivers.qrregion import Box, find_code_regions, sharpness

log = logging.getLogger(__name__)

# Live cameras: the blur recovery (tens of ms) at most twice a second.
LIVE_RECOVERY_INTERVAL_S = 0.5

Point = tuple[float, float]


@dataclass(frozen=True)
class QrSymbol:
    """One decoded code. `corners` are in the coordinates of the frame given to the reader."""

    text: str
    raw: bytes
    decoder: str
    corners: tuple[Point, ...] = ()
    # Read from a deblurred region (decision 0095): clean by the decoder's error
    # correction, but consumers may want a second check (the kiosk's parser).
    recovered: bool = False


@dataclass(frozen=True)
class DecodeResult:
    symbol: QrSymbol | None
    ms: float  # wall time spent on this frame, all passes included
    stage: str  # which pass found it ("" when nothing was found)


class Decoder(Protocol):
    name: str

    def decode(self, gray: np.ndarray) -> list[QrSymbol]: ...


def bytes_to_text(raw: bytes, fallback: str | None = None) -> str:
    """Cards store UTF-8 without an ECI header: trust the bytes, not a charset guess."""
    try:
        return raw.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError:
        if fallback is not None:
            return fallback
        # Not UTF-8 at all: keep every byte visible; the payload parser rejects it.
        return raw.decode("latin-1")


def to_gray(frame: np.ndarray) -> np.ndarray:
    if frame.ndim == 2:
        return frame
    if frame.ndim == 3 and frame.shape[2] == 4:
        return cv2.cvtColor(frame, cv2.COLOR_BGRA2GRAY)
    if frame.ndim == 3 and frame.shape[2] == 3:
        return cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    raise ValueError(f"unsupported frame shape {frame.shape}")


class ZxingDecoder:
    """zxing-cpp, QR Code only (1-D and other 2-D formats would only add false hits)."""

    name = "zxing-cpp"

    def __init__(self, binarizer: str = "LocalAverage", try_harder: bool = False,
                 name: str = "zxing-cpp") -> None:
        self.name = name
        import zxingcpp

        self._zx = zxingcpp
        self._binarizer = getattr(zxingcpp.Binarizer, binarizer)
        # The enum member, not a BarcodeFormats instance: an instance alive at exit makes
        # nanobind print "leaked instances" on every stop of the kiosk.
        self._formats: Any = zxingcpp.BarcodeFormat.QRCode  # converted per call
        # Rotation is irrelevant to QR (finder patterns work at any angle); inverted
        # (light-on-dark) codes are not shown by VNeID or printed on cards.
        self._try_harder = try_harder

    def decode(self, gray: np.ndarray) -> list[QrSymbol]:
        results = self._zx.read_barcodes(
            np.ascontiguousarray(gray),
            formats=self._formats,
            try_rotate=self._try_harder,
            try_invert=self._try_harder,
            binarizer=self._binarizer,
        )
        out = []
        for r in results:
            raw = bytes(r.bytes)
            pos = r.position
            corners = tuple(
                (float(p.x), float(p.y))
                for p in (pos.top_left, pos.top_right, pos.bottom_right, pos.bottom_left)
            )
            out.append(QrSymbol(bytes_to_text(raw, r.text), raw, self.name, corners))
        return out


# zbar constants (zbar.h, 0.23): the QR symbol type and the config keys.
_ZBAR_QRCODE = 64
_ZBAR_NONE = 0
_ZBAR_CFG_ENABLE = 0
_ZBAR_CFG_BINARY = 4  # return the QR bytes untouched instead of guessing a charset
_Y800 = 0x30303859  # fourcc "Y800": 8-bit grey


class ZbarDecoder:
    """zbar through pyzbar's ctypes wrapper, QR only, binary mode on.

    One zbar scanner per instance, guarded by a lock (zbar scanners are not
    thread-safe); create one per thread for parallel use.
    """

    name = "zbar"

    def __init__(self, binary: bool = True) -> None:
        from pyzbar import wrapper as zw

        self._zw = zw
        self._lock = threading.Lock()
        scanner = zw.zbar_image_scanner_create()
        if not scanner:
            raise RuntimeError("zbar: could not create an image scanner")
        self._scanner = scanner
        zw.zbar_image_scanner_set_config(scanner, _ZBAR_NONE, _ZBAR_CFG_ENABLE, 0)
        zw.zbar_image_scanner_set_config(scanner, _ZBAR_QRCODE, _ZBAR_CFG_ENABLE, 1)
        if binary:
            zw.zbar_image_scanner_set_config(scanner, _ZBAR_QRCODE, _ZBAR_CFG_BINARY, 1)

    def close(self) -> None:
        with self._lock:
            if self._scanner:
                self._zw.zbar_image_scanner_destroy(self._scanner)
                self._scanner = None

    def __del__(self) -> None:  # scanners hold C memory; free it if close() was forgotten
        with contextlib.suppress(Exception):  # interpreter shutdown
            self.close()

    def decode(self, gray: np.ndarray) -> list[QrSymbol]:
        zw = self._zw
        height, width = gray.shape[:2]
        pixels = np.ascontiguousarray(gray, dtype=np.uint8)  # must outlive the scan
        out: list[QrSymbol] = []
        with self._lock:
            if not self._scanner:
                raise RuntimeError("zbar decoder is closed")
            image = zw.zbar_image_create()
            try:
                zw.zbar_image_set_format(image, _Y800)
                zw.zbar_image_set_size(image, width, height)
                zw.zbar_image_set_data(
                    image, pixels.ctypes.data_as(ctypes.c_void_p), pixels.nbytes, None
                )
                if zw.zbar_scan_image(self._scanner, image) <= 0:
                    return out
                symbol = zw.zbar_image_first_symbol(image)
                while symbol:
                    raw = ctypes.string_at(
                        zw.zbar_symbol_get_data(symbol), zw.zbar_symbol_get_data_length(symbol)
                    )
                    n = zw.zbar_symbol_get_loc_size(symbol)
                    corners = tuple(
                        (float(zw.zbar_symbol_get_loc_x(symbol, i)),
                         float(zw.zbar_symbol_get_loc_y(symbol, i)))
                        for i in range(n)
                    )
                    out.append(QrSymbol(bytes_to_text(raw), raw, self.name, corners))
                    symbol = zw.zbar_symbol_next(symbol)
            finally:
                zw.zbar_image_destroy(image)
        return out


class OpenCvDecoder:
    """OpenCV's QRCodeDetector: kept for the benchmark comparison only."""

    name = "opencv"

    def __init__(self) -> None:
        self._detector = cv2.QRCodeDetector()

    def decode(self, gray: np.ndarray) -> list[QrSymbol]:
        text, points, _ = self._detector.detectAndDecode(gray)
        if not text:
            return []
        corners: tuple[Point, ...] = ()
        if points is not None:
            corners = tuple((float(x), float(y)) for x, y in np.asarray(points).reshape(-1, 2))
        # OpenCV hands back str decoded with its own guess; recover the bytes if we can.
        try:
            raw = text.encode("latin-1")
            text = bytes_to_text(raw, text)
        except UnicodeEncodeError:
            raw = text.encode("utf-8")
        return [QrSymbol(text, raw, self.name, corners)]


def boost_contrast(gray: np.ndarray, gain: float = 4.0, window: int = 31) -> np.ndarray:
    """High-pass with gain, in uint8 (cheap): brings worn, low-contrast print (modules
    ~30 grey levels apart) above the binariser's minimum dynamic range."""
    local_mean = cv2.blur(gray, (window, window))
    return cv2.addWeighted(gray, gain, local_mean, -gain, 128)


def _shift(symbol: QrSymbol, scale: float, dx: float, dy: float) -> QrSymbol:
    corners = tuple((x * scale + dx, y * scale + dy) for x, y in symbol.corners)
    return replace(symbol, corners=corners)


@dataclass
class QrReader:
    """The decode strategy for one stream of frames (not thread-safe: one per worker).

    Passes, cheapest first, stopping at the first hit:
      1. `roi`   – around where the code was last seen (a card held still);
      2. `half`  – the whole frame at half resolution (big codes, ~4× cheaper);
      3. `full`  – the whole frame (small codes, a card held far away);
      4. `boost` – contrast-boosted frame (worn, low-contrast print);
      5. `zbar`  – the fallback decoder, a second opinion; at most every
         `zbar_interval_s`, because most live frames hold no code at all and
         zbar costs ~15 ms on an empty 720p frame (zxing passes: ~5 ms);
      6. `deblur` – blur recovery (decision 0095): find the code's region,
         estimate the motion / defocus, deconvolve the region, decode again.
         With `recovery_interval_s` > 0 (a live camera) it runs at most that
         often, on the *sharpest* of the frames missed since its last run
         (variance of the Laplacian over the code region), so the expensive
         path sees the best frame a shaking hand offered, and frames with no
         code region never pay for it. `recovery_duty` caps its share of wall
         time when runs are fruitless (a code-like poster, a blur beyond reach).
    """

    zbar_fallback: bool = True
    roi: bool = True
    downscale: bool = True
    max_width: int = 1280  # larger frames are shrunk first: codes on a card are never tiny
    roi_ttl_s: float = 1.5
    zbar_interval_s: float = 0.25
    recovery: bool = True
    recovery_interval_s: float = 0.0  # 0: every missed frame (offline use, the benchmark)
    recovery_budget_ms: float = 400.0  # a cap for a loaded machine; candidates bound it first
    # Run zbar only where the region finder sees something code-like (decision 0095);
    # False restores issue 4's behaviour (zbar on any missed frame), the benchmark's baseline.
    region_gate: bool = True
    recovery_history: int = 6  # missed frames kept as candidates (~0.4 s at 15 fps)
    # Live: the recovery may use at most this share of wall time. A fruitless run (a
    # code-like poster behind the patient, a blur beyond reach) walks every candidate,
    # ~150 ms; the next then waits 1.5 s instead of 0.5 s. None: no such cap.
    recovery_duty: float | None = 0.1
    timer: Callable[[], float] = time.perf_counter  # measures the recovery's own cost
    # Live: after a fruitless run, the same place is retried only on a clearly sharper
    # frame (a static poster never is; a steadying hand soon is), or after `forget_s`.
    retry_sharper: float = 1.3
    forget_s: float = 10.0
    clock: Callable[[], float] = time.monotonic
    _zxing: ZxingDecoder = field(default_factory=ZxingDecoder, init=False)
    _zbar: ZbarDecoder | None = field(default=None, init=False)
    _roi: tuple[int, int, int, int] | None = field(default=None, init=False)
    _roi_seen: float = field(default=0.0, init=False)
    _zbar_last: float = field(default=float("-inf"), init=False)
    _zxing_global: ZxingDecoder | None = field(default=None, init=False)
    _recovery_next: float = field(default=float("-inf"), init=False)
    _fruitless: tuple[float, float, Box] | None = field(default=None, init=False)
    _missed: deque[tuple[float, np.ndarray, list[Box]]] = field(default_factory=deque,
                                                                init=False)

    def reset(self) -> None:
        self._roi = None
        self._missed.clear()
        self._fruitless = None

    def read(self, frame: np.ndarray) -> DecodeResult:
        start = time.perf_counter()
        gray = to_gray(frame)
        scale = 1.0
        if gray.shape[1] > self.max_width:
            scale = gray.shape[1] / self.max_width
            height = round(gray.shape[0] / scale)
            gray = cv2.resize(gray, (self.max_width, height), interpolation=cv2.INTER_AREA)
        stage, symbol = self._passes(gray)
        if symbol is not None:
            self._remember(symbol, gray.shape[1], gray.shape[0])  # in working coordinates
            if scale != 1.0:
                symbol = _shift(symbol, scale, 0, 0)
        return DecodeResult(symbol, (time.perf_counter() - start) * 1000, stage)

    def _passes(self, gray: np.ndarray) -> tuple[str, QrSymbol | None]:
        h, w = gray.shape
        if self.roi and self._roi is not None:
            if self.clock() - self._roi_seen > self.roi_ttl_s:
                self._roi = None
            else:
                x0, y0, x1, y1 = self._roi
                found = self._first(self._zxing, gray[y0:y1, x0:x1])
                if found is not None:
                    return "roi", _shift(found, 1.0, x0, y0)
        if self.downscale and min(h, w) >= 480:
            half = cv2.resize(gray, (w // 2, h // 2), interpolation=cv2.INTER_AREA)
            found = self._first(self._zxing, half)
            if found is not None:
                return "half", _shift(found, 2.0, 0, 0)
        found = self._first(self._zxing, gray)
        if found is not None:
            return "full", found
        found = self._first(self._zxing, boost_contrast(gray))
        if found is not None:
            return "boost", found
        # Nothing code-like in view (most live frames): neither zbar nor the recovery
        # would find anything, and the region finder costs ~1 ms against their 15+.
        regions = find_code_regions(gray) if (self.region_gate or self.recovery) else []
        if self.region_gate and not regions:
            return "", None
        now = self.clock()
        if self.zbar_fallback and now - self._zbar_last >= self.zbar_interval_s:
            self._zbar_last = now
            if self._zbar is None:
                self._zbar = ZbarDecoder(binary=True)
            found = self._first(self._zbar, gray)
            if found is not None:
                return "zbar", found
        if self.recovery and regions:
            found = self._recover(gray, regions)
            if found is not None:
                return "deblur", found
        return "", None

    def _recover(self, gray: np.ndarray, regions: list[Box]) -> QrSymbol | None:
        """Remember this missed frame; when the recovery is due, deblur the sharpest
        remembered frame (all of them show a code region)."""
        live = self.recovery_interval_s > 0
        if live:
            self._missed.append((sharpness(gray, regions[0]), gray, regions))
            while len(self._missed) > self.recovery_history:
                self._missed.popleft()
            now = self.clock()
            if now < self._recovery_next:
                return None
            score, gray, regions = max(self._missed, key=lambda item: item[0])
            if self._tried_in_vain(now, score, regions[0]):
                return None
            self._missed.clear()
            regions = regions[:1]  # live: the likeliest region; the next run may differ
        started = self.timer()
        found = recover(gray, self._decode_clean, self.recovery_budget_ms, regions=regions)
        if live:
            spent = self.timer() - started
            wait = self.recovery_interval_s
            if self.recovery_duty:
                wait = max(wait, spent / self.recovery_duty)
            self._recovery_next = now + wait
            self._fruitless = None if found is not None else (now, score, regions[0])
        if found is None:
            return None
        box = found.box
        return replace(_shift(found.symbol, 1.0, box.x0, box.y0), recovered=True)

    def _tried_in_vain(self, now: float, score: float, box: Box) -> bool:
        if self._fruitless is None:
            return False
        when, failed_score, failed_box = self._fruitless
        if now - when > self.forget_s or box.overlap(failed_box) < 0.5:
            return False
        return score < failed_score * self.retry_sharper

    def _decode_clean(self, image: np.ndarray) -> QrSymbol | None:
        """A deblurred region through zxing with both binarisers (the local one
        misjudges the ringing near strong edges, the global one a light gradient).
        zxing returns only symbols whose Reed-Solomon check passed."""
        found = self._first(self._zxing, image)
        if found is not None:
            return found
        if self._zxing_global is None:
            self._zxing_global = ZxingDecoder("GlobalHistogram")
        return self._first(self._zxing_global, image)

    @staticmethod
    def _first(decoder: Decoder, gray: np.ndarray) -> QrSymbol | None:
        if gray.size == 0:
            return None
        for symbol in decoder.decode(gray):
            if symbol.raw:
                return symbol
        return None

    def _remember(self, symbol: QrSymbol, width: int, height: int) -> None:
        if not symbol.corners:
            return
        xs = [p[0] for p in symbol.corners]
        ys = [p[1] for p in symbol.corners]
        # Half the code's size of margin each side: hands drift between frames.
        mx = (max(xs) - min(xs)) * 0.5 + 16
        my = (max(ys) - min(ys)) * 0.5 + 16
        self._roi = (
            max(0, int(min(xs) - mx)),
            max(0, int(min(ys) - my)),
            min(width, int(max(xs) + mx)),
            min(height, int(max(ys) + my)),
        )
        self._roi_seen = self.clock()


class RepeatFilter:
    """Report a payload once while it stays in view; again only after it has been
    out of sight for `window_s` (the same patient showing it a second time)."""

    def __init__(self, window_s: float = 3.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.window_s = window_s
        self._clock = clock
        self._last_seen: dict[str, float] = {}
        self._lock = threading.Lock()

    def accept(self, text: str) -> bool:
        now = self._clock()
        with self._lock:
            # Forget stale entries so the map stays tiny.
            for key in [k for k, t in self._last_seen.items() if now - t > self.window_s]:
                del self._last_seen[key]
            fresh = text not in self._last_seen
            self._last_seen[text] = now
            return fresh

    def forget(self) -> None:
        """A new session starts: the next patient's code is reported at once."""
        with self._lock:
            self._last_seen.clear()


@dataclass
class WorkerStats:
    submitted: int = 0
    skipped: int = 0  # replaced by a newer frame before the worker got to them
    decoded: int = 0  # frames the worker ran the reader on
    found: int = 0  # frames with a code
    reported: int = 0  # codes passed on after repeat suppression
    errors: int = 0
    last_ms: float = 0.0
    last_age_ms: float = 0.0  # frame age when the worker picked it up


class QrWorker:
    """Decodes submitted frames on a daemon thread; only the newest frame waits.

    `submit()` never blocks (the camera thread calls it): if a frame is still
    waiting, the newer one replaces it, so the worker is never behind by more
    than one frame whatever the decode time. `on_symbol` runs on the worker
    thread for each newly seen code.
    """

    def __init__(
        self,
        on_symbol: Callable[[QrSymbol], None],
        reader: QrReader | None = None,
        repeat: RepeatFilter | None = None,
        on_result: Callable[[DecodeResult, float], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._on_symbol = on_symbol
        self._on_result = on_result
        # A worker serves a live camera: the recovery rate-limited, on the sharpest frame.
        self.reader = reader or QrReader(recovery_interval_s=LIVE_RECOVERY_INTERVAL_S)
        self.repeat = repeat or RepeatFilter()
        self._clock = clock
        self._cond = threading.Condition()
        self._pending: tuple[np.ndarray, float] | None = None
        self._running = False
        self._paused = False
        self._thread: threading.Thread | None = None
        self.stats = WorkerStats()

    def start(self) -> None:
        with self._cond:
            if self._running:
                return
            self._running = True
        self._thread = threading.Thread(target=self._run, name="qr-worker", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        with self._cond:
            self._running = False
            self._pending = None
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def pause(self) -> None:
        """Stop decoding (no screen wants a QR); frames submitted meanwhile are dropped."""
        with self._cond:
            self._paused = True
            self._pending = None

    def resume(self) -> None:
        with self._cond:
            self._paused = False
        self.reader.reset()

    def submit(self, frame: np.ndarray, captured_at: float | None = None) -> bool:
        """Queue `frame` for decoding; False when it was dropped (paused / stopped)."""
        with self._cond:
            self.stats.submitted += 1
            if not self._running or self._paused:
                self.stats.skipped += 1
                return False
            if self._pending is not None:
                self.stats.skipped += 1
            self._pending = (frame, self._clock() if captured_at is None else captured_at)
            self._cond.notify()
            return True

    def _run(self) -> None:
        while True:
            with self._cond:
                while self._running and self._pending is None:
                    self._cond.wait()
                if not self._running:
                    return
                assert self._pending is not None
                frame, captured_at = self._pending
                self._pending = None
            self._process(frame, captured_at)

    def _process(self, frame: np.ndarray, captured_at: float) -> None:
        age_ms = (self._clock() - captured_at) * 1000
        try:
            result = self.reader.read(frame)
        except Exception:  # a decoder bug must not kill the camera pipeline
            self.stats.errors += 1
            log.exception("QR decode failed")
            return
        self.stats.decoded += 1
        self.stats.last_ms = result.ms
        self.stats.last_age_ms = age_ms
        if self._on_result is not None:
            self._safe(self._on_result, result, age_ms)
        if result.symbol is None:
            return
        self.stats.found += 1
        if self.repeat.accept(result.symbol.text):
            self.stats.reported += 1
            self._safe(self._on_symbol, result.symbol)

    def _safe(self, fn: Callable[..., None], *args: object) -> None:
        try:
            fn(*args)
        except Exception:  # a subscriber bug must not kill decoding either
            self.stats.errors += 1
            log.exception("QR subscriber failed")
