"""The chip CCCD as the journey's identity port, over the real protocol with virtual cards."""

import datetime as dt

import pytest

from drivers.emrtd.passive import TrustStore
from drivers.emrtd.transport import CallableTransport
from drivers.virtual.cccd import CardOptions, VirtualCccd, build_card_image
from drivers.virtual.cccd import Identity as CardHolder
from drivers.virtual.cccd_pki import generate
from kiosk.journey import Journey, Step
from kiosk.journey import events as ev
from kiosk.journey.effects import AccessKey
from kiosk.journey.ports import ChipReadError
from kiosk.journey.runner import Ports, Runner
from kiosk.services.chip_identity import ChipIdentityReader
from kiosk.services.simulators import VirtualCardReader, load_demo_patients

HOLDER = {"id_number": "001185012345", "full_name": "Nguyễn Thị Hồng Nhung",
          "date_of_birth": "1985-03-14", "sex": "Nữ", "issue_date": "2021-07-02",
          "residence": "Hà Nội", "old_id_number": "012345678",
          "expiry_date": "2025-03-14"}  # renewal at 40 (Law on Identification, Art. 21)


@pytest.fixture(scope="module")
def pki():
    return generate("TEST CSCA (unit)")


def reader_for(pki, trusted=True, **options):
    holder = CardHolder.from_json(HOLDER)
    card = VirtualCccd(holder, image=build_card_image(holder, CardOptions(**options), pki))
    trust = TrustStore(anchors=[pki.csca_cert]) if trusted else None
    return ChipIdentityReader(lambda: CallableTransport(card.process), trust), card


def test_can_gives_verified_identity_then_photo(pki):
    port, _ = reader_for(pki)
    seen = []
    checks = port.read_chip(AccessKey(can="012345"), seen.append)
    [identity] = seen
    assert identity.full_name == "Nguyễn Thị Hồng Nhung" and identity.sex == "Nữ"
    assert identity.date_of_birth == dt.date(1985, 3, 14)
    assert identity.id_number == "001185012345" and identity.old_id_number == "012345678"
    # Shown early, verified only once the photo and active authentication are done.
    assert identity.source == "chip" and identity.verification == "chip_pending"
    assert checks.verification == "chip_verified"
    assert checks.photo_jpeg is not None and checks.photo_jpeg[:2] == b"\xff\xd8"


def test_without_trust_store_the_level_is_not_verified(pki):
    port, _ = reader_for(pki, trusted=False)
    seen = []
    checks = port.read_chip(AccessKey(can="012345"), seen.append)
    assert checks.verification == "chip_untrusted" != seen[0].verification


def test_bac_with_qr_facts_when_the_card_has_no_pace(pki):
    port, _ = reader_for(pki, pace=False)
    seen = []
    key = AccessKey(can="012345", id_number="001185012345", date_of_birth="1985-03-14",
                    issue_date="2021-07-02")
    port.read_chip(key, seen.append)
    assert seen[0].id_number == "001185012345"


def test_wrong_can_is_access_denied(pki):
    port, _ = reader_for(pki)
    with pytest.raises(ChipReadError) as err:
        port.read_chip(AccessKey(can="999999"), lambda i: None)
    assert err.value.reason == "access_denied"


def test_tampered_identity_is_never_delivered(pki):
    port, _ = reader_for(pki, tamper_dg=13)
    seen = []
    with pytest.raises(ChipReadError) as err:
        port.read_chip(AccessKey(can="012345"), seen.append)
    assert err.value.reason == "verification_failed" and seen == []


def test_tampered_photo_fails_after_the_name(pki):
    port, _ = reader_for(pki, tamper_dg=2)
    seen = []
    with pytest.raises(ChipReadError) as err:
        port.read_chip(AccessKey(can="012345"), seen.append)
    assert err.value.reason == "verification_failed" and len(seen) == 1


class _NoInsurance:
    def check(self, identity):
        raise AssertionError("not reached")


def journey_with(reader: VirtualCardReader):
    journey = Journey()
    port = ChipIdentityReader(reader.open_transport, reader.trust_store)
    ports = Ports(port, _NoInsurance(), None, None, _Stats())  # type: ignore[arg-type]
    return journey, Runner(journey, ports)


class _Stats:
    def count(self, metric):
        pass


def test_journey_reads_the_card_on_the_virtual_reader():
    reader = VirtualCardReader(load_demo_patients())
    journey, runner = journey_with(reader)
    reader.place("chip_insured")
    runner.dispatch(ev.CardPlaced())
    runner.dispatch(ev.IdNumberTyped("001185012345"))
    s = journey.session
    assert s.step is Step.CONFIRM_IDENTITY and s.identity.verification == "chip_verified"
    assert s.identity.photo_jpeg  # in memory only


@pytest.mark.parametrize(("setup", "step", "error"), [
    ("unplugged", Step.ERROR, "reader_unplugged"),
    ("no_card", Step.NEED_KEY, None),  # "put the card back"
    ("unreadable", Step.ERROR, "card_unreadable"),
])
def test_journey_failure_paths(setup, step, error):
    reader = VirtualCardReader(load_demo_patients())
    journey, runner = journey_with(reader)
    reader.place("chip_insured")
    runner.dispatch(ev.CardPlaced())
    if setup == "unplugged":
        reader.unplugged = True
    elif setup == "no_card":
        reader.remove()
    else:
        reader.fail_next = "unreadable"
    runner.dispatch(ev.IdNumberTyped("001185012345"))
    assert journey.session.step is step and journey.session.error == error
