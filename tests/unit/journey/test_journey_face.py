"""The face-check steps of the journey (issue 29): consent, camera, outcome, and the
journey left exactly as it was when `[biometric] face_match = "off"`."""

import datetime as dt
from dataclasses import replace

import pytest

from kiosk.domain.biometric import Biometric, FaceCheckResult
from kiosk.domain.qr_payload import parse_qr
from kiosk.journey import Journey, JourneySettings, Step
from kiosk.journey import events as ev
from kiosk.journey.effects import CheckFace, CheckInsurance, CountEvent, PrepareFace, Register
from kiosk.journey.face import FaceStepSettings
from tests.unit.journey.test_journey import CHIP_ID, QR, SERVICES, Harness, insurance

PHOTO = b"\x00\x00\x00\x0cjP  \r\n\x87\nphoto"
TODAY = dt.date(2026, 11, 23)
MATCH = FaceCheckResult("match", 0.31, 0.5)
NO_MATCH = FaceCheckResult("no_match", 0.83, 0.5)
NO_FACE = FaceCheckResult("cannot_tell", None, 0.5, "no_face")


class FaceHarness(Harness):
    def __init__(self, **face):
        super().__init__(face=FaceStepSettings(**{"mode": "offered", **face}))
        self.j._today = lambda: TODAY

    def to_consent(self, identity=CHIP_ID, photo=PHOTO):
        """The chip's identity shown early ("chip_pending"); its checks finish with the
        photo before the tap, or (photo=None) are still running."""
        self.send(ev.CardPlaced())
        self.send(ev.IdNumberTyped(identity.id_number))
        self.send(ev.ChipRead(self.s.id, replace(identity, verification="chip_pending")))
        if photo:
            self.send(ev.ChipChecked(self.s.id, "chip_verified", photo))
        self.send(ev.IdentityConfirmed())

    def register(self):
        """From the insurance check to the Register effect."""
        self.send(ev.InsuranceChecked(self.s.id, insurance()))
        self.send(ev.ServicesLoaded(self.s.id, SERVICES))
        self.send(ev.Continue())
        self.send(ev.ServiceChosen("KB-NOI"))
        self.send(ev.RegistrationConfirmed())
        [reg] = self.of(Register)
        return reg


def effects_of(h, kind):
    return [e for e in h.effects if isinstance(e, kind)]


def test_off_by_default_goes_straight_to_insurance():
    h = Harness()
    h.to_confirm_by_chip()
    h.send(ev.ChipChecked(h.s.id, "chip_verified", PHOTO))
    h.send(ev.IdentityConfirmed())
    assert h.step is Step.CHECKING_INSURANCE and h.s.biometric is None
    assert not [c for c in h.counts() if c.startswith("face.")]


def test_consent_then_a_match_verifies_the_visit():
    h = FaceHarness()
    h.to_consent()
    assert h.step is Step.FACE_CONSENT and "face.offered" in h.counts()
    assert not effects_of(h, CheckFace)  # the camera does not look before consent
    [prepare] = effects_of(h, PrepareFace)  # the chip's photo is described meanwhile
    assert prepare.photo == PHOTO
    h.send(ev.FaceConsented())
    [look] = effects_of(h, CheckFace)
    assert h.step is Step.FACE_MATCH and look.photo == PHOTO and "photo" not in repr(look)
    h.send(ev.FaceChecked(h.s.id, MATCH))
    assert h.step is Step.CHECKING_INSURANCE and effects_of(h, CheckInsurance)
    assert h.s.biometric == Biometric("verified", 0.31, 0.5)
    reg = h.register()
    assert reg.biometric.verified and reg.identity.photo_jpeg is None


def test_no_match_retries_once_then_sends_to_the_desk_kindly():
    h = FaceHarness()
    h.to_consent()
    h.send(ev.FaceConsented())
    h.send(ev.FaceChecked(h.s.id, NO_FACE))
    assert h.step is Step.FACE_MATCH and h.s.notice.kind == "face_retry"
    assert effects_of(h, CheckFace) and h.s.face_attempts == 2
    h.send(ev.FaceChecked(h.s.id, NO_MATCH))
    assert h.step is Step.FACE_DESK and h.counts() == ["face.not_verified"]
    assert h.s.biometric == Biometric("not_verified", 0.83, 0.5, "no_match")
    h.send(ev.Continue())  # on_no_match = "register": registration goes on, not verified
    assert h.step is Step.CHECKING_INSURANCE
    assert h.register().biometric.status == "not_verified"


def test_the_hospital_may_send_a_no_match_to_the_desk_without_registering():
    h = FaceHarness(on_no_match="desk", attempts=1)
    h.to_consent()
    h.send(ev.FaceConsented())
    h.send(ev.FaceChecked(h.s.id, NO_MATCH))
    assert h.step is Step.FACE_DESK
    h.send(ev.Continue())
    assert h.step is Step.IDLE and h.s.identity is None and h.s.biometric is None
    assert h.counts() == ["journey.abandoned.face_desk"]


@pytest.mark.parametrize(("mode", "on_no_match", "then"), [
    ("offered", "desk", Step.CHECKING_INSURANCE),
    ("required", "register", Step.FACE_DESK),
    ("required", "desk", Step.FACE_DESK),
])
def test_declining_is_recorded(mode, on_no_match, then):
    h = FaceHarness(mode=mode, on_no_match=on_no_match)
    h.to_consent()
    h.send(ev.FaceDeclined())
    assert h.step is then and h.s.biometric == Biometric("declined")
    assert h.counts()[0] == "face.declined" and not effects_of(h, CheckFace)


