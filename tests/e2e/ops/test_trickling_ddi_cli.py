"""`kiosk update --once`, as kiosk-update.service runs it, against a DDI server on
loopback that answers one byte a second — its status line and headers, its poll
answer, or a wheel (issue 23, decisions 0103, 0106): the round ends
within its documented bound — each answer within `fleet.answer_deadline_s`, tried 3
times, 1 s then 2 s apart — exits 5 ("the fleet server did not answer") with one line
on stderr, installs nothing, and sends no failure verdict (the action stays open)."""

import time

import pytest

from kiosk.ops.install import current_version, is_installed
from kiosk.ops.release import WHEEL_PREFIX
from tests.cli_helpers import run_kiosk
from tests.e2e.ops.conftest import fleet_config

DEADLINE_S = 1.0  # fleet.answer_deadline_s (default 60: a real kiosk's JSON answers)
BOUND_S = 3 * DEADLINE_S + 1 + 2  # three tries and the backoff between them
SLACK_S = 8.0  # starting the command on a busy 2-core machine


def kiosk_wheel(bundle) -> str:
    """The kiosk's own wheel of a release: what 1.1.0 changes over 1.0.0."""
    return next((bundle / "wheelhouse").glob(f"{WHEEL_PREFIX}-*.whl")).name


@pytest.mark.parametrize("trickled", ["head", "base", "wheel"])
def test_update_once_gives_up_on_a_one_byte_per_second_server(
        request, server, bundles, keys, tmp_path, trickled):
    # The wheel case needs 1.0.0 installed (1.1.0's wheel is fetched as its changed
    # pieces); a poll that never arrives needs no installed release.
    root = request.getfixturevalue("root") if trickled == "wheel" else tmp_path / "bare"
    before = current_version(root)
    server.state.offer("91", bundles["1.1.0"])
    name = kiosk_wheel(bundles["1.1.0"]) if trickled == "wheel" else "base"
    server.state.trickle.add(name)
    config = fleet_config(tmp_path / "kiosk.toml", server.url, keys, root, server.state.token)
    config.write_text(config.read_text().replace(
        "[fleet]\n", f"[fleet]\nanswer_deadline_s = {DEADLINE_S}\n"))
    started = time.monotonic()
    proc = run_kiosk("--config", str(config), "update", "--once", "--root", str(root),
                     timeout=60)
    elapsed = time.monotonic() - started
    assert proc.returncode == 5, proc.stdout + proc.stderr
    [line] = proc.stderr.strip().splitlines()
    assert "deadline" in line and ("download failed" if trickled == "wheel" else
                                   "poll failed") in line, line
    assert elapsed < BOUND_S + SLACK_S, elapsed  # the poll answer alone would take 60 s
    if trickled != "wheel":
        assert server.state.polls == 3
    else:  # the signed manifest came; the wheel's changed pieces never did
        assert [n for n, _ in server.state.downloads].count(name) == 3
        assert server.state.served[name] < 3 * (DEADLINE_S + 1)
        assert all(f["status"]["execution"] == "proceeding" for f in server.state.feedback)
        assert server.state.action_id == "91"  # still offered: tried again next round
    assert current_version(root) == before and not is_installed(root, "1.1.0")
    assert not (root / "opt/kiosk/releases/1.1.0").exists()
    leftovers = root / "var/lib/kiosk-update/downloads"
    assert not leftovers.exists() or not list(leftovers.glob("*.part"))
