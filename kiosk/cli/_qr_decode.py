"""`kiosk qr decode IMAGE... [--json]`: find and classify QR codes in image files.

Output (JSON): one object per image, in order:
``{"file", "found", "kind", "fields", "decoder", "ms"}`` where `fields` has
the same keys as `kiosk qr parse` (for a card-shaped but broken code,
`kind` is "malformed" and `fields` is ``{"reason": …}``). Exit 0 even when
some images hold no code; exit 2 when a file cannot be read as an image
(those entries carry an "error" and the others are still printed).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from kiosk.cli.common import EXIT_BAD_INPUT, EXIT_OK, print_json


def add_decode_parser(qr_sub: argparse._SubParsersAction) -> None:
    decode = qr_sub.add_parser("decode", help="find and classify QR codes in image files")
    decode.add_argument("images", nargs="+", metavar="IMAGE", help="PNG/JPEG/... files")
    decode.add_argument("--json", action="store_true", help="print a JSON list")
    decode.set_defaults(handler=_decode)


def _read_image(path: str) -> Any:
    import cv2
    import numpy as np

    try:
        data = np.fromfile(path, dtype=np.uint8)  # no OpenCV warning spam for bad paths
    except OSError:
        return None
    if data.size == 0:
        return None
    try:
        return cv2.imdecode(data, cv2.IMREAD_COLOR)
    except cv2.error:  # e.g. a header claiming more pixels than OpenCV agrees to allocate
        return None


def decode_file(path: str, reader: Any) -> dict[str, Any]:
    from kiosk.journey.events import QrRejected, QrScanned
    from kiosk.services.qr_scanner import classify

    entry: dict[str, Any] = {"file": path, "found": False, "kind": None, "fields": None,
                             "decoder": None, "ms": None}
    image = _read_image(path)
    if image is None:
        entry["error"] = "not a readable image" if Path(path).is_file() else "no such file"
        return entry
    reader.reset()  # files are unrelated: no region of interest carried over
    result = reader.read(image)
    entry["ms"] = round(result.ms, 2)
    if result.symbol is None:
        return entry
    event = classify(result.symbol.text)
    entry["found"] = True
    entry["decoder"] = result.symbol.decoder
    if isinstance(event, QrScanned):
        entry["kind"] = event.payload.kind
        entry["fields"] = event.payload.to_json()
    elif isinstance(event, QrRejected):
        entry["kind"] = "malformed"
        entry["fields"] = {"reason": event.reason}
    return entry


def _decode(args: argparse.Namespace) -> int:
    from drivers.qr import QrReader

    reader = QrReader()
    entries = [decode_file(path, reader) for path in args.images]
    if args.json:
        print_json(entries)
    else:
        for e in entries:
            if "error" in e:
                print(f"{e['file']}: {e['error']}")
            elif not e["found"]:
                print(f"{e['file']}: no QR code ({e['ms']} ms)")
            else:
                print(f"{e['file']}: {e['kind']} ({e['decoder']}, {e['ms']} ms)")
    bad = [e["file"] for e in entries if "error" in e]
    if bad:
        print(f"cannot read: {', '.join(bad)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    return EXIT_OK
