"""QR decoding on the generated corpus at 1280×720: zxing-cpp vs pyzbar vs OpenCV vs the pipeline.

Every decoder gets the same BGR frames (8 payload kinds × 10 degradations ×
--seeds, rendered by drivers.virtual.qrcorpus) and is timed including its
grey conversion. Success = the exact payload text (Vietnamese UTF-8 intact).

    .venv/bin/python benchmarks/qr_decode.py [--seeds 2] [--json]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from drivers.qr import OpenCvDecoder, QrReader, ZbarDecoder, ZxingDecoder, to_gray
from drivers.virtual.qrcorpus import samples
from drivers.virtual.qrscene import DISTORTIONS, render_code


def _pyzbar_plain() -> Callable[[np.ndarray], str | None]:
    """pyzbar as usually called: `decode()` restricted to QR, no binary mode."""
    from pyzbar.pyzbar import ZBarSymbol, decode

    def run(frame: np.ndarray) -> str | None:
        found = decode(to_gray(frame), symbols=[ZBarSymbol.QRCODE])
        return found[0].data.decode("utf-8", "replace") if found else None

    return run


def _single(decoder: Any) -> Callable[[np.ndarray], str | None]:
    def run(frame: np.ndarray) -> str | None:
        found = decoder.decode(to_gray(frame))
        return found[0].text if found else None

    return run


def _pipeline() -> Callable[[np.ndarray], str | None]:
    reader = QrReader()

    def run(frame: np.ndarray) -> str | None:
        reader.reset()  # corpus frames are unrelated: no region-of-interest help
        result = reader.read(frame)
        return result.symbol.text if result.symbol else None

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    contenders: dict[str, Callable[[np.ndarray], str | None]] = {
        "zxing-cpp": _single(ZxingDecoder()),
        "pyzbar": _pyzbar_plain(),
        "pyzbar+binary": _single(ZbarDecoder(binary=True)),
        "opencv": _single(OpenCvDecoder()),
        "pipeline": _pipeline(),
    }
    ms: dict[str, list[float]] = {name: [] for name in contenders}
    ok: dict[str, dict[str, int]] = {name: dict.fromkeys(DISTORTIONS, 0) for name in contenders}
    per_distortion = dict.fromkeys(DISTORTIONS, 0)
    total = 0
    for sample in samples(args.seeds):
        frame = sample.render()
        total += 1
        per_distortion[sample.distortion] += 1
        for name, run in contenders.items():
            start = time.perf_counter()
            text = run(frame)
            ms[name].append((time.perf_counter() - start) * 1000)
            ok[name][sample.distortion] += text == sample.payload

    summary: dict[str, Any] = {
        "frames": total,
        "frame_size": "1280x720",
        "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
        "decoders": {},
    }
    for name in contenders:
        hits = sum(ok[name].values())
        summary["decoders"][name] = {
            "success": hits,
            "success_rate": round(hits / total, 4),
            "median_ms": round(statistics.median(ms[name]), 2),
            "p95_ms": round(float(np.percentile(ms[name], 95)), 2),
            "by_distortion": {d: f"{ok[name][d]}/{per_distortion[d]}" for d in DISTORTIONS},
        }
    # Short Vietnamese texts on a clean code: where zbar's charset guess garbles
    # UTF-8 unless binary mode is on (DOMAIN.md §4).
    short = ["Lê Lợi", "Nữ", "Nam", "Hưng", "Lê Văn Thưởng", "Trần Thị Bưởi", "Đỗ Quang Huy",
             "Phạm Thị Lợi", "Nguyễn Ánh", "Huế", "Đà Nẵng", "Cần Thơ"]
    summary["short_utf8"] = {}
    for name, run in contenders.items():
        good = sum(run(render_code(text, 6)) == text for text in short)
        summary["short_utf8"][name] = f"{good}/{len(short)}"
    pipe = summary["decoders"]["pipeline"]
    summary["pipeline_speed_ratio"] = {
        name: round(d["median_ms"] / pipe["median_ms"], 2)
        for name, d in summary["decoders"].items() if name != "pipeline"
    }
    if args.json:
        print(json.dumps(summary, ensure_ascii=False, indent=2))
        return
    print(f"QR corpus: {total} frames at 1280x720 ({len(DISTORTIONS)} degradations)")
    print(f"{'decoder':15} {'success':>9} {'rate':>7} {'median ms':>10} {'p95 ms':>8} "
          f"{'x pipeline':>11}")
    for name, d in summary["decoders"].items():
        ratio = summary["pipeline_speed_ratio"].get(name, 1.0)
        print(f"{name:15} {d['success']:>5}/{total:<3} {d['success_rate']:>7.1%} "
              f"{d['median_ms']:>10.2f} {d['p95_ms']:>8.2f} {ratio:>10.2f}x")
    print()
    print("short Vietnamese UTF-8 texts, clean code: "
          + ", ".join(f"{n} {v}" for n, v in summary["short_utf8"].items()))
    print()
    print(f"{'distortion':14}" + "".join(f"{n:>15}" for n in contenders))
    for d in DISTORTIONS:
        print(f"{d:14}" + "".join(f"{ok[n][d]:>12}/{per_distortion[d]:<2}" for n in contenders))


if __name__ == "__main__":
    main()
