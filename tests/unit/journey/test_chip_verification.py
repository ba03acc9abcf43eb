"""Issue 24: a chip identity may be shown early, but it is verified only once every check
finished; a late failure takes it back, with its photo (decision 0110)."""

import pytest

from kiosk.journey import Step
from kiosk.journey import events as ev
from kiosk.journey.effects import Register
from tests.unit.journey.test_journey import SERVICES, Harness, insurance


def test_the_verified_mark_and_the_photo_come_only_with_the_finished_checks():
    h = Harness()
    h.to_confirm_by_chip()
    assert h.s.identity.verification == "chip_pending" and h.s.identity.photo_jpeg is None
    h.send(ev.ChipChecked(h.s.id, "chip_verified", b"\xff\xd8jpeg"))
    assert h.s.identity.verification == "chip_verified" and h.s.identity.photo_jpeg
    assert h.counts() == ["chip.checked.chip_verified"]
    h.send(ev.ChipFailed(h.s.id, "verification_failed"))  # a stray result changes nothing
    assert h.step is Step.CONFIRM_IDENTITY and h.s.identity.verification == "chip_verified"


@pytest.mark.parametrize("moved_on", [False, True], ids=["on_confirm", "after_confirm"])
def test_a_late_failed_check_takes_the_identity_back(moved_on):
    h = Harness()
    h.to_confirm_by_chip()
    if moved_on:  # the patient tapped "that's me" before active authentication ended
        h.send(ev.IdentityConfirmed())
        h.send(ev.InsuranceChecked(h.s.id, insurance()))
        assert h.step is Step.INSURANCE_RESULT
    h.send(ev.ChipFailed(h.s.id, "verification_failed"))
    assert h.step is Step.ERROR and h.s.error == "verification_failed"
    assert h.s.identity is None and h.s.insurance is None and h.s.qr_identity is None
    assert "chip.refused" in h.counts()
    h.send(ev.ChipChecked(h.s.id, "chip_verified", b"\xff\xd8"))  # too late to matter
    assert h.s.identity is None


def test_a_read_broken_off_after_the_identity_is_no_verified_identity():
    """A clone that drops the link to dodge active authentication gains nothing."""
    h = Harness()
    h.to_confirm_by_chip()
    h.send(ev.ChipFailed(h.s.id, "card_removed"))
    assert h.step is Step.NEED_KEY and h.s.notice.kind == "card_removed"
    assert h.s.identity is None and h.s.key is not None  # put the card back: read again


def test_registered_while_checking_is_registered_as_pending_never_verified():
    h = Harness()
    h.to_confirm_by_chip()
    h.send(ev.IdentityConfirmed())
    h.send(ev.InsuranceChecked(h.s.id, insurance()))
    h.send(ev.ServicesLoaded(h.s.id, SERVICES))
    h.send(ev.Continue())
    h.send(ev.ServiceChosen("KB-NOI"))
    h.send(ev.RegistrationConfirmed())
    [register] = h.of(Register)
    assert register.identity.verification == "chip_pending"
    h.send(ev.ChipFailed(h.s.id, "verification_failed"))
    assert h.step is Step.REGISTERING  # the patient is owed a number; staff see the count
    assert h.counts() == ["chip.refused", "chip.failed_late.verification_failed"]
