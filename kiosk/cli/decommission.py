"""`kiosk decommission`: wipe a kiosk that leaves service (docs/deployment.md)."""

from __future__ import annotations

import argparse
from pathlib import Path

from kiosk.cli.common import EXIT_BAD_INPUT, EXIT_OK, CliError, print_json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "decommission", help="retire this kiosk: wipe patient data, secrets and tokens; "
        "name what to revoke on the servers")
    p.add_argument("--root", type=Path, default=Path("/"), help="the kiosk's root (default /)")
    p.add_argument("--yes", action="store_true",
                   help="really wipe (without it: print what would go, and exit 2)")
    p.add_argument("--json", action="store_true", help="JSON output: {removed, revoke}")
    p.set_defaults(handler=_decommission)


def _decommission(args: argparse.Namespace) -> int:
    from kiosk.ops.decommission import decommission, plan

    root = args.root.resolve()
    found = plan(root)
    if not args.yes:
        lines = [f"would remove {p}" for p in found.paths] or ["nothing to remove"]
        raise CliError("\n".join([*lines, "Thêm --yes để xóa / add --yes to wipe; then "
                                  "revoke on the servers:", *found.revoke]), EXIT_BAD_INPUT)
    done = decommission(root, found)
    if args.json:
        print_json({"removed": [str(p) for p in found.paths], "steps": done,
                    "revoke": found.revoke})
        return EXIT_OK
    for line in done:
        print(line)
    print("Thu hồi trên máy chủ / revoke on the servers:" if found.revoke else
          "nothing to revoke on servers (no fleet, lobby or BHXH account configured)")
    for line in found.revoke:
        print(f"  {line}")
    return EXIT_OK
