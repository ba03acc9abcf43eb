"""`kiosk bhyt …`: BHYT card numbers (parse); the gateway check lives beside it."""

from __future__ import annotations

import argparse

from kiosk.cli.common import EXIT_OK, CliError, add_payload_argument, print_json, read_payload


def register(sub: argparse._SubParsersAction) -> None:
    bhyt = sub.add_parser("bhyt", help="health insurance (BHYT) cards")
    bhyt_sub = bhyt.add_subparsers(dest="bhyt_command", metavar="ACTION", required=True)
    parse = bhyt_sub.add_parser("parse", help="parse a card number (15-char, 10 or 12 digits)")
    add_payload_argument(parse, "the card number")
    parse.add_argument("--json", action="store_true", help="print JSON (the default)")
    parse.set_defaults(handler=_parse)
    from kiosk.cli._bhyt_check import add_check_parsers  # check + simulator (issue 5)

    add_check_parsers(bhyt_sub)


def _parse(args: argparse.Namespace) -> int:
    from kiosk.domain.bhyt import parse_bhyt_number
    from kiosk.domain.errors import InvalidBhytNumber

    try:
        number = parse_bhyt_number(read_payload(args.source, "BHYT card number").strip())
    except InvalidBhytNumber as exc:
        raise CliError(f"invalid BHYT card number: {exc}") from None
    print_json(number.to_json())
    return EXIT_OK
