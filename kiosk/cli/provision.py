"""`kiosk provision`: install a release, write configuration and secrets, enable units."""

from __future__ import annotations

import argparse
from pathlib import Path

from kiosk.cli.common import EXIT_MISCONFIGURED, EXIT_OK, CliError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("provision", help="set up this machine (or --root DIR) as a kiosk")
    p.add_argument("--root", type=Path, default=Path("/"), help="install into DIR instead of /")
    p.add_argument("--config-file", required=True, type=Path,
                   help="provisioning file: a kiosk.toml that may include the secrets "
                        "(fleet.token, bhxh.password, ...: never on the command line)")
    p.add_argument("--bundle", type=Path,
                   help="signed release bundle directory (default: the release the Debian "
                        "package installed)")
    p.add_argument("--kiosk-id")
    p.add_argument("--facility-code")
    p.add_argument("--hawkbit-url")
    p.add_argument("--controller-id")
    p.set_defaults(handler=_provision)


def _provision(args: argparse.Namespace) -> int:
    from kiosk.config import ConfigError
    from kiosk.ops.install import InstallError
    from kiosk.ops.provision import ProvisionError, provision
    from kiosk.ops.release import BundleError

    overrides = {
        "kiosk": {"id": args.kiosk_id},
        "facility": {"code": args.facility_code},
        "fleet": {"hawkbit_url": args.hawkbit_url, "controller_id": args.controller_id},
    }
    try:
        summary = provision(args.root.resolve(), args.config_file, args.bundle, overrides)
    except ConfigError as exc:
        raise CliError("\n".join(exc.problems), EXIT_MISCONFIGURED) from None
    except (ProvisionError, BundleError, InstallError, OSError) as exc:
        raise CliError(f"provisioning failed: {exc}", EXIT_MISCONFIGURED) from None
    for line in summary.lines:
        print(line)
    return EXIT_OK
