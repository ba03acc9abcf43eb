"""Queue numbers from the lobby in one process: a hanging server (packets dropped),
the facility-local midnight, two facilities in one lobby database."""

from __future__ import annotations

import datetime as dt
import time

import pytest

from kiosk.config import load_file
from kiosk.lobby.client import LobbyClient
from kiosk.services.patient_file import identity_from_json, insurance_from_json
from kiosk.services.registration import RegistrationService
from kiosk.store import connect
from tests.e2e.lobby.conftest import kiosk_config
from tests.e2e.lobby.proxy import BlackholeProxy
from tests.e2e.lobby.workers import CARD

pytestmark = pytest.mark.e2e
IDENTITY = identity_from_json(CARD)


class Kiosk:
    def __init__(self, path, now=None, retry_after_s: float = 10.0) -> None:
        self.config = load_file(path)
        self.db = connect(self.config.database_path)
        self.lobby = LobbyClient.from_config(self.config, retry_after_s=retry_after_s)
        if self.lobby is not None:  # connected before the first patient, as `kiosk run`
            self.lobby.warm(wait_s=10)  # does (TLS and SCRAM are not the patient's wait)
        kwargs = {"now": now} if now else {}
        self.service = RegistrationService(self.db, self.config, lobby=self.lobby, **kwargs)
        self.count = 0

    def register(self, code: str = "KB-NOI") -> tuple[str, float]:
        self.count += 1
        insurance = insurance_from_json(None, IDENTITY, dt.datetime.now(dt.UTC))
        began = time.perf_counter()
        reg = self.service.register(IDENTITY, insurance, code, f"key-{self.count}")
        return reg.queue_number, time.perf_counter() - began

    def close(self) -> None:
        if self.lobby is not None:
            self.lobby.close()
        self.db.conn.close()


def test_hanging_server_costs_the_budget_once_then_shared_numbers_return(lobby, pg,
                                                                         tmp_path):
    proxy = BlackholeProxy(pg.port)
    url = f"postgresql://kiosk_k1@127.0.0.1:{proxy.port}/{lobby.db}"
    kiosk = Kiosk(kiosk_config(tmp_path / "k1", "k1", url), retry_after_s=1.0)
    try:
        assert kiosk.lobby is not None and kiosk.lobby.warm(wait_s=10)
        assert kiosk.register()[0] == "A-001"
        proxy.hang()
        number, first = kiosk.register()
        assert number == "A-k1-001"
        assert 0.25 <= first <= 0.6  # the 300 ms budget, not libpq's seconds
        number, second = kiosk.register()
        assert number == "A-k1-002" and second < 0.05  # breaker open: no waiting
        proxy.resume()
        deadline = time.monotonic() + 30
        while (number := kiosk.register()[0]).startswith("A-k1-"):
            assert time.monotonic() < deadline, "shared numbers never came back"
            time.sleep(0.2)
        # The request held by the hang may have reached the server on resume and taken
        # A-002 for a patient who got an offline ticket: it is voided, never reused.
        assert number in ("A-002", "A-003")
        from kiosk.lobby.sync import settle

        settle(kiosk.db, kiosk.lobby, grace_s=0)
        states = lobby.sql("SELECT seq, state FROM lobby.queue_numbers ORDER BY seq")
        assert states[0] == (1, "used") and states[-1] == (int(number[2:]), "used")
        assert all(state == "void" for _, state in states[1:-1])
    finally:
        kiosk.close()
        proxy.close()


def _zone_with_midnight_in(seconds: float) -> str:
    """A POSIX time zone (PostgreSQL reads them) whose midnight is `seconds` from now: the
    server's real clock crosses a facility-local midnight during the test."""
    now = dt.datetime.now(dt.UTC)
    since = now.hour * 3600 + now.minute * 60 + now.second + now.microsecond / 1e6
    offset = round(86400 - since - seconds) % 86400  # local = UTC + offset
    if offset >= 43200:
        offset -= 86400
    sign, offset = ("-", offset) if offset >= 0 else ("+", -offset)  # POSIX: west positive
    return f"<X>{sign}{offset // 3600:02d}:{offset // 60 % 60:02d}:{offset % 60:02d}"