def test_children_and_photo_less_identities_skip_it_recorded():
    child = replace(CHIP_ID, date_of_birth=dt.date(2013, 11, 24))  # 12 the day before 13
    h = FaceHarness(skip_under_age=13)
    h.to_consent(child)
    assert h.step is Step.CHECKING_INSURANCE and h.s.biometric == Biometric("skipped_child")
    assert "face.skipped_child" in h.counts()



def test_the_photo_may_arrive_after_the_tap_and_may_never_come():
    h = FaceHarness()
    h.to_consent(photo=None)  # the chip's checks (and its photo) are still running
    assert h.step is Step.FACE_CONSENT
    h.send(ev.FaceConsented())
    assert h.step is Step.FACE_MATCH and not effects_of(h, CheckFace)
    h.send(ev.ChipChecked(h.s.id, "chip_verified", PHOTO))
    [look] = effects_of(h, CheckFace)
    assert look.photo == PHOTO and h.s.face_attempts == 1
    h = FaceHarness()
    h.to_consent(photo=None)
    h.send(ev.FaceConsented())
    h.send(ev.Tick(), after=8.0)
    assert h.step is Step.CHECKING_INSURANCE and h.s.biometric == Biometric("no_photo")
    qr = FaceHarness()
    qr.send(ev.CardPlaced())
    qr.send(ev.QrScanned(parse_qr(QR)))
    qr.send(ev.ChipFailed(qr.s.id, "unreadable"))  # the QR's identity, no chip photo
    qr.send(ev.IdentityConfirmed())
    assert qr.step is Step.CHECKING_INSURANCE and qr.s.biometric == Biometric("no_photo")


def test_a_chip_without_a_photo_skips_the_check():
    h = FaceHarness()
    h.to_consent(photo=None)
    h.send(ev.ChipChecked(h.s.id, "chip_verified", None))  # DG2 held no image
    assert h.step is Step.CHECKING_INSURANCE and h.s.biometric == Biometric("no_photo")
    h = FaceHarness()
    h.send(ev.CardPlaced())
    h.send(ev.IdNumberTyped(CHIP_ID.id_number))
    h.send(ev.ChipRead(h.s.id, replace(CHIP_ID, verification="chip_verified")))  # no photo
    h.send(ev.IdentityConfirmed())
    assert h.step is Step.CHECKING_INSURANCE and h.s.biometric == Biometric("no_photo")


def test_the_photo_arriving_on_the_consent_screen_is_prepared():
    h = FaceHarness()
    h.to_consent(photo=None)
    assert not effects_of(h, PrepareFace)
    h.send(ev.ChipChecked(h.s.id, "chip_verified", PHOTO))
    [prepare] = effects_of(h, PrepareFace)
    assert h.step is Step.FACE_CONSENT and prepare.photo == PHOTO


def test_a_chip_that_fails_its_checks_never_reaches_the_camera():
    h = FaceHarness()
    h.to_consent(photo=None)
    h.send(ev.FaceConsented())
    h.send(ev.ChipFailed(h.s.id, "verification_failed"))
    assert h.step is Step.ERROR and h.s.identity is None and not effects_of(h, CheckFace)


def test_a_late_result_and_cancel_are_harmless():
    h = FaceHarness()
    h.to_consent()
    h.send(ev.FaceConsented())
    old = h.s.id
    h.send(ev.Cancelled())
    assert h.step is Step.IDLE and h.s.biometric is None
    h.send(ev.FaceChecked(old, MATCH))
    assert h.step is Step.IDLE


def test_without_a_clock_the_age_rule_cannot_skip():
    j = Journey(JourneySettings(face=FaceStepSettings(mode="required")))
    j.handle(ev.CardPlaced(), 1)
    j.handle(ev.IdNumberTyped(CHIP_ID.id_number), 2)
    child = replace(CHIP_ID, date_of_birth=dt.date(2020, 1, 1), photo_jpeg=PHOTO)
    j.handle(ev.ChipRead(j.session.id, child), 3)
    effects = j.handle(ev.IdentityConfirmed(), 4)
    assert j.session.step is Step.FACE_CONSENT and CountEvent("face.offered") in effects


def test_a_verified_patient_checking_in_for_an_appointment_carries_the_outcome():
    from kiosk.journey.effects import CheckIn, FindAppointments
    from tests.unit.journey.test_journey_appointments import ENDO

    h = FaceHarness()
    h.j.settings = replace(h.j.settings, find_appointments=True)
    h.to_consent()
    assert not effects_of(h, FindAppointments)  # the lookup starts after the face step
    h.send(ev.FaceConsented())
    h.send(ev.FaceChecked(h.s.id, MATCH))
    [find] = effects_of(h, FindAppointments)
    assert find.identity.photo_jpeg is None
    h.send(ev.AppointmentsFound(h.s.id, (ENDO,)))
    h.send(ev.InsuranceChecked(h.s.id, insurance()))
    h.send(ev.Tick(), after=h.j.settings.insurance_auto_advance_s)
    h.send(ev.AppointmentChosen())
    [check_in] = effects_of(h, CheckIn)
    assert check_in.biometric == Biometric("verified", 0.31, 0.5)
