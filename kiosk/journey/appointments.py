"""The follow-up appointment part of the journey (giấy hẹn khám lại), decision 0150.

After the patient confirms who they are, the HIS is asked for today's
appointments alongside the BHYT check (which still runs: the appointment does
not replace it). Past the insurance step:

* one or more found → `APPOINTMENT`: check in with one tap (a list when several),
  or "a different service" → the normal service list;
* none → the service list, as before;
* the HIS slow or down → the service list, with a notice to mention the
  appointment at the room; the patient never waits more than the budget.

Functions of the `Journey` (pure, like it): they read and replace its session.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from kiosk.journey import events as ev
from kiosk.journey.effects import CheckIn, CountEvent, Effect, FindAppointments
from kiosk.journey.messages import notice
from kiosk.journey.state import Step

if TYPE_CHECKING:
    from kiosk.journey.machine import Journey


def ask(journey: Journey) -> list[Effect]:
    """The lookup, started with the BHYT check (when this kiosk looks appointments up)."""
    s = journey.session
    if not journey.settings.find_appointments or s.identity is None:
        return []
    journey.session = replace(s, appointments=None, appointments_asked=True,
                              appointments_unavailable=False)
    return [FindAppointments(s.id, s.identity.without_photo())]


def slip(journey: Journey, event: ev.SlipScanned, now: float) -> list[Effect]:
    """An appointment slip's QR: remembered until the patient's identity is confirmed
    (a slip alone checks nobody in); on the attract screen it starts a session."""
    s = journey.session
    effects: list[Effect] = []
    if s.step is Step.IDLE:
        effects = journey.start_session(now)
        journey.go(Step.NEED_KEY, now)
    elif s.step not in (Step.NEED_KEY, Step.READING_CHIP, Step.CONFIRM_IDENTITY,
                        Step.CHECKING_INSURANCE, Step.INSURANCE_RESULT, Step.ERROR):
        return []
    s = journey.session
    shown = notice("slip_seen") if s.step is Step.NEED_KEY else s.notice
    journey.session = replace(s, slip_ref=event.ref, notice=shown)
    return [*effects, CountEvent("appointment.slip_scanned")]


def found(journey: Journey, event: ev.AppointmentsFound, now: float) -> list[Effect]:
    s = journey.session
    if not s.appointments_asked or s.appointments is not None:
        return []  # not asked, or answered already (the wait gave up first)
    offered, missed = event.appointments, False
    if s.slip_ref is not None and event.available:
        # The slip names one appointment; it must be one of this patient's today.
        offered = tuple(a for a in event.appointments if a.ref == s.slip_ref)
        missed = not offered
    journey.session = replace(s, appointments=offered, slip_missed=missed,
                              appointments_unavailable=not event.available)
    metric = ("appointment.lookup.unavailable" if not event.available else
              "appointment.lookup.found" if event.appointments else "appointment.lookup.none")
    effects: list[Effect] = [CountEvent(metric)]
    if missed:
        effects.append(CountEvent("appointment.slip_not_found"))
    if s.step is Step.FINDING_APPOINTMENTS:
        effects += before_services(journey, now) or journey.to_service_list(now)
    return effects


def before_services(journey: Journey, now: float) -> list[Effect] | None:
    """Where the patient goes after the insurance step; None: the service list."""
    s = journey.session
    if not s.appointments_asked:
        return None
    if s.appointments is None:  # still asking: a short wait, bounded by `gave_up`
        journey.go(Step.FINDING_APPOINTMENTS, now)
        return []
    if s.appointments:
        journey.go(Step.APPOINTMENT, now, notice=None)
        return [CountEvent("appointment.offered")]
    if s.appointments_unavailable or s.slip_missed:
        journey.session = replace(s, notice=notice(
            "appointment_not_found" if s.slip_missed else "appointment_unavailable"))
    return None


def gave_up(journey: Journey, now: float) -> list[Effect]:
    """The HIS did not answer within the wait: walk in, told to mention the appointment."""
    journey.session = replace(journey.session, appointments=(),
                              appointments_unavailable=True,
                              notice=notice("appointment_unavailable"))
    return [CountEvent("appointment.lookup.unavailable"), *journey.to_service_list(now)]


def offered(journey: Journey, event: ev.Event, now: float) -> list[Effect]:
    """On the appointment screen: check in (one tap), or choose another service."""
    s = journey.session
    if isinstance(event, ev.AppointmentChosen):
        offered = s.appointments or ()
        chosen = next((a for a in offered if a.ref == event.ref), None) if event.ref \
            else offered[0] if len(offered) == 1 else None
        if chosen is None or s.identity is None or s.insurance is None:
            return []
        journey.go(Step.REGISTERING, now)
        return [CheckIn(s.id, s.identity.without_photo(), s.insurance, chosen, s.biometric)]
    if isinstance(event, ev.AppointmentDeclined):
        return [CountEvent("appointment.declined"), *journey.to_service_list(now)]
    if isinstance(event, ev.Back):
        journey.go(Step.INSURANCE_RESULT, now)
        return []
    if isinstance(event, ev.ServicesLoaded):
        journey.session = replace(s, services=event.services)
    return []
