"""`kiosk appointment find|checkin`: follow-up appointments (giấy hẹn khám lại) through
the same path the touchscreen uses (`AppointmentDesk`: the lookup budget, the durable
check-in and its outbox row, the ticket).

The patient is JSON on stdin (or `--patient FILE`): `kiosk card read` output, plus
an optional `"insurance"` (`kiosk bhyt check` output), as for `kiosk register`.
Exit codes: 0 done; 1 no such appointment today; 2 bad input; 5 the HIS did not
answer within the lookup budget; 6 bad configuration.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import sys
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path
from typing import Any

from kiosk.cli.common import (
    EXIT_FAILURE,
    EXIT_MISCONFIGURED,
    EXIT_OK,
    EXIT_UNAVAILABLE,
    CliError,
    add_config_argument,
    load_config,
    print_json,
)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("appointment", help="today's follow-up appointments: find, check in")
    actions = p.add_subparsers(dest="appointment_command", metavar="ACTION", required=True)
    find = actions.add_parser("find", help="list the patient's appointments for today")
    check = actions.add_parser("checkin", help="check the patient in for appointment ID")
    check.add_argument("id", metavar="ID", help="the appointment's id (from `find`)")
    for action in (find, check):
        action.add_argument("--patient", default="-", metavar="FILE",
                            help="patient JSON (default: stdin), as for `kiosk register`")
        action.add_argument("--json", action="store_true", help="JSON output")
        add_config_argument(action)
    find.set_defaults(handler=_find)
    check.set_defaults(handler=_checkin)


def _patient(source: str) -> tuple[Any, Any]:
    from kiosk.services.patient_file import (
        PatientFileError,
        identity_from_json,
        insurance_from_json,
    )

    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
        data = json.loads(text)
    except OSError as exc:
        raise CliError(f"Không đọc được bệnh nhân / Cannot read the patient: {exc.strerror}"
                       ) from None
    except (ValueError, RecursionError):
        raise CliError("Bệnh nhân phải là JSON / The patient must be a JSON object") from None
    try:
        identity = identity_from_json(data)
        insurance = insurance_from_json(data.get("insurance"), identity,
                                        dt.datetime.now(dt.UTC))
    except PatientFileError as exc:
        raise CliError(f"Dữ liệu bệnh nhân không hợp lệ / Invalid patient data: {exc}"
                       ) from None
    return identity, insurance


def _desk(config: Any) -> Any:
    from kiosk.services.appointments import AppointmentDesk, lookup_config
    from kiosk.services.his import build_adapter
    from kiosk.services.registration import RegistrationService
    from kiosk.store import connect

    db = connect(config.database_path)
    desk = AppointmentDesk(config, RegistrationService(db, config),
                           lambda: build_adapter(lookup_config(config)))
    # A fresh process logs in first, as the kiosk does at start-up, so the lookup's
    # budget measures the lookup (a failed login shows in the lookup itself).
    with contextlib.suppress(FutureTimeout):
        desk.warm().result(timeout=float(config.his.settings.get("timeout_s", 10.0)))
    return desk


def _found(desk: Any, identity: Any) -> Any:
    from kiosk.journey.ports import AppointmentsUnavailable

    try:
        return desk.find(identity)
    except ValueError as exc:  # the adapter refused its settings: [his] is wrong
        raise CliError(f"his: {exc}", EXIT_MISCONFIGURED) from None
    except AppointmentsUnavailable as exc:
        raise CliError(f"HIS không trả lời kịp / The HIS did not answer in time ({exc})",
                       EXIT_UNAVAILABLE) from None


def _find(args: argparse.Namespace) -> int:
    identity, _ = _patient(args.patient)
    config = load_config(args)
    desk = _desk(config)
    try:
        found = _found(desk, identity)
    finally:
        _close(desk)
    if args.json:
        print_json({"appointments": [a.to_json() for a in found]})
    for a in [] if args.json else found:
        doctor = f" · {a.doctor}" if a.doctor else ""
        print(f"{a.ref}  {a.local_time(config.facility.timezone)}  {a.service_name} · "
              f"{a.room}{doctor}")
    if not found:
        print("Không có lịch hẹn hôm nay / No appointment today", file=sys.stderr)
        return EXIT_FAILURE
    return EXIT_OK


def _checkin(args: argparse.Namespace) -> int:
    from kiosk.services.printing import build_printer
    from kiosk.services.registration import RegistrationError

    identity, insurance = _patient(args.patient)
    config = load_config(args)
    desk = _desk(config)
    try:
        # Confirmed against the patient's own appointments: an id alone checks in nobody.
        chosen = next((a for a in _found(desk, identity) if a.ref == args.id), None)
        if chosen is None:
            print(f"Không có lịch hẹn {args.id!r} hôm nay cho bệnh nhân này / "
                  "No such appointment today for this patient", file=sys.stderr)
            return EXIT_FAILURE
        try:
            printer = build_printer(config, desk.registrations.db)
        except ValueError as exc:
            raise CliError(f"printer: {exc}", EXIT_MISCONFIGURED) from None
        try:
            reg = desk.check_in(identity, insurance, chosen)
        except RegistrationError as exc:
            raise CliError(f"Không vào khám được / Cannot check in: {exc}") from None
        printed = printer.print_ticket(reg)
    finally:
        _close(desk)
    result = {**reg.to_json(), "ticket": printed.path, "printed": printed.printed}
    if args.json:
        print_json(result)
    else:
        print(f"{reg.queue_number} · {reg.service_name} · {reg.room} · "
              f"{chosen.local_time(config.facility.timezone)}")
    return EXIT_OK


def _close(desk: Any) -> None:
    desk.stop()
    desk.registrations.db.conn.close()
