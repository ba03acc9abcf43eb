"""`kiosk doctor`: self-test of devices and servers, for technicians (and phone support).

`--json` always prints the report, even when the configuration does not load
(that becomes a failed `config` check, exit 6); an unknown `--only` name is a
usage error (exit 2), never an empty "ok" report. On a machine that is not
provisioned it says so (exit 6) rather than check the demo (`--demo` does that).
"""

from __future__ import annotations

import argparse

from kiosk.cli.common import (
    EXIT_BAD_INPUT,
    EXIT_FAILURE,
    EXIT_MISCONFIGURED,
    EXIT_OK,
    CliError,
    add_config_argument,
    print_json,
)


def register(sub: argparse._SubParsersAction) -> None:
    from kiosk.ops.doctor import check_names

    doctor = sub.add_parser("doctor", help="check reader, camera, printer, BHXH, HIS, clock…")
    add_config_argument(doctor)
    doctor.add_argument("--json", action="store_true", help="machine-readable output")
    doctor.add_argument("--only", action="append", metavar="CHECK",
                        help="run only this check (repeatable): " + ", ".join(check_names()))
    doctor.add_argument("--demo", action="store_true",
                        help="check the built-in demo configuration (on a machine that is "
                        "not provisioned, doctor otherwise exits 6)")
    doctor.set_defaults(handler=_doctor)


def _doctor(args: argparse.Namespace) -> int:
    from kiosk.config import DEFAULT_PATH, ConfigError, Problem, demo_config
    from kiosk.config.loader import chosen_path, load
    from kiosk.config.table import suggestion
    from kiosk.ops.doctor import (
        check_names,
        config_failure,
        report_json,
        run_checks,
        unknown_checks,
    )

    only = args.only or []
    unknown = unknown_checks(only)
    if unknown:
        close = suggestion(unknown[0], set(check_names()))
        hint = f"; did you mean {close!r}?" if close else ""
        raise CliError(f"Không có mục kiểm tra / unknown check {unknown[0]!r}{hint} "
                       f"(known: {', '.join(check_names())})", EXIT_BAD_INPUT)
    config_arg = getattr(args, "config", None)
    chosen = chosen_path(config_arg)
    try:
        if chosen is None and not args.demo:
            # Checking the demo here would report a healthy kiosk that does not exist.
            raise ConfigError([Problem(
                "config", f"this machine is not provisioned: no {DEFAULT_PATH} (and no --config "
                "or $KIOSK_CONFIG); provision it (docs/deployment.md, section 3) or check the "
                "built-in demo with `kiosk doctor --demo`",
                f"máy này chưa được cấp phát: không có {DEFAULT_PATH}; hãy chạy 'kiosk "
                "provision' (docs/deployment.md, mục 3) hoặc 'kiosk doctor --demo'")])
        config = demo_config() if chosen is None else load(chosen)
    except ConfigError as exc:
        if not args.json:
            raise  # the entry point prints each problem and exits 6
        print_json(report_json([config_failure(exc.problems)], None,
                               str(chosen) if chosen else None))
        return EXIT_MISCONFIGURED
    results = run_checks(config, set(only) if only else None)
    report = report_json(results, config)
    if args.json:
        print_json(report)
    else:
        demo = " — CẤU HÌNH MẪU / DEMO configuration (simulators)" if config.demo else ""
        print(f"kiosk {config.kiosk_id} · version {report['version']} · "
              f"config {config.source}{demo}")
        marks = {"pass": "OK  ", "warn": "WARN", "fail": "FAIL"}
        for r in results:
            print(f"[{marks[r.status]}] {r.name}: {r.detail}")
            if r.status != "pass" and r.hint_vi:
                print(f"       {r.hint_vi}\n       {r.hint_en}")
    return EXIT_OK if report["ok"] else EXIT_FAILURE
