"""`kiosk provision`: install a release, write configuration and secrets, enable units."""

from __future__ import annotations

import argparse
from pathlib import Path

from kiosk.cli.common import (
    EXIT_BAD_INPUT,
    EXIT_MISCONFIGURED,
    EXIT_OK,
    EXIT_UNAVAILABLE,
    CliError,
    print_json,
)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("provision", help="set up this machine (or --root DIR) as a kiosk")
    p.add_argument("--root", type=Path, default=Path("/"), help="install into DIR instead of /")
    p.add_argument("--config-file", required=True, type=Path,
                   help="provisioning file: a kiosk.toml that may include the secrets "
                        "(fleet.token, bhxh.password, ...: never on the command line)")
    p.add_argument("--bundle", type=Path,
                   help="signed release bundle directory (default: the release the Debian "
                        "package installed)")
    p.add_argument("--kiosk-id", help="overrides kiosk.id (the kiosk's name in the fleet)")
    p.add_argument("--facility-code", help="overrides facility.code (BHXH MA_CSKCB, 5 chars)")
    p.add_argument("--hawkbit-url", help="overrides fleet.hawkbit_url (the update server)")
    p.add_argument("--controller-id", help="overrides fleet.controller_id (default: kiosk id)")
    p.add_argument("--json", action="store_true", help="JSON output: {root, steps}")
    p.set_defaults(handler=_provision)


def _provision(args: argparse.Namespace) -> int:
    from kiosk.ops.install import InstallError
    from kiosk.ops.provision import ProvisionError, provision
    from kiosk.ops.release import BundleError

    overrides = {
        "kiosk": {"id": args.kiosk_id},
        "facility": {"code": args.facility_code},
        "fleet": {"hawkbit_url": args.hawkbit_url, "controller_id": args.controller_id},
    }
    if not args.config_file.is_file():  # the exit-code table: a missing input file is 2
        raise CliError(f"--config-file: không có tệp / no such file: {args.config_file}",
                       EXIT_BAD_INPUT)
    # A ConfigError goes to the entry point: one line per problem in both languages,
    # exit 6, exactly as `kiosk config check --production` prints them.
    try:
        summary = provision(args.root.resolve(), args.config_file, args.bundle, overrides)
    except ProvisionError as exc:
        raise CliError(f"Cấp phát thất bại / provisioning failed: {exc}",
                       EXIT_UNAVAILABLE if exc.unavailable else EXIT_MISCONFIGURED) from None
    except (BundleError, InstallError) as exc:
        raise CliError(f"Cấp phát thất bại / provisioning failed: {exc}",
                       EXIT_MISCONFIGURED) from None
    if args.json:
        print_json({"root": str(args.root.resolve()), "steps": list(summary.lines)})
        return EXIT_OK
    for line in summary.lines:
        print(line)
    return EXIT_OK
