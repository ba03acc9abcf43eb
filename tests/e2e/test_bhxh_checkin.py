"""The QĐ 130 check-in table through the outbox to the BHXH gateway simulator on loopback:
off by default, sent once per insured visit, independent of the HIS, retried, refused."""

import base64
import dataclasses
import datetime as dt
import random

import pytest

from kiosk.domain.identity import Identity
from kiosk.services import outbox
from kiosk.services.bhxh import BhxhClient
from kiosk.services.bhxh.checkin import checkin_xml
from kiosk.services.bhxh.simulator import BhxhGatewaySimulator
from kiosk.services.his.base import HisPatient, HisVisit
from kiosk.services.his.fhir import FhirAdapter
from kiosk.services.his.fhir.server import FhirTestServer
from kiosk.services.registration import RegistrationService
from kiosk.services.sync import SyncDaemon, SyncSettings
from kiosk.store import connect
from tests.unit.registration.helpers import NOW, insured, make_config, not_checked, patient

pytestmark = pytest.mark.e2e


@pytest.fixture
def world(tmp_path):
    gateway = BhxhGatewaySimulator()
    gateway.start()
    his = FhirTestServer()
    his.start()
    client = BhxhClient(gateway.base_url, "01824_BV", "simulator-password", "Trần Thị Lan",
                        "001185000123", timeout_s=2.0)
    adapter = FhirAdapter({"url": his.url, "timeout_s": 1.0})
    yield tmp_path, gateway, his, client, adapter
    adapter.close()
    client.close()
    his.stop()
    gateway.stop()


class Clock:
    def __init__(self):
        self.t = NOW

    def __call__(self):
        return self.t


def kiosk(world, *, checkin=True):
    tmp_path, _, _, client, adapter = world
    config = make_config(tmp_path / "state")
    config = dataclasses.replace(config, bhxh=dataclasses.replace(config.bhxh, checkin=checkin))
    db = connect(config.database_path)
    clock = Clock()
    sync = SyncDaemon(db, config, adapter, now=clock, rng=random.Random(3), bhxh_client=client,
                      purge=False, settings=SyncSettings(recheck_every_s=60))
    return RegistrationService(db, config, now=clock), sync, db, clock


def kinds(db):
    return sorted((k, s) for k, s in db.execute("SELECT kind, state FROM outbox"))


def test_off_by_default_nothing_is_sent(world):
    service, sync, db, _ = kiosk(world, checkin=False)
    service.register(patient(1), insured(), "KB-NOI", "k1")
    assert sync.tick().sent == 1
    assert kinds(db) == [("his_register", "done")] and world[1].checkins == {}


def test_insured_visit_checked_in_once_even_while_the_his_is_down(world):
    _, gateway, his, _, _ = world
    service, sync, db, clock = kiosk(world)
    reg = service.register(patient(1), insured(), "KB-NOI", "k1")
    service.register(patient(2), not_checked(), "KB-NOI", "k2")  # not checked: no check-in
    his.pause()
    report = sync.tick()
    assert report.sent == 1  # the check-in went; the visits wait for the HIS
    [row] = gateway.checkins.values()
    assert row["MA_LK"] == reg.id and row["HO_TEN"] == "Nguyễn Thị Minh Khai"
    assert row["MA_THE_BHYT"] == "GD4790100000001" and row["MA_CSKCB"] == "01824"
    receipt = db.execute("SELECT detail FROM audit WHERE event = 'bhxh.checkin'").fetchone()[0]
    assert receipt.startswith(reg.id) and "Minh Khai" not in receipt
    his.resume()
    clock.t += dt.timedelta(seconds=sync.sleep_s())
    assert sync.tick().sent == 2
    assert kinds(db) == [("bhxh_checkin", "done"), ("his_register", "done"),
                         ("his_register", "done")]
    assert len(gateway.checkins) == 1


def test_gateway_outage_and_expired_token_are_retried_not_lost(world):
    _, gateway, _, client, _ = world
    service, sync, db, clock = kiosk(world)
    service.register(patient(1), insured(), "KB-NOI", "k1")
    gateway.inject("http500", endpoint="checkin")
    sync.tick()
    assert kinds(db) == [("bhxh_checkin", "pending"), ("his_register", "done")]
    assert "HTTP 500" in db.execute("SELECT last_error FROM outbox WHERE kind = "
                                    "'bhxh_checkin'").fetchone()[0]
    gateway.clear_faults()
    gateway.expire_tokens()  # the cached token is refused once, then renewed
    tokens = client.token_requests
    clock.t = outbox.next_attempt_at(db)
    assert sync.tick().sent == 1 and len(gateway.checkins) == 1
    assert client.token_requests == tokens + 1


def test_a_refused_table_is_a_dead_letter_with_the_gateways_words(world):
    service, sync, db, _ = kiosk(world)
    service.register(patient(1, date_of_birth=None), insured(), "KB-NOI", "k1")
    assert sync.tick().dead == 1
    error = db.execute("SELECT last_error FROM outbox WHERE kind = 'bhxh_checkin'").fetchone()[0]
    assert "refused (400)" in error and "NGAY_SINH" in error
    # the visit itself is not at fault
    assert db.execute("SELECT sync_state FROM registrations").fetchone()[0] == "synced"


def test_a_card_found_usable_by_the_recheck_is_checked_in_then(world):
    _, gateway, _, _, _ = world
    service, sync, db, _ = kiosk(world)
    nhung = Identity(full_name="Nguyễn Thị Hồng Nhung", date_of_birth=dt.date(1985, 3, 14),
                     sex="Nữ", source="qr", id_number="001185012345")
    reg = service.register(nhung, not_checked("001185012345"), "KB-NOI", "k1")
    report = sync.tick()  # the re-check answers "usable" and queues the check-in
    assert report.rechecked == 1
    sync.tick()
    assert gateway.checkins[reg.id]["MA_THE_BHYT"] == "GD4010123456789"
    assert ("bhxh_checkin", "done") in kinds(db)


def test_the_simulator_reads_what_the_client_sends(world):
    client = world[3]

    xml = checkin_xml(HisPatient("001185012345", "Nhung", dt.date(1985, 3, 14), "Nữ", None,
                                 "GD4010123456789"),
                      HisVisit("r-1", "KB", "Khám", "NOI", "P1", "A-001", NOW, "usable", None),
                      "01824")
    answer = client.send_checkin(xml, "01824", "01")
    assert answer["maKetQua"] == "200" and answer["maGiaoDich"]
    assert client.send_checkin(base64.b64encode(b"not xml"), "01824", "01")["maKetQua"] == "400"
