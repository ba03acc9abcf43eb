"""`kiosk pin hash` / `kiosk pin unlock`: the staff PIN's technician tools.

`hash` reads the PIN from the terminal (not echoed) or stdin, never from the
command line, and prints the `scrypt$…` value for `ui.staff_pin` in the secrets
file. `unlock` clears a locked PIN pad (after 10 wrong PINs) on this kiosk.
"""

from __future__ import annotations

import argparse
import getpass
import sys

from kiosk.cli.common import EXIT_OK, CliError, add_config_argument, load_config


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("pin", help="staff PIN: make its hash, unlock the PIN pad")
    s = p.add_subparsers(dest="pin_command", metavar="ACTION", required=True)
    h = s.add_parser("hash", help="print the scrypt hash of a PIN read from stdin/terminal")
    h.set_defaults(handler=_hash)
    u = s.add_parser("unlock", help="clear the wrong-PIN wait or lockout on this kiosk")
    add_config_argument(u)
    u.set_defaults(handler=_unlock)


def _hash(args: argparse.Namespace) -> int:
    from kiosk.domain.staff_pin import PinError, hash_pin

    if sys.stdin.isatty():
        pin = getpass.getpass("Staff PIN (6–12 digits): ")
        if getpass.getpass("Again: ") != pin:
            raise CliError("the two PINs differ")
    else:
        pin = sys.stdin.readline().strip()
    try:
        print(hash_pin(pin))
    except PinError as exc:
        raise CliError(str(exc)) from None
    return EXIT_OK


def _unlock(args: argparse.Namespace) -> int:
    from kiosk.ops.pin_attempts import STATE_NAME, PinAttempts

    config = load_config(args)
    path = config.state_dir / STATE_NAME
    attempts = PinAttempts(path)
    before = attempts.streak
    if path.exists():
        attempts.reset()
    print(f"PIN pad unlocked ({before} wrong PINs in a row cleared; "
          f"{attempts.total_failures} wrong in total stay counted)")
    return EXIT_OK
