"""The follow-up appointment part of the journey: looked up with the BHYT check,
offered after it, checked in with one tap; the HIS slow or down is a walk-in."""

import datetime as dt

from kiosk.domain.appointment import Appointment
from kiosk.domain.registration import Registration
from kiosk.journey import Step
from kiosk.journey import events as ev
from kiosk.journey.effects import CheckIn, CheckInsurance, FindAppointments
from tests.unit.journey.test_journey import CHIP_ID, NOW, Harness, insurance

ENDO = Appointment("appt-7", NOW + dt.timedelta(minutes=30), "Khám Nội tiết", "NOITIET",
                   "Phòng 305", "BS. Nguyễn Văn An")
EYES = Appointment("appt-9", NOW + dt.timedelta(hours=2), "Khám Mắt", "MAT", "Phòng 210")


def harness():
    return Harness(find_appointments=True)


def confirmed(h, found=None, available=True):
    """Identity confirmed; the lookup answered (found=None: still out) and the
    BHYT check answered usable."""
    h.to_confirm_by_chip()
    h.send(ev.IdentityConfirmed())
    [check] = h.of(CheckInsurance)
    [find] = h.of(FindAppointments)
    assert find.identity == check.identity and find.identity.photo_jpeg is None
    if found is not None:
        h.send(ev.AppointmentsFound(h.s.id, found, available))
    h.send(ev.InsuranceChecked(h.s.id, insurance()))


def checked_in(appointment):
    return Registration("r9", "H-001", "HEN", appointment.service_name, appointment.service_name,
                        appointment.room, NOW, "Trần V. Hòa", "BHYT", "BHYT", "abc",
                        appointment=appointment)


def test_one_appointment_checks_in_with_one_tap_after_the_bhyt_check():
    h = harness()
    confirmed(h, (ENDO,))
    assert h.step is Step.INSURANCE_RESULT  # the BHYT check still runs and is shown
    h.send(ev.Tick(), after=h.j.settings.insurance_auto_advance_s)
    assert h.step is Step.APPOINTMENT and "appointment.offered" in h.counts()
    h.send(ev.AppointmentChosen())  # the one big button
    assert h.step is Step.REGISTERING and h.s.busy_with_promise
    [check_in] = h.of(CheckIn)
    assert check_in.appointment == ENDO and check_in.insurance.outcome == "usable"
    h.send(ev.Registered(h.s.id, checked_in(ENDO)))
    assert h.step is Step.TICKET and h.s.registration.appointment == ENDO


def test_several_appointments_are_a_list_and_the_big_button_names_none():
    h = harness()
    confirmed(h, (ENDO, EYES))
    h.send(ev.Continue())
    assert h.step is Step.APPOINTMENT
    h.send(ev.AppointmentChosen())  # no ref with two: ambiguous, nothing happens
    assert h.step is Step.APPOINTMENT and not h.of(CheckIn)
    h.send(ev.AppointmentChosen("nope"))
    assert h.step is Step.APPOINTMENT
    h.send(ev.AppointmentChosen("appt-9"))
    assert [c.appointment for c in h.of(CheckIn)] == [EYES]


def test_a_different_service_is_the_normal_walk_in():
    h = harness()
    confirmed(h, (ENDO,))
    h.send(ev.Continue())
    h.send(ev.AppointmentDeclined())
    assert h.step is Step.CHOOSE_SERVICE and "appointment.declined" in h.counts()


def test_no_appointment_goes_straight_to_the_services():
    h = harness()
    confirmed(h, ())
    h.send(ev.Continue())
    assert h.step is Step.CHOOSE_SERVICE and h.s.notice is None


def test_his_unavailable_is_a_walk_in_told_to_mention_the_appointment():
    h = harness()
    confirmed(h, (), available=False)
    h.send(ev.Continue())
    assert h.step is Step.CHOOSE_SERVICE
    assert h.s.notice is not None and h.s.notice.kind == "appointment_unavailable"
    assert "lịch hẹn" in h.s.notice.message_vi


def test_a_lookup_still_out_is_waited_for_briefly_then_given_up():
    h = harness()
    confirmed(h)  # the HIS has not answered yet
    h.send(ev.Continue())
    assert h.step is Step.FINDING_APPOINTMENTS
    h.send(ev.Tick(), after=h.j.settings.appointment_wait_s - 0.5)
    assert h.step is Step.FINDING_APPOINTMENTS
    h.send(ev.Tick(), after=0.6)
    assert h.step is Step.CHOOSE_SERVICE and h.s.notice.kind == "appointment_unavailable"
    h.send(ev.AppointmentsFound(h.s.id, (ENDO,)))  # too late: the patient has moved on
    assert h.step is Step.CHOOSE_SERVICE


def test_an_answer_during_the_wait_shows_the_appointment():
    h = harness()
    confirmed(h)
    h.send(ev.Continue())
    h.send(ev.AppointmentsFound(h.s.id, (ENDO,)), after=0.3)
    assert h.step is Step.APPOINTMENT


def test_an_answer_for_an_ended_session_is_ignored():
    h = harness()
    confirmed(h)
    old = h.s.id
    h.send(ev.Cancelled())
    h.send(ev.AppointmentsFound(old, (ENDO,)))
    assert h.s.appointments is None and h.step is Step.IDLE


def test_without_the_setting_nothing_is_looked_up():
    h = Harness()
    h.to_confirm_by_chip()
    h.send(ev.IdentityConfirmed())
    assert not h.of(FindAppointments)


def test_a_slip_qr_starts_a_session_and_its_appointment_is_offered_alone():
    h = harness()
    h.send(ev.SlipScanned("appt-9"))
    assert h.step is Step.NEED_KEY and h.s.notice.kind == "slip_seen"
    assert h.counts() == ["journey.started", "appointment.slip_scanned"]
    h.send(ev.CardPlaced())
    h.send(ev.IdNumberTyped("001185012345"))
    h.send(ev.ChipRead(h.s.id, h.s.qr_identity or CHIP_ID))
    h.send(ev.IdentityConfirmed())
    h.send(ev.AppointmentsFound(h.s.id, (ENDO, EYES)))
    h.send(ev.InsuranceChecked(h.s.id, insurance()))
    h.send(ev.Continue())
    assert h.step is Step.APPOINTMENT and h.s.appointments == (EYES,)
    h.send(ev.AppointmentChosen())  # the one the slip names: one tap
    assert [c.appointment for c in h.of(CheckIn)] == [EYES]


def test_a_slip_naming_none_of_the_patients_appointments_is_a_walk_in():
    h = harness()
    h.send(ev.SlipScanned("someone-elses"))
    h.send(ev.CardPlaced())
    h.send(ev.IdNumberTyped("001185012345"))
    h.send(ev.ChipRead(h.s.id, CHIP_ID))
    h.send(ev.IdentityConfirmed())
    h.send(ev.AppointmentsFound(h.s.id, (ENDO,)))
    assert "appointment.slip_not_found" in h.counts()
    h.send(ev.InsuranceChecked(h.s.id, insurance()))
    h.send(ev.Continue())
    assert h.step is Step.CHOOSE_SERVICE and h.s.notice.kind == "appointment_not_found"