def test_kiosk_clocks_skewed_60_s_across_midnight_print_no_number_twice(lobby, tmp_path,
                                                                        caplog):
    """The day is the server's: a kiosk whose clock is a minute slow prints today's
    numbers after midnight, one a minute fast yesterday's before it (issue 26: the same
    B-316 printed for two days in one lobby)."""
    import logging

    kiosks = []
    for n, skew in ((1, -60), (2, 60), (3, 0)):
        def now(skew=skew):
            return dt.datetime.now(dt.UTC) + dt.timedelta(seconds=skew)
        kiosk = Kiosk(kiosk_config(tmp_path / f"k{n}", f"k{n}", lobby.url(f"kiosk_k{n}")),
                      now=now)
        assert kiosk.lobby is not None
        kiosk.lobby.clock = lambda skew=skew: time.time() + skew
        kiosks.append(kiosk)
    try:
        caplog.set_level(logging.WARNING, logger="kiosk.lobby.client")
        lobby.sql(f"UPDATE lobby.facilities SET timezone = '{_zone_with_midnight_in(1.5)}'")
        printed = []  # (kiosk, number, the day its registration holds), in printing order
        deadline = time.monotonic() + 3.5
        while time.monotonic() < deadline:
            for n, kiosk in enumerate(kiosks, 1):
                reg = kiosk.service.get(kiosk.service.register(
                    IDENTITY, insurance_from_json(None, IDENTITY, dt.datetime.now(dt.UTC)),
                    "KB-NOI", f"key-{len(printed)}").id)
                assert reg is not None
                printed.append((n, reg.queue_number, kiosk.db.execute(
                    "SELECT queue_day FROM registrations WHERE id = ?", [reg.id]
                ).fetchone()[0]))
            time.sleep(0.05)
        days = [day for _, _, day in printed]
        assert len(set(days)) == 2, "the server's midnight was not crossed"
        assert days == sorted(days)  # after the first ticket of the new day, no old one
        tickets = [(day, number) for _, number, day in printed]
        assert len(tickets) == len(set(tickets))  # no number printed twice for one day
        for day in set(days):  # and each day's numbers go up in printing order
            seqs = [int(number[2:]) for d, number in tickets if d == day]
            assert seqs == list(range(1, len(seqs) + 1)) or day == min(days)
            assert seqs == sorted(seqs)
        # every kiosk, whatever its clock, printed on both sides of the server's midnight
        for n in (1, 2, 3):
            assert {day for k, _, day in printed if k == n} == set(days)
        assert all(not number.count("-") > 1 for _, number, _ in printed)  # all shared
        skewed = [r.getMessage() for r in caplog.records if "clock is" in r.getMessage()]
        assert len(skewed) == 2 and any("+60.0 s" in m for m in skewed) and any(
            "-60.0 s" in m for m in skewed)  # once per skewed kiosk, not per number
    finally:
        for kiosk in kiosks:
            kiosk.close()


def test_two_facilities_in_one_lobby_database(lobby, tmp_path):
    lobby.add_kiosk("k1", "kiosk_k2", facility="79001")
    a = Kiosk(kiosk_config(tmp_path / "a", "k1", lobby.url("kiosk_k1")))
    b = Kiosk(kiosk_config(tmp_path / "b", "k1", lobby.url("kiosk_k2"), facility="79001"))
    try:
        assert [a.register()[0], b.register()[0], a.register()[0], b.register()[0]] == [
            "A-001", "A-001", "A-002", "A-002"]
        assert lobby.sql("SELECT facility, kiosk_id, db_role FROM lobby.kiosks "
                         "WHERE kiosk_id = 'k1' ORDER BY facility") == [("01824", "k1", "kiosk_k1"),
                                                  ("79001", "k1", "kiosk_k2")]
    finally:
        a.close()
        b.close()


def test_a_kiosk_id_belongs_to_one_login(lobby, tmp_path):
    """k2's login cannot take numbers (or settle, or publish) as kiosk k1."""
    first = Kiosk(kiosk_config(tmp_path / "a", "k1", lobby.url("kiosk_k1")))
    thief = Kiosk(kiosk_config(tmp_path / "b", "k1", lobby.url("kiosk_k2")))
    try:
        assert first.register()[0] == "A-001"
        from kiosk.lobby.client import LobbyRefused

        assert thief.lobby is not None
        with pytest.raises(LobbyRefused, match="not provisioned for login kiosk_k2"):
            thief.lobby.take_number("NOI", "0" * 32)
        with pytest.raises(LobbyRefused):
            thief.lobby.publish("2026-11-30", {"health_book.offered": 99})
        # the registration itself still goes on, with an offline number
        assert thief.register()[0] == "A-k1-001"
    finally:
        first.close()
        thief.close()
