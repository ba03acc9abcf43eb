"""One patient, one number per service and day across the kiosks of a lobby (decision
0143), against a real PostgreSQL: the lobby holds only a keyed hash of who holds a
number, which kiosk logins can neither list nor forge for another kiosk."""

from __future__ import annotations

import datetime as dt
import logging
import threading

import psycopg
import pytest

from kiosk.config import load_file
from kiosk.lobby.client import LobbyClient, LobbyRateLimited, LobbyRefused
from kiosk.services.holdings import holder
from kiosk.services.patient_file import identity_from_json, insurance_from_json
from kiosk.services.registration import RegistrationService
from kiosk.store import connect
from tests.config_helpers import write_kiosk_config
from tests.e2e.lobby.conftest import kiosk_config
from tests.e2e.lobby.pg import KIOSK_PASSWORD, free_port
from tests.e2e.lobby.workers import CARD

pytestmark = pytest.mark.e2e
KEY = "5e" * 32  # the lobby's shared secret in these tests (64 hex digits)


class Kiosk:
    """A kiosk's registration service over its own SQLite, numbers from the lobby."""

    def __init__(self, tmp_path, lobby_url: str, kiosk_id: str) -> None:
        self.config = load_file(kiosk_config(tmp_path / kiosk_id, kiosk_id, lobby_url,
                                             holding_key=KEY))
        self.db = connect(self.config.database_path)
        self.lobby = LobbyClient.from_config(self.config)
        assert self.lobby is not None
        self.lobby.warm(wait_s=10)
        self.service = RegistrationService(self.db, self.config, lobby=self.lobby)
        self.sessions = 0

    def register(self, code: str = "KB-NOI", card: dict | None = None):
        self.sessions += 1  # every visit to the kiosk is a session of its own
        identity = identity_from_json(card or CARD)
        insurance = insurance_from_json(None, identity, dt.datetime.now(dt.UTC))
        return self.service.register(identity, insurance, code,
                                     f"{self.config.kiosk_id}-{self.sessions}:{code}")

    def count(self, sql: str) -> int:
        return self.db.execute(sql).fetchone()[0]

    def close(self) -> None:
        assert self.lobby is not None
        self.lobby.close()
        self.db.conn.close()


@pytest.fixture
def kiosks(lobby, tmp_path):
    made = [Kiosk(tmp_path, lobby.url(f"kiosk_k{n}"), f"k{n}") for n in (1, 2)]
    yield made
    for kiosk in made:
        kiosk.close()


def test_the_same_patient_and_service_at_a_second_kiosk_gets_the_first_kiosks_number(
        lobby, kiosks):
    k1, k2 = kiosks
    first = k1.register()
    assert (first.queue_number, first.repeat) == ("A-001", False)
    again = k2.register()
    # kiosk 1's number, room and registration code; nothing stored at kiosk 2
    assert again.repeat
    assert (again.id, again.queue_number, again.room, again.code) == (
        first.id, "A-001", first.room, first.code)
    assert abs((again.created_at - first.created_at).total_seconds()) < 5
    assert k2.count("SELECT count(*) FROM registrations") == 0
    assert k2.count("SELECT count(*) FROM outbox") == 0  # no HIS visit
    assert lobby.sql("SELECT count(*) FROM lobby.queue_numbers") == [(1,)]
    # the lobby holds a 32-byte hash for the day, no identity
    (row,) = lobby.sql("SELECT facility, kiosk_id, reg_ref, holder FROM lobby.holdings")
    assert row[:3] == ("01824", "k1", first.id) and len(row[3]) == 32
    assert CARD["id_number"].encode() not in bytes(row[3])
    # another service is another registration, at kiosk 2
    other = k2.register("KB-NGOAI")
    assert not other.repeat and other.queue_number == "B-001"
    assert k2.count("SELECT count(*) FROM outbox WHERE kind = 'his_register'") == 1
    # another patient for the same service gets the next shared number
    assert k2.register(card={**CARD, "id_number": "001168000002"}).queue_number == "A-002"


def test_two_kiosks_registering_one_patient_at_once_give_one_number(lobby, kiosks):
    results = []
    start = threading.Barrier(2)

    def run(kiosk) -> None:
        start.wait()
        results.append(kiosk.register("KB-MAT"))

    threads = [threading.Thread(target=run, args=(k,)) for k in kiosks]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({r.queue_number for r in results}) == 1
    assert sorted(r.repeat for r in results) == [False, True]
    assert sum(k.count("SELECT count(*) FROM registrations") for k in kiosks) == 1
    assert lobby.sql("SELECT count(*) FROM lobby.queue_numbers") == [(1,)]


