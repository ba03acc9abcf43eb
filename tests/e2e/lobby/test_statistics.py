"""Shared anonymous statistics: published idempotently, caught up after an outage,
reported over every kiosk of the facility by `kiosk report health-book`."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from kiosk.config import load_file
from kiosk.lobby.client import LobbyClient
from kiosk.lobby.sync import lobby_pass
from kiosk.services.statistics import SqliteStatistics
from kiosk.store import connect
from tests.cli_helpers import run_json, run_kiosk
from tests.e2e.lobby.conftest import kiosk_config
from tests.e2e.lobby.pg import free_port

pytestmark = pytest.mark.e2e
NOW = dt.datetime(2026, 11, 30, 3, 0, tzinfo=dt.UTC)  # 10:00 in Hà Nội


def count(db, kiosk_id: str, metrics: dict[str, int], when: dt.datetime = NOW) -> None:
    stats = SqliteStatistics(db, kiosk_id, "Asia/Ho_Chi_Minh", now=lambda: when)
    for metric, n in metrics.items():
        for _ in range(n):
            stats.count(metric)


def lobby_totals(lobby) -> dict[tuple[str, str, str], int]:
    return {(k, str(d), m): int(v) for k, d, m, v in lobby.sql(  # type: ignore[call-overload]
        "SELECT kiosk_id, day, metric, value FROM lobby.statistics")}


def test_publish_twice_and_after_an_outage_counts_once(lobby, tmp_path):
    config = load_file(kiosk_config(tmp_path / "k1", "k1", lobby.url("kiosk_k1")))
    db = connect(config.database_path)
    client = LobbyClient.from_config(config)
    assert client is not None
    try:
        count(db, "k1", {"health_book.offered": 3, "health_book.completed": 1})
        first = lobby_pass(db, client, "k1")
        assert first.errors == [] and first.published == 2
        again = lobby_pass(db, client, "k1")
        assert again.published == 0  # nothing changed, nothing sent
        client.publish("2026-11-30", {"health_book.offered": 3})  # a replayed publication
        assert lobby_totals(lobby)[("k1", "2026-11-30", "health_book.offered")] == 3

        # the lobby goes away; the kiosk keeps counting, then catches up by itself
        away = LobbyClient(config.lobby.__class__(  # type: ignore[union-attr]
            url=f"postgresql://kiosk_k1@127.0.0.1:{free_port()}/x"), "01824", "k1")
        count(db, "k1", {"health_book.offered": 2})
        count(db, "k1", {"health_book.offered": 4}, NOW + dt.timedelta(days=1))
        assert lobby_pass(db, away, "k1").errors
        caught_up = lobby_pass(db, client, "k1")
        assert caught_up.errors == [] and caught_up.published == 2
        totals = lobby_totals(lobby)
        assert totals[("k1", "2026-11-30", "health_book.offered")] == 5
        assert totals[("k1", "2026-12-01", "health_book.offered")] == 4
        assert totals[("k1", "2026-11-30", "health_book.completed")] == 1
    finally:
        client.close()
        db.conn.close()


def test_report_health_book_covers_every_kiosk_of_the_facility(lobby, tmp_path):
    paths = {k: kiosk_config(tmp_path / k, k, lobby.url(f"kiosk_{k}")) for k in ("k1", "k2")}
    other = kiosk_config(tmp_path / "o", "k3", lobby.url("kiosk_k3"), facility="79001")
    for kiosk_id, path, offered in (("k1", paths["k1"], 2), ("k2", paths["k2"], 5),
                                    ("k3", other, 7)):
        config = load_file(path)
        db = connect(config.database_path)
        count(db, kiosk_id, {"health_book.offered": offered, "health_book.branch.activate": 1})
        db.conn.close()
    # k2 and k3 publish through their sync daemons; k1's report publishes its own first
    for path in (paths["k2"], other):
        proc = run_kiosk("--config", str(path), "sync", "--once")
        assert proc.returncode == 0, proc.stderr
    report = run_json("--config", str(paths["k1"]), "report", "health-book", "--json",
                      "--from", "2026-11-30", "--to", "2026-11-30")
    assert set(report) == {"from", "to", "kiosks", "totals"}
    assert [k["kiosk_id"] for k in report["kiosks"]] == ["k1", "k2"]  # not facility 79001
    assert [k["days"][0]["offered"] for k in report["kiosks"]] == [2, 5]
    assert report["totals"]["offered"] == 7 and report["totals"]["branches"]["activate"] == 2
    csv = run_kiosk("--config", str(paths["k2"]), "report", "health-book", "--from",
                    "2026-11-30", "--to", "2026-11-30", "--format", "csv", "--kiosk", "k2")
    assert csv.returncode == 0 and csv.stdout.splitlines()[1].startswith("2026-11-30,k2,5,")
    # one kiosk's own file, as before
    own = run_json("report", "health-book", "--json", "--from", "2026-11-30", "--to", "2026-11-30",
                   "--database", str(tmp_path / "k2" / "state" / "kiosk.sqlite3"))
    assert [k["kiosk_id"] for k in own["kiosks"]] == ["k2"]
    # the lobby away: a clear error naming the way to a local report, not a partial one
    away = kiosk_config(tmp_path / "x", "k1",
                        f"postgresql://kiosk_k1@127.0.0.1:{free_port()}/x")
    proc = run_kiosk("--config", str(away), "report", "health-book", "--from", "2026-11-30",
                     "--to", "2026-11-30")
    assert proc.returncode == 5 and "--database" in proc.stderr
    assert json.dumps(report, ensure_ascii=False).count("001168") == 0


def test_the_lobby_report_equals_the_sum_of_the_kiosks_own_stores(lobby, tmp_path):
    """`kiosk report lobby --json` against each kiosk's own SQLite counts (issue 26)."""
    from kiosk.lobby.report import from_store
    from tests.e2e.lobby.test_numbers import Kiosk

    kiosks = [Kiosk(kiosk_config(tmp_path / f"k{n}", f"k{n}", lobby.url(f"kiosk_k{n}")))
              for n in (1, 2)]
    try:
        for code in ("KB-NOI", "KB-NOI", "KB-NGOAI"):
            kiosks[0].register(code)
        kiosks[1].register("KB-NOI")
        assert kiosks[1].lobby is not None
        kiosks[1].lobby.breaker.record_failure()  # the lobby "away" for k2's next patient
        kiosks[1].lobby.breaker.record_failure()
        kiosks[1].lobby.breaker.record_failure()
        assert kiosks[1].register("KB-NGOAI")[0] == "B-k2-001"
        count(kiosks[0].db, "k1", {"health_book.offered": 2, "health_book.completed": 1},
              dt.datetime.now(dt.UTC))
        for kiosk in kiosks:
            assert kiosk.lobby is not None
            kiosk.lobby.breaker.record_success()
            assert lobby_pass(kiosk.db, kiosk.lobby, kiosk.config.kiosk_id).errors == []
        report = run_json("--config", str(tmp_path / "k1" / "kiosk.toml"), "report", "lobby",
                          "--json")
        today = dt.date.fromisoformat(report["from"])
        own = [from_store(kiosk.db, today, today) for kiosk in kiosks]
        assert report["kiosks"] == [part["kiosks"][0] for part in own]
        assert report["totals"]["registrations_total"] == 5
        assert report["totals"]["registrations"] == {"noi": 3, "ngoai": 2}
        assert report["totals"]["offline"] == 1 and report["totals"]["offline_share"] == 0.2
        assert report["totals"]["health_book"] == {"offered": 2, "completed": 1}
        assert report["totals"]["voids"] == 0
        page = run_kiosk("--config", str(tmp_path / "k1" / "kiosk.toml"), "report", "lobby",
                         "--html")
        assert page.returncode == 0 and "<td>k2</td><td>2</td>" in page.stdout
    finally:
        for kiosk in kiosks:
            kiosk.close()
