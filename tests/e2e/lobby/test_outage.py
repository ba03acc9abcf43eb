"""The lobby frozen, then back (issue 26): at most one void per kiosk however long the
freeze (one request in flight), the sync pass says so once, and every offline ticket
printed meanwhile reaches the lobby's list of the day."""

from __future__ import annotations

import logging
import time

import pytest

from kiosk.lobby.sync import lobby_pass
from kiosk.services.sync import Report, SyncDaemon
from tests.cli_helpers import run_json
from tests.e2e.lobby.conftest import kiosk_config
from tests.e2e.lobby.proxy import BlackholeProxy
from tests.e2e.lobby.test_numbers import Kiosk

pytestmark = pytest.mark.e2e
FREEZE_S = 2.0  # every 50 ms a patient per kiosk: 40 attempts each while frozen


def test_a_freeze_leaves_at_most_one_void_per_kiosk_and_offline_tickets_are_listed(
        lobby, pg, tmp_path, caplog):
    proxy = BlackholeProxy(pg.port)
    kiosks, configs = [], []
    for n in (1, 2, 3):
        url = f"postgresql://kiosk_k{n}@127.0.0.1:{proxy.port}/{lobby.db}"
        configs.append(kiosk_config(tmp_path / f"k{n}", f"k{n}", url))
        kiosks.append(Kiosk(configs[-1], retry_after_s=0.3))
    try:
        for kiosk in kiosks:
            assert kiosk.lobby is not None and kiosk.lobby.warm(wait_s=10)
        printed = [kiosk.register()[0] for kiosk in kiosks]
        proxy.hang()
        waits: list[float] = []
        frozen_until = time.monotonic() + FREEZE_S
        while time.monotonic() < frozen_until:
            for kiosk in kiosks:
                number, waited = kiosk.register()
                printed.append(number)
                waits.append(waited)
            time.sleep(0.05)
        proxy.resume()
        # no patient waits for the freeze: the budget at most (once per kiosk), then none
        assert max(waits) < FREEZE_S / 2 and sorted(waits)[-4] < 0.25, waits
        deadline = time.monotonic() + 20
        back = set()
        while len(back) < len(kiosks):
            assert time.monotonic() < deadline, "shared numbers never came back"
            for n, kiosk in enumerate(kiosks):
                number = kiosk.register()[0]
                printed.append(number)
                if number.count("-") == 1:
                    back.add(n)
            time.sleep(0.1)
        assert len(printed) == len(set(printed))  # one day, no number twice

        caplog.set_level(logging.INFO)
        for kiosk in kiosks:
            assert kiosk.lobby is not None
            report = lobby_pass(kiosk.db, kiosk.lobby, kiosk.config.kiosk_id, grace_s=0)
            assert report.state == "ok" and report.voided <= 1, report
            assert report.offline_published >= 10
        voids = lobby.sql("SELECT kiosk_id, count(*) FROM lobby.queue_numbers "
                          "WHERE state = 'void' GROUP BY 1")
        assert all(count <= 1 for _, count in voids), voids
        # the void log line tells what the registration got instead, truthfully
        for line in (r.getMessage() for r in caplog.records if "voided" in r.getMessage()):
            assert "was stored with offline number A-k" in line or "never stored" in line

        listing = run_json("--config", str(configs[0]), "lobby", "tickets", "--json")
        numbers = [t["number"] for t in listing["tickets"]]
        assert set(printed) <= set(numbers)  # every printed ticket, offline ones too
        assert len(numbers) == len(printed) + sum(count for _, count in voids), (
            listing, printed)
        times = [t["printed_at"] for t in listing["tickets"]]
        assert times == sorted(times) and times[0].endswith("+07:00")  # facility-local
        status = run_json("--config", str(configs[0]), "lobby", "status", "--json")
        (noi,) = status["departments"]
        assert noi["offline"] == sum(n.count("-") == 2 for n in printed)
        kinds = {t["number"]: t["kind"] for t in listing["tickets"]}
        assert kinds["A-k1-001"] == "offline" and kinds[printed[0]] == "shared"
    finally:
        for kiosk in kiosks:
            kiosk.close()
        proxy.close()


def test_the_sync_daemon_logs_each_lobby_state_change_once(lobby, pg, tmp_path, caplog,
                                                           monkeypatch):
    from kiosk.config import load_file
    from kiosk.lobby import sync as lobby_sync
    from kiosk.store import connect

    monkeypatch.setattr(lobby_sync, "PASS_BUDGET_S", 0.3)  # the daemon waits 5 s

    proxy = BlackholeProxy(pg.port)
    url = f"postgresql://kiosk_k1@127.0.0.1:{proxy.port}/{lobby.db}"
    config = load_file(kiosk_config(tmp_path / "k1", "k1", url))
    db = connect(config.database_path)
    sync = SyncDaemon(db, config, adapter=None)  # type: ignore[arg-type]  (lobby only)
    try:
        caplog.set_level(logging.INFO, logger="kiosk.services.sync")
        states = []
        for action in (None, proxy.hang, None, None, proxy.resume, None, None):
            if action is not None:
                action()
                continue
            sync._lobby_pass(Report())
            states.append(sync._lobby_state)
            if sync.lobby is not None:  # the daemon's breaker would wait 30 s: not here
                sync.lobby.breaker.record_success()
                time.sleep(0.1)  # the request the freeze held lands
        lines = [r.getMessage() for r in caplog.records if "lobby database" in r.getMessage()]
        assert states[0] == "ok" and "down" in states and states[-1] == "ok", states
        assert len([m for m in lines if "down" in m]) == 1
        assert len([m for m in lines if "back" in m]) == 1
        counted = dict(db.execute("SELECT metric, value FROM statistics "
                                  "WHERE metric LIKE 'lobby.%'").fetchall())
        assert counted == {"lobby.down": 1, "lobby.back": 1}
    finally:
        sync.close()
        db.conn.close()
        proxy.close()


def test_a_request_over_its_budget_is_cancelled_on_the_server(lobby, tmp_path):
    """A slow server rolls the late request back instead of finishing it behind the
    patient's back: the client sends a cancel when the budget passes."""
    import psycopg

    from kiosk.lobby.client import LobbyUnavailable

    kiosk = Kiosk(kiosk_config(tmp_path / "k1", "k1", lobby.url("kiosk_k1")))
    try:
        client = kiosk.lobby
        assert client is not None and client.warm(wait_s=10)
        began = time.monotonic()
        with pytest.raises(LobbyUnavailable, match="no answer within"):
            client.call(lambda conn: conn.execute("SELECT pg_sleep(4)"), budget_s=0.2)
        late = client._inflight
        assert late is not None
        assert isinstance(late.exception(timeout=3), psycopg.errors.QueryCanceled)
        assert time.monotonic() - began < 3  # cancelled, not slept out
        # the connection is usable again: the next patient gets a shared number
        assert client.take_number("NOI", "f" * 32) == (client.take_number("NOI", "f" * 32))
    finally:
        kiosk.close()
