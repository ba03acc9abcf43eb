"""`kiosk update --once`: one hawkBit DDI round (run by kiosk-update.timer);
`kiosk update --recover`: finish a round that was killed (the unit's ExecStopPost)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from kiosk.cli.common import (
    EXIT_FAILURE,
    EXIT_MISCONFIGURED,
    EXIT_OK,
    EXIT_UNAVAILABLE,
    EXIT_UPDATE_REJECTED,
    CliError,
    add_config_argument,
    load_config,
    print_json,
)


def register(sub: argparse._SubParsersAction) -> None:
    u = sub.add_parser("update", help="poll the fleet server and apply an offered update",
                       allow_abbrev=False)  # so a leftover `--token X` is refused
    add_config_argument(u)
    mode = u.add_mutually_exclusive_group()
    mode.add_argument("--once", action="store_true", help="one poll (the timer's mode)")
    mode.add_argument("--recover", action="store_true",
                      help="roll back a round that died between switch and verdict, and "
                           "make sure the kiosk services run (the unit's ExecStopPost)")
    u.add_argument("--json", action="store_true", help="JSON output: {outcome, detail}")
    u.add_argument("--server", help="hawkBit base URL (overrides fleet.hawkbit_url)")
    u.add_argument("--tenant")
    u.add_argument("--controller-id")
    # No --token: a token on the command line shows in `ps` and shell history; it
    # comes from fleet.token in the secrets file (or --token-file).
    u.add_argument("--token-file", type=Path,
                   help="read the target token from this file (overrides fleet.token)")
    u.add_argument("--gateway-token", action="store_true", help="the token is a gateway token")
    u.add_argument("--root", type=Path, default=Path("/"),
                   help="installation root (tests: a directory; no services restarted)")
    u.add_argument("--progress", action="store_true",
                   help="print each stage as it starts (tests, watching by hand)")
    u.set_defaults(handler=_update)


def _update(args: argparse.Namespace) -> int:
    from kiosk.ops.activity import ui_serving_patient
    from kiosk.ops.hawkbit import DdiClient, DdiError
    from kiosk.ops.telemetry import device_attributes
    from kiosk.ops.updater import (
        UpdateSettings,
        doctor_health_check,
        recover,
        systemctl,
        update_once,
    )

    config = load_config(args)
    root = args.root.resolve()
    live = root == Path("/")
    config_path = getattr(args, "config", None) or os.environ.get("KIOSK_CONFIG")
    # systemd's StateDirectory=kiosk-update names it; tests use <root>/var/lib/kiosk-update.
    own = os.environ.get("STATE_DIRECTORY") if live else None

    def progress(stage: str) -> None:
        if args.progress:
            print(f"stage: {stage}", flush=True)

    settings = UpdateSettings(
        root=root, state_dir=config.state_dir, public_keys=config.fleet.public_keys,
        updater_dir=Path(own.split(":")[0]) if own else None,
        database=config.database_path,
        restart=systemctl("restart") if live else (lambda: None),
        stop=systemctl("stop") if live else (lambda: None),
        health_check=doctor_health_check(config_path, state_dir=config.state_dir),
        opening_hours=config.ui.opening_hours, timezone=config.facility.timezone,
        serving_patient=ui_serving_patient if live else (lambda: False),
        progress=progress,
    )
    if args.recover:
        print(f"update: recover: {recover(settings) or 'nothing pending'}")
        if live:
            systemctl("start")()  # a round killed after stopping them must not leave them off
        return EXIT_OK

    server = args.server or config.fleet.hawkbit_url
    token = config.fleet.token
    if args.token_file is not None:
        try:
            token = args.token_file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise CliError(f"--token-file: {exc.strerror}", EXIT_MISCONFIGURED) from None
    controller = args.controller_id or config.fleet.controller_id
    if not server or not token or not controller:
        raise CliError("fleet.hawkbit_url, fleet.token and fleet.controller_id are required "
                       "(or --server/--token-file/--controller-id)", EXIT_MISCONFIGURED)
    settings.device_attributes = device_attributes(config, root)
    try:
        client = DdiClient(server, args.tenant or config.fleet.tenant, controller, token,
                           gateway_token=args.gateway_token,
                           answer_deadline_s=config.fleet.answer_deadline_s)
    except DdiError as exc:
        raise CliError(str(exc), EXIT_MISCONFIGURED) from None
    try:
        result = update_once(client, settings)
    finally:
        client.close()
    if result.outcome == "error":
        # Stderr, and under --json the one error object of decision 0085.
        raise CliError(f"update: error: {result.detail}",
                       EXIT_UNAVAILABLE if result.unreachable else EXIT_FAILURE)
    if args.json:
        print_json({"outcome": result.outcome, "detail": result.detail})
    else:
        print(f"update: {result.outcome}: {result.detail}")
    if result.outcome in ("rejected", "rolled_back"):
        return EXIT_UPDATE_REJECTED
    return EXIT_OK
