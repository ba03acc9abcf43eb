"""`kiosk register --patient FILE --service CODE [--json]`: register like the journey does.

FILE: `kiosk card read` JSON (the identity) plus an optional `"insurance"` key
holding `kiosk bhyt check` output (absent: "not checked", re-checked by the sync
daemon). Allocates the queue number, stores the registration and its outbox row,
prints the ticket, and reports `{"registration_id", "queue_number", "service",
"ticket", "printed", "sync_state"}`. Exit 2 on invalid input, with nothing stored.
"""

from __future__ import annotations

import argparse

from kiosk.cli.common import (
    EXIT_BAD_INPUT,
    EXIT_MISCONFIGURED,
    EXIT_OK,
    CliError,
    add_config_argument,
    load_config,
    print_json,
)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("register", help="register a patient for a service (queue number, "
                       "record, outbox, ticket)")
    p.add_argument("--patient", required=True, metavar="FILE", help="patient JSON")
    p.add_argument("--service", required=True, metavar="CODE", help="service code")
    p.add_argument("--idempotency-key", metavar="KEY",
                   help="repeat a call safely: the same key returns the same registration")
    p.add_argument("--json", action="store_true", help="JSON output")
    add_config_argument(p)
    p.set_defaults(handler=_register)


def _register(args: argparse.Namespace) -> int:
    import datetime as dt
    import json
    import uuid
    from pathlib import Path

    from kiosk.lobby.client import LobbyClient
    from kiosk.services.patient_file import (
        PatientFileError,
        identity_from_json,
        insurance_from_json,
    )
    from kiosk.services.printing import build_printer
    from kiosk.services.registration import RegistrationError, RegistrationService
    from kiosk.store import connect

    config = load_config(args)
    try:
        data = json.loads(Path(args.patient).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise CliError(f"Tệp bệnh nhân không đọc được / Cannot read the patient file: {exc}",
                       EXIT_BAD_INPUT) from None
    now = dt.datetime.now(dt.UTC)
    try:
        identity = identity_from_json(data)
        insurance = insurance_from_json(data.get("insurance"), identity, now)
    except PatientFileError as exc:
        raise CliError(f"Dữ liệu bệnh nhân không hợp lệ / Invalid patient data: {exc}",
                       EXIT_BAD_INPUT) from None
    if config.service(args.service) is None:
        known = ", ".join(s.code for s in config.services)
        raise CliError(f"Không có dịch vụ {args.service!r} / Unknown service (known: {known})",
                       EXIT_BAD_INPUT)
    db = connect(config.database_path)
    try:
        try:  # before registering: a misconfigured printer must not leave a half-done job
            printer = build_printer(config, db)
        except ValueError as exc:
            raise CliError(f"printer: {exc}", EXIT_MISCONFIGURED) from None
        lobby = LobbyClient.from_config(config)  # None without [lobby]
        if lobby is not None:  # a new process: connecting is not the patient's wait
            lobby.warm(wait_s=2.0)
        service = RegistrationService(db, config, lobby=lobby)
        try:
            reg = service.register(identity, insurance, args.service,
                                   args.idempotency_key or f"cli:{uuid.uuid4().hex}")
        except RegistrationError as exc:
            raise CliError(f"Không đăng ký được / Cannot register: {exc}",
                           EXIT_BAD_INPUT) from None
        if lobby is not None:
            lobby.close()
        printed = printer.print_ticket(reg)
        state = db.execute("SELECT sync_state FROM registrations WHERE id = ?",
                           [reg.id]).fetchone()[0]
    finally:
        db.conn.close()
    result = {"registration_id": reg.id, "queue_number": reg.queue_number,
              "service": reg.service_code, "ticket": printed.path, "printed": printed.printed,
              "sync_state": state}
    if args.json:
        print_json(result)
    else:
        print(f"{reg.queue_number} · {reg.service_name} · {reg.room}")
        print(f"registration {reg.id} ({state}); ticket: "
              f"{printed.path or ('printed' if printed.printed else printed.problem)}")
    return EXIT_OK
