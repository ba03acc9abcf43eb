"""`kiosk doctor`: self-test of devices and servers, for technicians."""

from __future__ import annotations

import argparse

from kiosk.cli.common import EXIT_FAILURE, EXIT_OK, add_config_argument, load_config, print_json


def register(sub: argparse._SubParsersAction) -> None:
    doctor = sub.add_parser("doctor", help="check reader, camera, printer, BHXH, HIS, clock…")
    add_config_argument(doctor)
    doctor.add_argument("--json", action="store_true", help="machine-readable output")
    doctor.add_argument("--only", action="append", metavar="CHECK",
                        help="run only this check (repeatable)")
    doctor.set_defaults(handler=_doctor)


def _doctor(args: argparse.Namespace) -> int:
    from kiosk.ops.doctor import report_json, run_checks

    config = load_config(args)
    results = run_checks(config, set(args.only) if args.only else None)
    report = report_json(results)
    if args.json:
        print_json(report)
    else:
        marks = {"pass": "OK  ", "warn": "WARN", "fail": "FAIL"}
        for r in results:
            print(f"[{marks[r.status]}] {r.name}: {r.detail}")
            if r.status != "pass" and r.hint_vi:
                print(f"       {r.hint_vi}\n       {r.hint_en}")
    return EXIT_OK if report["ok"] else EXIT_FAILURE
