"""`kiosk card read|simulate|readers`: the chip CCCD from the command line (issue 3).

Exit codes: 0 read; 2 bad arguments (a wrong MRZ check digit or CAN, named); 3 access
denied (wrong key, with the card's status word); 4 no reader, no card or card removed;
7 a check failed (named: a possible clone or forgery, decision 0110). Every non-zero exit
prints one line on stderr, Vietnamese then English.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from kiosk.cli.common import (
    EXIT_ACCESS_DENIED,
    EXIT_BAD_INPUT,
    EXIT_FAILURE,
    EXIT_NO_CARD,
    EXIT_OK,
    EXIT_VERIFICATION_FAILED,
    CliError,
    add_config_argument,
    load_config,
    print_json,
)

MSG = {
    "bad": "Thông tin để mở thẻ không hợp lệ: {0} / Invalid card key: {0}",
    "denied": "Thẻ từ chối khóa (sai CAN hoặc sai ngày) / The card rejected the key "
    "(wrong CAN or dates): {0}",
    "no_reader": "Không có đầu đọc thẻ / No card reader ({0})",
    "no_card": "Không có thẻ trên đầu đọc / No card on the reader ({0})",
    "removed": "Thẻ đã bị nhấc ra khi đang đọc / The card was removed during reading",
    "failed": "Dữ liệu trên thẻ không qua kiểm tra / Card data failed verification ({0})",
    "error": "Không đọc được thẻ / Could not read the card ({0})",
}


def register(subparsers: Any) -> None:
    card = subparsers.add_parser("card", help="read a chip citizen-ID card (ICAO 9303)")
    sub = card.add_subparsers(dest="card_command", metavar="ACTION")

    read = sub.add_parser("read", help="read the card on a reader and print JSON")
    where = read.add_mutually_exclusive_group()
    where.add_argument("--reader", help="PC/SC reader name (default: first with a card)")
    where.add_argument("--nfc", metavar="PATH", help="nfcpy device path, e.g. usb")
    key = read.add_mutually_exclusive_group()
    key.add_argument("--can", help="6-digit card access number")
    key.add_argument("--mrz", help="full MRZ text (TD1 3x30 or TD3 2x44)")
    key.add_argument("--qr", help="CCCD / Căn cước QR payload")
    key.add_argument("--doc-number", help="document number (with --dob and --expiry)")
    read.add_argument("--dob", help="date of birth YYMMDD")
    read.add_argument("--expiry", help="expiry date YYMMDD (991231: none)")
    read.add_argument("--no-photo", action="store_true", help="skip DG2")
    read.add_argument("--photo-out", metavar="FILE", help="write the face image to FILE")
    read.add_argument("--trust-store", metavar="DIR", help="CSCA certificates / master lists")
    read.add_argument("--json", action="store_true", help="print JSON (the only output form)")
    add_config_argument(read)  # devices.reader and devices.trust_store, as `kiosk run` uses
    read.set_defaults(handler=_read)

    sim = sub.add_parser("simulate", help="serve a virtual CCCD through vpcd until stopped")
    sim.add_argument("--identity", required=True, metavar="FILE", help="identity JSON")
    sim.add_argument("--vpcd-port", type=int, default=35963)
    sim.add_argument("--vpcd-host", default="127.0.0.1")
    sim.add_argument("--pki", metavar="DIR", help="keep the test CSCA/DS here (DIR/trust)")
    sim.add_argument("--no-pace", action="store_true", help="a BAC-only card")
    sim.add_argument("--short-only", action="store_true", help="refuse extended length")
    sim.add_argument("--quirks", metavar="LIST", help="behaviours of other chips, odd cards "
                     "and clones, e.g. no-sfi,eof-6282-nomac or clone-hide-aa "
                     "(drivers/virtual/cccd_quirks.py lists them)")
    sim.add_argument("--tamper-dg", type=int, metavar="N", help="(tests) corrupt DG N")
    sim.add_argument("--remove-after", type=int, metavar="N", help="(tests) leave after N APDUs")
    sim.set_defaults(handler=_simulate)

    readers = sub.add_parser("readers", help="list readers and whether a card is present")
    readers.add_argument("--json", action="store_true")
    readers.set_defaults(handler=_readers)
    card.set_defaults(handler=lambda args: (card.print_help(), EXIT_BAD_INPUT)[1])


def _keys(args: argparse.Namespace) -> list[Any]:
    from drivers.emrtd.errors import ParseError
    from drivers.emrtd.keys import CanKey, MrzKey, key_from_mrz_text

    try:
        if args.can is not None:
            return [CanKey(args.can.strip())]
        if args.mrz is not None:
            return [key_from_mrz_text(args.mrz.replace("\\n", "\n"))]
        if args.doc_number is not None:
            if not (args.dob and args.expiry):
                raise ValueError("--doc-number needs --dob and --expiry")
            return [MrzKey(args.doc_number.strip().upper(), args.dob, args.expiry)]
        if args.qr is not None:
            return _qr_keys(args.qr)
    except (ValueError, ParseError) as exc:
        raise CliError(MSG["bad"].format(exc), EXIT_BAD_INPUT) from None
    raise CliError(MSG["bad"].format("give --can, --mrz, --qr or --doc-number"), EXIT_BAD_INPUT)


def _qr_keys(text: str) -> list[Any]:
    from drivers.emrtd.keys import keys_from_qr_values
    from kiosk.domain.errors import DomainError
    from kiosk.domain.qr_payload import CccdQr, parse_qr

    try:
        qr = parse_qr(text)
    except DomainError as exc:
        raise ValueError(f"QR: {exc}") from None
    if not isinstance(qr, CccdQr):
        raise ValueError("the QR is not a citizen-ID QR")
    return keys_from_qr_values(qr.id_number, qr.date_of_birth, qr.issue_date)


def _configured(args: argparse.Namespace) -> tuple[Any, str | None, str]:
    """(reader choice, trust store path, chip policy): the flags, else the kiosk's
    configuration (--config, $KIOSK_CONFIG or /etc/kiosk/kiosk.toml — never the demo's)."""
    import os

    from kiosk.config.loader import DEFAULT_PATH
    from kiosk.services.card_reader import ReaderChoice

    path = getattr(args, "config", None) or os.environ.get("KIOSK_CONFIG") or (
        str(DEFAULT_PATH) if DEFAULT_PATH.exists() else None)
    devices = load_config(argparse.Namespace(config=path)).devices if path else None
    if args.nfc:
        choice = ReaderChoice("nfc", args.nfc)
    elif args.reader:
        choice = ReaderChoice("pcsc", args.reader)
    elif devices is not None:
        choice = ReaderChoice.parse(devices.reader)
        if choice.kind == "virtual":
            raise CliError(MSG["no_reader"].format(
                "devices.reader is the demo's virtual reader"), EXIT_NO_CARD)
    else:
        choice = ReaderChoice("pcsc")
    trust = args.trust_store or (devices.trust_store if devices is not None else None)
    return choice, trust, devices.chip_policy if devices is not None else "standard"


def _open(choice: Any) -> Any:
    from kiosk.services.card_reader import NfcReader, PcscReader

    return (NfcReader(choice) if choice.kind == "nfc" else PcscReader(choice)).open_transport()


def _read(args: argparse.Namespace) -> int:
    from drivers.emrtd import errors as e
    from drivers.emrtd.passive import TrustStore
    from drivers.emrtd.reader import read_card
    from kiosk.services.chip_identity import card_read_json, policy_failures

    keys = _keys(args)
    if args.no_photo and args.photo_out:
        raise CliError(MSG["bad"].format("--photo-out needs the photo"), EXIT_BAD_INPUT)
    choice, trust_path, policy = _configured(args)
    trust = None
    if trust_path:
        try:
            trust = TrustStore.load(trust_path)
        except OSError as exc:
            raise CliError(MSG["bad"].format(f"trust store: {exc}"), EXIT_BAD_INPUT) from None
    try:
        transport = _open(choice)
    except e.NoCardError as exc:
        raise CliError(MSG["no_card"].format(exc), EXIT_NO_CARD) from None
    except e.TransportError as exc:
        raise CliError(MSG["no_reader"].format(exc), EXIT_NO_CARD) from None
    try:
        result = read_card(transport, keys, photo=not args.no_photo, trust_store=trust)
    except e.AuthenticationFailedError as exc:
        raise CliError(MSG["denied"].format(exc), EXIT_ACCESS_DENIED) from None
    except e.CardRemovedError:
        raise CliError(MSG["removed"], EXIT_NO_CARD) from None
    except e.TransportError as exc:
        raise CliError(MSG["no_card"].format(exc), EXIT_NO_CARD) from None
    except (e.SecureMessagingError, e.ParseError, e.VerificationFailedError) as exc:
        raise CliError(MSG["failed"].format(exc), EXIT_VERIFICATION_FAILED) from None
    except e.EmrtdError as exc:
        raise CliError(MSG["error"].format(exc), EXIT_FAILURE) from None
    finally:
        transport.close()
    if args.photo_out and result.photo is not None:
        with open(args.photo_out, "wb") as fh:  # only when asked: never by default
            fh.write(result.photo.data)
    print_json(card_read_json(result))
    failures = policy_failures(result, policy)
    if failures:  # a possible clone or forgery, or short of the policy (decision 0110)
        print(MSG["failed"].format("; ".join(failures)), file=sys.stderr)
        return EXIT_VERIFICATION_FAILED
    return EXIT_OK


def _simulate(args: argparse.Namespace) -> int:
    import json
    import signal
    from pathlib import Path

    from drivers.virtual.cccd import CardOptions, Identity, VirtualCccd, build_card_image
    from drivers.virtual.cccd_pki import load_or_generate
    from drivers.virtual.vpcd import VpcdCard

    try:
        identity = Identity.load(args.identity)
    except (OSError, ValueError, KeyError, json.JSONDecodeError) as exc:
        raise CliError(
            f"Tệp nhân thân không hợp lệ / Invalid identity file: {exc}", EXIT_BAD_INPUT
        ) from None
    from drivers.virtual.cccd_quirks import parse_quirks

    try:
        quirks = parse_quirks(args.quirks)
    except ValueError as exc:
        raise CliError(f"Tham số --quirks không hợp lệ / Invalid --quirks: {exc}",
                       EXIT_BAD_INPUT) from None  # fmt: skip
    options = CardOptions(pace=not args.no_pace, extended_length=not args.short_only,
                          tamper_dg=args.tamper_dg, quirks=quirks)  # fmt: skip
    pki = load_or_generate(Path(args.pki) if args.pki else None)
    card = VirtualCccd(identity, options, build_card_image(identity, options, pki))
    server = VpcdCard(card, args.vpcd_host, args.vpcd_port, remove_after=args.remove_after)
    stop = False

    def on_signal(signum: int, frame: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    server.start()
    print(f"virtual CCCD ready for vpcd {args.vpcd_host}:{args.vpcd_port} "
          f"(CAN {identity.can})", flush=True)  # fmt: skip
    try:
        while not stop:
            time.sleep(0.1)
    finally:
        server.stop()
    return EXIT_OK


def _readers(args: argparse.Namespace) -> int:
    from drivers.emrtd.errors import TransportError
    from drivers.pcsc import list_readers

    try:
        readers = list_readers()
    except TransportError as exc:
        raise CliError(MSG["no_reader"].format(exc), EXIT_NO_CARD) from None
    rows = [{"name": r.name, "card_present": r.card_present,
             "atr": r.atr.hex().upper() if r.atr else None} for r in readers]  # fmt: skip
    if args.json:
        print_json(rows)
    else:
        for row in rows:
            print(f"{row['name']}\t{'card' if row['card_present'] else '-'}")
    if not rows:
        print(MSG["no_reader"].format("none connected"), file=sys.stderr)
        return EXIT_NO_CARD
    return EXIT_OK
