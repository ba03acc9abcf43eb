"""`kiosk camera test [--device N | --file PATH] [--seconds S] [--json]`.

Runs the real capture thread and QR worker for a few seconds and prints
frames per second, how many decoded frames held a code, decode time and
latency (frame capture → decode finished). Without --device/--file the
configured `devices.camera` is used (the demo's virtual camera then shows a
sample CCCD QR so the figures mean something).
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from kiosk.cli.common import (
    EXIT_OK,
    EXIT_UNAVAILABLE,
    CliError,
    add_config_argument,
    load_config,
    print_json,
)

# The virtual camera's sample (an invented citizen, DOMAIN.md §4 format).
_SAMPLE = ("001185012345|012345678|Nguyễn Thị Hồng Nhung|14031985|Nữ|"
           "Số 12 Hàng Bột, Đống Đa, Hà Nội|02072021")


def register(sub: argparse._SubParsersAction) -> None:
    camera = sub.add_parser("camera", help="camera: capture and QR decode self-test")
    camera_sub = camera.add_subparsers(dest="camera_command", metavar="ACTION", required=True)
    test = camera_sub.add_parser("test", help="measure fps, decode rate and latency")
    source = test.add_mutually_exclusive_group()
    source.add_argument("--device", help="V4L2 index or /dev path (default: configured camera)")
    source.add_argument("--file", help="a video or image file instead of a camera")
    test.add_argument("--seconds", type=float, default=5.0, help="how long to run (default 5)")
    test.add_argument("--json", action="store_true", help="print JSON")
    add_config_argument(test)
    test.set_defaults(handler=_test)


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)


def _test(args: argparse.Namespace) -> int:
    from pathlib import Path

    from drivers.camera import Camera, open_source
    from drivers.qr import DecodeResult, QrSymbol, QrWorker, RepeatFilter
    from kiosk.services.qr_scanner import camera_source

    if not 0 < args.seconds <= 600:  # also refuses nan and inf
        raise CliError("--seconds must be between 0 and 600")
    if args.file is not None:
        if not Path(args.file).is_file():
            raise CliError(f"{args.file}: no such file")
        source = open_source(args.file)
    elif args.device is not None:
        source = open_source(args.device)
    else:
        devices = load_config(args).devices
        source = camera_source(devices.camera, devices.camera_width, devices.camera_height,
                               devices.camera_fps)
    show = getattr(source, "show", None)
    if callable(show):
        show(_SAMPLE)

    decode_ms: list[float] = []
    latency_ms: list[float] = []
    kinds: dict[str, int] = {}

    def on_result(result: DecodeResult, age_ms: float) -> None:
        decode_ms.append(result.ms)
        latency_ms.append(age_ms + result.ms)

    def on_symbol(symbol: QrSymbol) -> None:
        kinds[symbol.decoder] = kinds.get(symbol.decoder, 0) + 1

    # Repeat suppression off: a self-test wants every hit counted.
    worker = QrWorker(on_symbol, repeat=RepeatFilter(window_s=0.0), on_result=on_result)
    camera = Camera(source)
    camera.subscribe(lambda frame: worker.submit(frame.image, frame.captured_at))
    worker.start()
    camera.start()
    try:
        time.sleep(args.seconds)
    finally:
        camera.stop()
        worker.stop()

    stats = worker.stats
    report: dict[str, Any] = {
        "source": source.name,
        "seconds": args.seconds,
        "frames": camera.stats.frames,
        "fps": round(camera.stats.frames / args.seconds, 1),
        "reconnects": camera.stats.reconnects,
        "decoded_frames": stats.decoded,
        "skipped_frames": stats.skipped,
        "frames_with_code": stats.found,
        "decode_rate": round(stats.found / stats.decoded, 3) if stats.decoded else 0.0,
        "decode_ms_median": _percentile(decode_ms, 0.5),
        "decode_ms_p95": _percentile(decode_ms, 0.95),
        "latency_ms_median": _percentile(latency_ms, 0.5),
        "latency_ms_p95": _percentile(latency_ms, 0.95),
        "decoders": kinds,
    }
    if args.json:
        print_json(report)
    else:
        for key, value in report.items():
            print(f"{key:18} {value}")
    if camera.stats.frames == 0:
        if not args.json:
            print(f"no frames from {source.name}")
        return EXIT_UNAVAILABLE
    return EXIT_OK
