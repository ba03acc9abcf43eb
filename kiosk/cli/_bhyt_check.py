"""`kiosk bhyt check` and `kiosk bhyt simulator` (registered from `kiosk.cli.bhyt`)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from kiosk.cli.common import (
    EXIT_BAD_INPUT,
    EXIT_MISCONFIGURED,
    EXIT_OK,
    EXIT_UNAVAILABLE,
    CliError,
    add_config_argument,
    load_config,
    print_json,
)

EXIT_BY_OUTCOME = {"unavailable": EXIT_UNAVAILABLE, "misconfigured": EXIT_MISCONFIGURED}


def add_check_parsers(bhyt_sub: argparse._SubParsersAction) -> None:
    check = bhyt_sub.add_parser(
        "check", help="ask the BHXH gateway whether a card is usable",
        description="Check a BHYT card with the BHXH gateway. Exit 0 when the gateway "
        "answered (whatever the card's state), 5 when it was unavailable, 6 when the "
        "kiosk's account or operator is wrong, 2 for bad input.")
    # The patient never goes on the command line (ps, shell history, the journal of
    # whoever ran it): a JSON object on stdin or in a file.
    check.add_argument("--patient", default="-", metavar="FILE",
                       help='JSON {"card": ..., "name": ..., "dob": ...} (default: stdin); '
                            "card: 15-character card code, 10-digit BHXH number or 12-digit "
                            "CCCD; name with diacritics; dob dd/MM/yyyy (or yyyy)")
    check.add_argument("--gateway", help="gateway base URL (overrides bhxh.url)")
    check.add_argument("--json", action="store_true", help="print JSON (the default)")
    add_config_argument(check)
    check.set_defaults(handler=_check)

    sim = bhyt_sub.add_parser(
        "simulator", help="run the BHXH gateway SIMULATOR on 127.0.0.1 (tests, training)")
    sim.add_argument("--port", type=int, default=8765, help="TCP port (0: any free port)")
    sim.add_argument("--dataset", help="card dataset JSON (default: the bundled demo cards)")
    sim.add_argument("--latency", type=float, default=0.0, help="seconds added to every check")
    sim.add_argument("--token-ttl", type=float, default=3600.0, help="token lifetime, seconds")
    sim.set_defaults(handler=_simulator)


def _read_patient(source: str) -> dict[str, str]:
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
        data = json.loads(text)
    except OSError as exc:
        raise CliError(f"cannot read the patient: {exc.strerror}") from None
    except (ValueError, RecursionError):  # not JSON, not UTF-8, 5000-digit numbers, deep
        raise CliError('the patient must be a JSON object {"card", "name", "dob"}') from None
    if not isinstance(data, dict):
        raise CliError('the patient must be a JSON object {"card", "name", "dob"}')
    missing = [k for k in ("card", "name", "dob") if not isinstance(data.get(k), str)]
    if missing:
        raise CliError(f"the patient needs {', '.join(missing)} (strings)")
    return {k: data[k] for k in ("card", "name", "dob")}


def _check(args: argparse.Namespace) -> int:
    from kiosk.domain.bhyt import parse_bhyt_number
    from kiosk.domain.dates import parse_dmy_or_year
    from kiosk.domain.errors import DomainError, InvalidBhytNumber
    from kiosk.domain.text import nfc

    patient = _read_patient(args.patient)
    try:
        card = parse_bhyt_number(patient["card"]).card_number
    except InvalidBhytNumber as exc:
        raise CliError(f"invalid BHYT card number: {exc}") from None
    name = nfc(" ".join(patient["name"].split()))
    if not name:
        raise CliError("patient name must not be empty")
    try:
        dob = parse_dmy_or_year(patient["dob"])
    except DomainError as exc:
        raise CliError(f"invalid date of birth: {exc}") from None
    gateway = args.gateway
    if gateway is not None and not gateway.startswith(("http://", "https://")):
        raise CliError("--gateway must be an http(s):// base URL")

    config = load_config(args)
    from kiosk.services.bhxh import BhxhClient, BhxhInsurance
    from kiosk.services.bhxh.simulator import BhxhGatewaySimulator

    simulator = None
    if gateway is None and config.bhxh.url == "simulator":
        simulator = BhxhGatewaySimulator()
        gateway = simulator.start()
    try:
        client = BhxhClient.from_config(config.bhxh, gateway)
        insurance = BhxhInsurance(client, facility_code=config.facility.code,
                                  budget_s=config.bhxh.budget_s)
        result = insurance.check_key(card, name, dob)
        client.close()
    finally:
        if simulator is not None:
            simulator.stop()
    print_json(result.to_json())
    code = EXIT_BY_OUTCOME.get(result.outcome, EXIT_OK)
    if code != EXIT_OK:
        print(f"BHXH check: {result.staff_detail}", file=sys.stderr)
    return code


def _simulator(args: argparse.Namespace) -> int:
    from pathlib import Path

    from kiosk.services.bhxh.simulator import FAULT_KINDS, BhxhGatewaySimulator, load_dataset

    if not 0 <= args.port <= 65535:
        raise CliError("--port must be 0–65535", EXIT_BAD_INPUT)
    try:
        dataset = load_dataset(Path(args.dataset)) if args.dataset else None
    except (OSError, ValueError) as exc:
        raise CliError(f"cannot load dataset: {exc}", EXIT_BAD_INPUT) from None
    sim = BhxhGatewaySimulator(dataset, port=args.port, latency_s=args.latency,
                               token_ttl_s=args.token_ttl)
    try:
        url = sim.start()
    except OSError as exc:
        raise CliError(f"cannot listen on 127.0.0.1:{args.port}: {exc}", EXIT_BAD_INPUT) from None
    accounts = ", ".join(a["username"] for a in sim.dataset.get("accounts", []))
    print(f"BHXH gateway SIMULATOR listening on {url} (accounts: {accounts})", flush=True)
    print(f"faults: POST {url}/_simulator/faults {{\"kind\": K, \"times\": N}} with K in "
          f"{', '.join(FAULT_KINDS)}; DELETE to clear; GET {url}/_simulator/status", flush=True)
    try:
        while True:
            sim._stopping.wait(3600)
    except KeyboardInterrupt:
        pass
    finally:
        sim.stop()
    return EXIT_OK