def test_with_the_lobby_away_the_kiosk_still_gives_one_number(tmp_path, caplog):
    url = f"postgresql://kiosk_k1@127.0.0.1:{free_port()}/lobby"  # nothing listens
    kiosk = Kiosk(tmp_path, url, "k1")
    try:
        caplog.set_level(logging.WARNING, logger="kiosk.services.registration")
        first = kiosk.register()
        assert first.queue_number == "A-k1-001" and not first.repeat  # offline number
        assert "checked on this kiosk only" in caplog.text
        again = kiosk.register()
        assert again.repeat and (again.id, again.queue_number) == (first.id, "A-k1-001")
        assert kiosk.count("SELECT count(*) FROM registrations") == 1
    finally:
        kiosk.close()


def kiosk_conn(lobby, role: str) -> psycopg.Connection:
    return psycopg.connect(lobby.url(role), password=KIOSK_PASSWORD, autocommit=True,
                           sslmode="disable")


def take_once(conn, kiosk: str, ref: str, held: bytes) -> tuple:
    return conn.execute("SELECT queue_seq, held_by, held_ref FROM lobby.take_number_once("
                        "'01824', 'NOI', %s, %s, %s)", [kiosk, ref, held]).fetchone()


def test_a_kiosk_login_cannot_list_forge_or_sweep_holdings(lobby):
    patient = identity_from_json(CARD)
    day = dt.date.today().isoformat()
    mine = holder(KEY, patient, day, "KB-NOI")
    with kiosk_conn(lobby, "kiosk_k1") as k1, kiosk_conn(lobby, "kiosk_k2") as k2:
        assert take_once(k1, "k1", "a" * 32, mine) == (1, None, None)
        assert take_once(k1, "k1", "a" * 32, mine) == (1, None, None)  # a retry: the same
        for statement in ("SELECT * FROM lobby.holdings",
                          "SELECT count(*) FROM lobby.holdings",
                          "DELETE FROM lobby.holdings",
                          "UPDATE lobby.holdings SET kiosk_id = 'k2'",
                          "SELECT lobby.forget_past_holdings('01824')"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                k2.execute(statement)  # type: ignore[arg-type]
        # not under another kiosk's id
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            take_once(k2, "k1", "b" * 32, holder(KEY, patient, day, "KB-MAT"))
        # an exact holder answers with that holding only; any other holder takes a new,
        # visible number of the caller's own (a probe costs a number)
        assert take_once(k2, "k2", "c" * 32, mine) == (1, "k1", "a" * 32)
        assert take_once(k2, "k2", "d" * 32, bytes(32)) == (2, None, None)
        for bad in (b"", bytes(31), bytes(33)):
            with pytest.raises(psycopg.errors.InvalidParameterValue):
                take_once(k2, "k2", "e" * 32, bad)
    assert lobby.sql("SELECT kiosk_id, seq FROM lobby.queue_numbers ORDER BY seq") == [
        ("k1", 1), ("k2", 2)]
    assert lobby.sql("SELECT kiosk_id, reg_ref FROM lobby.holdings ORDER BY 1") == [
        ("k1", "a" * 32), ("k2", "d" * 32)]
    # every answered lookup is counted (a refused call changes nothing, the count included)
    assert lobby.sql("SELECT kiosk_id, lookups FROM lobby.kiosks WHERE kiosk_id IN "
                     "('k1', 'k2') ORDER BY 1") == [("k1", 2), ("k2", 2)]


def test_lookups_are_rate_limited_like_numbers(lobby):
    lobby.sql("UPDATE lobby.kiosks SET max_per_minute = 3 WHERE kiosk_id = 'k2'")
    with kiosk_conn(lobby, "kiosk_k1") as k1, kiosk_conn(lobby, "kiosk_k2") as k2:
        take_once(k1, "k1", "a" * 32, bytes(32))
        minute = k2.execute("SELECT date_trunc('minute', now())").fetchone()[0]
        refused = 0
        for _ in range(5):  # the held one: no number taken, yet each lookup counts
            try:
                assert take_once(k2, "k2", "c" * 32, bytes(32))[1] == "k1"
            except psycopg.errors.ConfigurationLimitExceeded:
                refused += 1
        turned = k2.execute("SELECT date_trunc('minute', now())").fetchone()[0] != minute
        assert refused == 2 or turned  # a new minute restarts the window
    from kiosk.lobby.client import classify

    assert isinstance(classify(psycopg.errors.ConfigurationLimitExceeded("x")),
                      LobbyRateLimited)


def test_holdings_of_past_days_are_deleted_by_any_kiosks_heartbeat(lobby):
    with kiosk_conn(lobby, "kiosk_k1") as k1:
        take_once(k1, "k1", "a" * 32, bytes(32))
        lobby.sql("INSERT INTO lobby.holdings VALUES ('01824', current_date - 1, "
                  f"'\\x{'11' * 32}', 'k2', '{'b' * 32}'), ('01824', current_date - 30, "
                  f"'\\x{'22' * 32}', 'k1', '{'c' * 32}')")
        assert lobby.sql("SELECT count(*) FROM lobby.holdings") == [(3,)]
        k1.execute("SELECT lobby.heartbeat('01824', 'k1', 'test')")
    # today's (by the facility's zone on the server's clock) stays
    assert lobby.sql("SELECT reg_ref FROM lobby.holdings") == [("a" * 32,)]


def test_a_login_of_another_kiosk_is_refused_through_the_client(lobby, tmp_path):
    config = load_file(kiosk_config(tmp_path / "x", "k1", lobby.url("kiosk_k2"),
                                    holding_key=KEY))
    client = LobbyClient.from_config(config)
    assert client is not None
    try:
        with pytest.raises(LobbyRefused):
            client.take_number_once("NOI", "a" * 32, bytes(32))
    finally:
        client.close()


def test_a_v2_lobby_in_use_upgrades_to_v3_in_place(pg, monkeypatch):
    """v3 is appended: a lobby already numbering under v2 migrates with its kiosks and
    numbers, and the same login then takes numbers once per patient."""
    from kiosk.config.model import LobbyConfig
    from kiosk.lobby import admin
    from kiosk.lobby.schema import LATEST, MIGRATIONS
    from tests.e2e.lobby.conftest import Lobby
    from tests.e2e.lobby.pg import OWNER, OWNER_PASSWORD

    db = pg.new_database()
    owner = LobbyConfig(url=pg.url(OWNER, db), password=OWNER_PASSWORD)
    monkeypatch.setattr(admin, "MIGRATIONS", MIGRATIONS[:2])
    monkeypatch.setattr(admin, "LATEST", 2)
    admin.init(owner)
    old = Lobby(pg, db)
    old.add_kiosk("k1", "kiosk_k1")
    with kiosk_conn(old, "kiosk_k1") as k1:
        k1.execute("SELECT lobby.take_number_today('01824', 'NOI', 'k1', %s)", ["a" * 32])
        monkeypatch.undo()
        assert admin.init(owner).changed
        assert old.sql("SELECT max(version) FROM lobby.schema_version") == [(LATEST,)]
        assert take_once(k1, "k1", "b" * 32, bytes(32)) == (2, None, None)
        assert take_once(k1, "k1", "c" * 32, bytes(32)) == (2, "k1", "b" * 32)


def test_through_the_kiosk_the_second_kiosk_shows_and_reprints_the_first_kiosks_number(
        lobby, simulate, tmp_path):
    """`kiosk run --script` on kiosk 2 (real widgets under Xvfb, the chip on pcscd):
    the patient kiosk 1 registered for Khám Nội this morning reaches the ticket screen
    with kiosk 1's number and room, reprints it once — and kiosk 2 stores nothing and
    sends the HIS nothing."""
    import sqlite3

    from kiosk.services.his.fhir.server import FhirTestServer
    from tests.chip_identity import BASE
    from tests.e2e.his_helpers import fhir_validate
    from tests.e2e.ui.test_kiosk_run_script import REGISTER, production_config, run_script

    k1 = Kiosk(tmp_path, lobby.url("kiosk_k1"), "k1")
    try:
        first = k1.register(card=BASE)
    finally:
        k1.close()
    (tmp_path / "k2").mkdir()
    fhir = FhirTestServer(validator=fhir_validate)
    fhir.start()
    try:
        path = production_config(tmp_path / "k2", fhir, simulate)
        text = path.read_text("utf-8").replace('id = "demo-kiosk-01"', 'id = "k2"')
        write_kiosk_config(path, text + f'\n[lobby]\nurl = "{lobby.url("kiosk_k2")}"\n'
                           f'password = "{KIOSK_PASSWORD}"\nholding_key = "{KEY}"\n')
        # "In lại phiếu" is offered once the number has been on screen a moment
        script = [*REGISTER, {"sleep": 4}, {"tap": "reprint"}, {"sleep": 1.5}]
        code, out, err = run_script(path, tmp_path / "k2", script)
        visits = fhir.resources("Encounter") + fhir.resources("Appointment")
    finally:
        fhir.stop()
    assert code == 0 and out["ok"] is True, (out, err[-3000:])
    shown = out["registration"]
    assert (shown["registration_id"], shown["queue_number"], shown["room"]) == (
        first.id, first.queue_number, first.room)
    db = sqlite3.connect(tmp_path / "k2" / "state" / "kiosk.sqlite3")
    try:
        assert db.execute("SELECT count(*) FROM registrations").fetchone() == (0,)
        assert db.execute("SELECT count(*) FROM outbox").fetchone() == (0,)
        counts = dict(db.execute("SELECT metric, sum(value) FROM statistics WHERE metric IN "
                                 "('registration.repeat', 'registration.reprinted') "
                                 "GROUP BY metric").fetchall())
    finally:
        db.close()
    assert counts == {"registration.repeat": 1, "registration.reprinted": 1}
    assert len(list((tmp_path / "k2" / "tickets").glob("ticket-*"))) == 1  # the reprint
    assert lobby.sql("SELECT count(*) FROM lobby.queue_numbers") == [(1,)]
    assert visits == []
