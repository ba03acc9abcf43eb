"""Carries out the journey's effects through the ports and feeds results back.

With an executor (the UI), each effect runs on a worker thread and its result
event is handed to `post`, which the UI marshals onto its own thread
(`Clock.schedule_once`) before calling `dispatch` again. Without one (the
demo, tests, CLI) effects run inline, depth-first.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass

from kiosk.domain.biometric import FaceCheckResult
from kiosk.domain.identity import Identity
from kiosk.domain.insurance import InsuranceResult
from kiosk.domain.registration import PrintResult
from kiosk.journey import events as ev
from kiosk.journey.effects import (
    CheckFace,
    CheckIn,
    CheckInsurance,
    CountEvent,
    Effect,
    FindAppointments,
    LoadServices,
    PrepareFace,
    PrintHandout,
    PrintTicket,
    ReadChip,
    Register,
)
from kiosk.journey.machine import Journey
from kiosk.journey.ports import (
    AppointmentPort,
    AppointmentsUnavailable,
    ChipReadError,
    FacePort,
    HandoutPort,
    IdentityPort,
    InsurancePort,
    PrinterPort,
    RegistrationPort,
    StatisticsPort,
)

log = logging.getLogger(__name__)
_CANNOT_TELL = FaceCheckResult("cannot_tell", None, 0.0, "unavailable")


@dataclass
class Ports:
    identity: IdentityPort
    insurance: InsurancePort
    registration: RegistrationPort
    printer: PrinterPort
    statistics: StatisticsPort
    handout: HandoutPort | None = None  # the health-book slip (absent: "not printed")
    appointments: AppointmentPort | None = None  # follow-up visits (absent: none looked up)
    face: FacePort | None = None  # the face check (absent: "cannot tell", not verified)


class Runner:
    def __init__(
        self,
        journey: Journey,
        ports: Ports,
        *,
        executor: Executor | None = None,
        post: Callable[[ev.Event], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
        on_change: Callable[[Journey], None] | None = None,
    ) -> None:
        self.journey = journey
        self.ports = ports
        self.executor = executor
        self.post = post or self.dispatch
        self.clock = clock
        self.wall_clock = wall_clock
        self.on_change = on_change

    def dispatch(self, event: ev.Event) -> None:
        """Feed one event (call on the owning thread only)."""
        effects = self.journey.handle(event, self.clock())
        if self.on_change is not None:
            self.on_change(self.journey)
        for effect in effects:
            if self.executor is None:
                self._complete(effect)
            else:
                self.executor.submit(self._complete, effect)

    def _complete(self, effect: Effect) -> None:
        try:
            result = self._execute(effect)
        except Exception:  # a port bug must not kill the kiosk; the journey gets a failure
            log.exception("effect %s failed unexpectedly", type(effect).__name__)
            result = self._failure(effect)
        if result is not None:
            self.post(result)

    def _execute(self, effect: Effect) -> ev.Event | None:
        if isinstance(effect, CountEvent):
            self.ports.statistics.count(effect.metric)
            return None
        if isinstance(effect, ReadChip):
            return self._read_chip(effect)
        if isinstance(effect, CheckInsurance):
            return ev.InsuranceChecked(effect.session, self.ports.insurance.check(effect.identity))
        if isinstance(effect, LoadServices):
            return ev.ServicesLoaded(effect.session, self.ports.registration.services(
                self.wall_clock(), effect.date_of_birth))
        if isinstance(effect, Register):
            # Only when there is one: adapters written before the face check keep working.
            extra = {} if effect.biometric is None else {"biometric": effect.biometric}
            registration = self.ports.registration.register(
                effect.identity, effect.insurance, effect.service_code, effect.idempotency_key,
                **extra,
            )
            return ev.Registered(effect.session, registration)
        if isinstance(effect, FindAppointments):
            if self.ports.appointments is None:
                return ev.AppointmentsFound(effect.session, ())
            try:
                return ev.AppointmentsFound(effect.session,
                                            self.ports.appointments.find(effect.identity))
            except AppointmentsUnavailable:
                return ev.AppointmentsFound(effect.session, (), available=False)
        if isinstance(effect, CheckIn):
            if self.ports.appointments is None:
                return ev.RegistrationFailed(effect.session, "no appointments port")
            face = {} if effect.biometric is None else {"biometric": effect.biometric}
            return ev.Registered(effect.session, self.ports.appointments.check_in(
                effect.identity, effect.insurance, effect.appointment, **face))
        if isinstance(effect, PrintTicket):
            return ev.TicketPrinted(effect.session, self.ports.printer.print_ticket(
                effect.registration))
        if isinstance(effect, PrintHandout):
            if self.ports.handout is None:
                log.warning("health-book handout asked for, but no handout printer is wired")
                return ev.HandoutPrinted(effect.session, PrintResult(
                    False, problem="offline", detail="no handout printer configured"))
            result = self.ports.handout.print_handout(effect.section, effect.card_number)
            if not result.printed:
                log.warning("health-book handout not printed: %s %s", result.problem,
                            result.detail[:120])
            return ev.HandoutPrinted(effect.session, result)
        if isinstance(effect, PrepareFace):
            if self.ports.face is not None:
                self.ports.face.prepare(effect.photo)
            return None
        if isinstance(effect, CheckFace):
            if self.ports.face is None:
                log.warning("face check asked for, but no face port is wired")
                return ev.FaceChecked(effect.session, _CANNOT_TELL)
            return ev.FaceChecked(effect.session, self.ports.face.check(effect.photo))
        raise TypeError(f"unknown effect {effect!r}")  # pragma: no cover

    def _read_chip(self, effect: ReadChip) -> ev.Event | None:
        session = effect.session

        def identity(found: Identity) -> None:
            self.post(ev.ChipRead(session, found))

        try:
            checks = self.ports.identity.read_chip(effect.key, identity)
        except ChipReadError as exc:
            # Before or after the identity: the journey decides (a late failure takes
            # the identity shown early back; it was never verified).
            return ev.ChipFailed(session, exc.reason)
        return ev.ChipChecked(session, checks.verification, checks.photo_jpeg)

    def _failure(self, effect: Effect) -> ev.Event | None:
        """The event that tells the journey an effect failed in an unexpected way."""
        if isinstance(effect, ReadChip):
            return ev.ChipFailed(effect.session, "unreadable")
        if isinstance(effect, CheckInsurance):
            return ev.InsuranceChecked(effect.session, InsuranceResult.not_checked(
                effect.identity.insurance_key, "insurance adapter error", self.wall_clock()))
        if isinstance(effect, LoadServices):
            return ev.ServicesLoaded(effect.session, ())
        if isinstance(effect, Register | CheckIn):
            return ev.RegistrationFailed(effect.session, "registration adapter error")
        if isinstance(effect, FindAppointments):
            return ev.AppointmentsFound(effect.session, (), available=False)
        if isinstance(effect, PrintTicket):
            return ev.TicketPrinted(effect.session, PrintResult(False, problem="error",
                                                                detail="printer adapter error"))
        if isinstance(effect, PrintHandout):
            return ev.HandoutPrinted(effect.session, PrintResult(
                False, problem="error", detail="handout adapter error"))
        if isinstance(effect, CheckFace):
            return ev.FaceChecked(effect.session, _CANNOT_TELL)
        return None
