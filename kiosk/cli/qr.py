"""`kiosk qr …`: QR payloads (parse) — decoding images lives beside it."""

from __future__ import annotations

import argparse

from kiosk.cli._qr_decode import add_decode_parser
from kiosk.cli.common import EXIT_OK, CliError, add_payload_argument, print_json, read_payload


def register(sub: argparse._SubParsersAction) -> None:
    qr = sub.add_parser("qr", help="QR payloads: parse text, decode images")
    qr_sub = qr.add_subparsers(dest="qr_command", metavar="ACTION", required=True)
    parse = qr_sub.add_parser("parse", help="classify and parse a decoded QR payload")
    add_payload_argument(parse, "the QR text")
    parse.add_argument("--json", action="store_true", help="print JSON (the default)")
    parse.set_defaults(handler=_parse)
    add_decode_parser(qr_sub)


def _parse(args: argparse.Namespace) -> int:
    from kiosk.domain.errors import MalformedQr
    from kiosk.domain.qr_payload import parse_qr

    try:
        payload = parse_qr(read_payload(args.source, "QR payload"))
    except MalformedQr as exc:
        raise CliError(f"malformed QR: {exc}") from None
    print_json(payload.to_json())
    return EXIT_OK
