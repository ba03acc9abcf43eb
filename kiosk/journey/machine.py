"""The patient journey as a pure state machine.

`Journey.handle(event, now)` returns the effects to carry out; it performs no
I/O and reads no clock (`now` is monotonic seconds from the caller), so every
transition is a plain function call in the tests.
"""

from __future__ import annotations

import datetime as dt
import itertools
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from kiosk.domain.biometric import Biometric
from kiosk.domain.citizen_id import parse_citizen_id
from kiosk.domain.errors import DomainError
from kiosk.domain.identity import Identity
from kiosk.domain.qr_payload import BhytQr, CccdQr, UnknownQr
from kiosk.journey import appointments, face, health_book
from kiosk.journey import events as ev
from kiosk.journey.effects import (
    AccessKey,
    CheckFace,
    CheckInsurance,
    CountEvent,
    Effect,
    LoadServices,
    PrepareFace,
    PrintHandout,
    PrintTicket,
    ReadChip,
    Register,
)
from kiosk.journey.messages import notice
from kiosk.journey.state import ErrorKind, Notice, Session, Step

_PATIENT_EVENTS = (
    ev.Touched, ev.IdNumberTyped, ev.IdentityConfirmed, ev.IdentityRejected, ev.Continue,
    ev.ServiceChosen, ev.RegistrationConfirmed, ev.Back, ev.Cancelled, ev.HealthBookStarted,
    ev.HealthBookSkipped, ev.HealthBookAnswered, ev.HandoutRequested, ev.HealthBookFinished,
    ev.CardPlaced, ev.CardClaimed,
    ev.QrScanned, ev.AppointmentChosen, ev.AppointmentDeclined, ev.SlipScanned,
    ev.FaceConsented, ev.FaceDeclined,
)
_EPOCH = dt.date(1970, 1, 1)
_REGISTERED = (Step.REGISTERING, Step.TICKET, Step.HEALTH_BOOK_OFFER, Step.HEALTH_BOOK, Step.DONE)
_RESULT_EVENTS = (
    ev.ChipRead, ev.ChipChecked, ev.ChipFailed, ev.InsuranceChecked, ev.ServicesLoaded,
    ev.Registered, ev.RegistrationFailed, ev.TicketPrinted, ev.HandoutPrinted,
    ev.AppointmentsFound, ev.FaceChecked,
)


@dataclass(frozen=True)
class JourneySettings:
    idle_timeout_s: float = 45.0
    idle_warning_s: float = 15.0  # warning shown this long before the reset
    insurance_auto_advance_s: float = 3.0  # a usable card needs no tap to move on
    done_display_s: float = 6.0
    notice_display_s: float = 8.0  # a notice on the attract screen fades after this
    max_chip_attempts: int = 3
    ticket_min_s: float = 3.0  # the number stays on screen, with nothing to tap, this long
    # Look up today's follow-up appointments after identity (the runner then needs an
    # appointments port); the wait beyond the insurance step is bounded by this.
    find_appointments: bool = False
    appointment_wait_s: float = 2.0
    face: face.FaceStepSettings = field(default_factory=face.FaceStepSettings)


class Journey:
    def __init__(
        self,
        settings: JourneySettings | None = None,
        token_factory: Callable[[], str] = lambda: uuid.uuid4().hex,
        today: Callable[[], dt.date] | None = None,
    ) -> None:
        self.settings = settings or JourneySettings()
        self._tokens = token_factory
        self._today = today  # the facility's date, for the face check's age rule
        self._ids = itertools.count(1)
        self.session = Session()

    # -- public ---------------------------------------------------------------
    def handle(self, event: ev.Event, now: float) -> list[Effect]:
        s = self.session
        if isinstance(event, _RESULT_EVENTS) and event.session != s.id:
            return []  # a result for a session that has ended
        if isinstance(event, _PATIENT_EVENTS):
            s = replace(s, last_activity=now, idle_warning=False)
        self.session = s
        effects = self._dispatch(event, now)
        return effects

    # -- helpers --------------------------------------------------------------
    def go(self, step: Step, now: float, **changes: object) -> None:
        self._go(step, now, **changes)

    def _go(self, step: Step, now: float, **changes: object) -> None:
        self.session = replace(self.session, step=step, step_entered=now, **changes)  # type: ignore[arg-type]

    def start_session(self, now: float) -> list[Effect]:
        return self._start(now)

    def _start(self, now: float, card_fresh: bool = False) -> list[Effect]:
        """Begin a new patient session (keeps device facts, wipes everything personal).
        A card already on the reader belongs to nobody yet, unless it started this
        session by being placed (`card_fresh`)."""
        old = self.session
        self.session = Session(
            id=next(self._ids), token=self._tokens(), step=Step.IDLE, last_activity=now,
            step_entered=now, card_present=old.card_present, reader_ok=old.reader_ok,
            card_fresh=card_fresh and old.card_present,
        )
        return [CountEvent("journey.started")]

    def _reset(self, now: float, reason: str | None = None) -> list[Effect]:
        """Back to the attract screen; the old session's data is dropped entirely."""
        old = self.session
        self.session = Session(
            id=old.id, step=Step.IDLE, last_activity=now, step_entered=now,
            card_present=old.card_present, reader_ok=old.reader_ok,
        )
        return [CountEvent(f"journey.abandoned.{reason}")] if reason else []

    def _stale_card(self) -> bool:
        s = self.session
        return s.card_present and s.reader_ok and not s.card_fresh

    def _error(self, kind: ErrorKind, now: float) -> list[Effect]:
        self._go(Step.ERROR, now, error=kind)
        return [CountEvent(f"journey.error.{kind}")]

    def _read_chip(self, now: float) -> list[Effect]:
        s = self.session
        assert s.key is not None
        self._go(Step.READING_CHIP, now, chip_attempts=s.chip_attempts + 1, notice=None)
        return [ReadChip(self.session.id, s.key)]

    def _confirm(self, identity: Identity, now: float, note: Notice | None = None) -> list[Effect]:
        self._go(Step.CONFIRM_IDENTITY, now, identity=identity, notice=note)
        return [CountEvent(f"identity.{identity.source}")]

    # -- transitions --------------------------------------------------------------
    def _dispatch(self, event: ev.Event, now: float) -> list[Effect]:
        s = self.session
        step = s.step

        # Device facts are tracked whatever the screen.
        if isinstance(event, ev.CardRemoved):
            self.session = replace(s, card_present=False, card_fresh=False, notice=None
                                   if s.notice and s.notice.kind == "card_not_yours"
                                   else s.notice)
            return []
        if isinstance(event, ev.ReaderUnplugged):
            self.session = replace(s, reader_ok=False, card_present=False, card_fresh=False)
            if step is Step.READING_CHIP:
                return self._chip_failed("reader_unplugged", now)
            return []
        if isinstance(event, ev.CardPlaced):
            s = replace(s, card_present=True, card_fresh=True, reader_ok=True)
            self.session = s

        if isinstance(event, ev.ChipChecked | ev.ChipFailed) and step is not Step.READING_CHIP:
            return self._chip_finished(event, now)
        if isinstance(event, ev.Tick):
            return self._tick(now)
        if isinstance(event, ev.AppointmentsFound):
            return appointments.found(self, event, now)
        if isinstance(event, ev.SlipScanned):
            return appointments.slip(self, event, now)

        if isinstance(event, ev.Cancelled) and not s.busy_with_promise and step is not Step.IDLE:
            return self._reset(now, f"cancelled.{step.value}")

        if step is Step.IDLE:
            return self._idle(event, now)
        if step is Step.NEED_KEY:
            return self._need_key(event, now)
        if step is Step.READING_CHIP:
            return self._reading(event, now)
        if step is Step.CONFIRM_IDENTITY:
            return self._confirming(event, now)
        if step in (Step.FACE_CONSENT, Step.FACE_MATCH, Step.FACE_DESK):
            return self._face_step(event, now)
        if step is Step.CHECKING_INSURANCE and isinstance(event, ev.InsuranceChecked):
            self._go(Step.INSURANCE_RESULT, now, insurance=event.result)
            dob = s.identity.date_of_birth if s.identity else None
            return [LoadServices(s.id, dob), CountEvent(f"insurance.{event.result.outcome}")]
        if step is Step.INSURANCE_RESULT:
            return self._insurance_result(event, now)
        if step is Step.APPOINTMENT:
            return appointments.offered(self, event, now)
        if step is Step.CHOOSE_SERVICE:
            return self._choosing(event, now)
        if step is Step.CONFIRM_SERVICE:
            return self._confirming_service(event, now)
        if step is Step.REGISTERING:
            if isinstance(event, ev.Registered):
                self._go(Step.TICKET, now, registration=event.registration)
                return [PrintTicket(s.id, event.registration), CountEvent("registration.created")]
            if isinstance(event, ev.RegistrationFailed):
                return self._error("registration_failed", now)
            return []
        if step is Step.TICKET:
            return self._ticket(event, now)
        if step is Step.HEALTH_BOOK_OFFER:
            if isinstance(event, ev.HealthBookStarted):
                return self._start_health_book(now)
            if isinstance(event, ev.HealthBookSkipped | ev.Continue):
                self._go(Step.DONE, now)
                return [CountEvent("health_book.skipped"), CountEvent("journey.completed")]
            return []
        if step is Step.HEALTH_BOOK and isinstance(event, ev.HealthBookAnswered):
            return self._health_book_answer(event.answer, now)
        if step is Step.HEALTH_BOOK and isinstance(event, ev.HandoutRequested | ev.HandoutPrinted):
            return self._handout(event)
        if step is Step.HEALTH_BOOK and isinstance(event, ev.HealthBookFinished):
            return self._finish_health_book(event.completed, now)
        if step is Step.DONE and isinstance(event, ev.Continue | ev.Touched):
            return self._reset(now)
        if step is Step.ERROR:
            return self._in_error(event, now)
        if isinstance(event, ev.ServicesLoaded):
            self.session = replace(s, services=event.services)
        return []

    def _tick(self, now: float) -> list[Effect]:
        s = self.session
        st = self.settings
        if s.step is Step.IDLE:
            if s.notice and now - s.step_entered >= st.notice_display_s:
                self.session = replace(s, notice=None)
            return []
        if (s.step is Step.TICKET and s.print_result is not None and not s.ticket_ready
                and now - s.step_entered >= st.ticket_min_s):
            self.session = s = replace(s, ticket_ready=True)
        if s.busy_with_promise:
            return []
        if (s.step is Step.FACE_MATCH and s.face_attempts == 0
                and now - s.step_entered >= st.face.photo_wait_s):
            # The chip gave no photo after all: nothing to compare with.
            return [CountEvent("face.no_photo")] + self._check_insurance(now, Biometric("no_photo"))
        if s.step is Step.DONE and now - s.step_entered >= st.done_display_s:
            return self._reset(now)
        if s.step is Step.FINDING_APPOINTMENTS and now - s.step_entered >= st.appointment_wait_s:
            return appointments.gave_up(self, now)
        if (
            s.step is Step.INSURANCE_RESULT
            and s.insurance is not None
            and s.insurance.outcome == "usable"
            and now - s.step_entered >= st.insurance_auto_advance_s
        ):
            return self._to_services(now)
        idle = now - s.last_activity
        if idle >= st.idle_timeout_s:
            if s.step in (Step.TICKET, Step.HEALTH_BOOK_OFFER, Step.HEALTH_BOOK):
                # The patient has a ticket and simply left: that is a completed journey.
                self._reset(now)
                return [CountEvent("journey.completed")]
            return self._reset(now, f"timeout.{s.step.value}")
        if idle >= st.idle_timeout_s - st.idle_warning_s and not s.idle_warning:
            self.session = replace(s, idle_warning=True)
        return []

    def _key_from_qr(self, qr: CccdQr) -> AccessKey:
        return AccessKey(
            can=qr.can, id_number=qr.id_number, date_of_birth=qr.date_of_birth.isoformat(),
            issue_date=qr.issue_date.isoformat(),
        )

    def _identity_from_qr(self, event: ev.QrScanned, now: float) -> list[Effect] | None:
        """Handle a QR shown on the idle/need-key/error screens; None if not usable."""
        payload = event.payload
        if isinstance(payload, UnknownQr):
            self.session = replace(
                self.session, notice=Notice("qr_unknown", payload.message_vi, payload.message_en)
            )
            return []
        effects: list[Effect] = []
        if self.session.step is Step.IDLE:
            effects += self._start(now)
        identity = payload.to_identity()
        if isinstance(payload, CccdQr):
            self.session = replace(
                self.session, key=self._key_from_qr(payload), qr_identity=identity
            )
            if self.session.card_usable:
                return effects + self._read_chip(now)
        assert isinstance(payload, CccdQr | BhytQr)
        return effects + self._confirm(identity, now)

    def _idle(self, event: ev.Event, now: float) -> list[Effect]:
        if isinstance(event, ev.QrScanned):
            return self._identity_from_qr(event, now) or []
        if isinstance(event, ev.QrRejected):
            self.session = replace(self.session, notice=notice("qr_rejected"), step_entered=now)
            return []
        if isinstance(event, ev.CardPlaced | ev.Touched):
            effects = self._start(now, card_fresh=isinstance(event, ev.CardPlaced))
            self._go(Step.NEED_KEY, now,
                     notice=notice("card_not_yours") if self._stale_card() else None)
            return effects
        return []

    def _need_key(self, event: ev.Event, now: float) -> list[Effect]:
        s = self.session
        if isinstance(event, ev.QrScanned):
            return self._identity_from_qr(event, now) or []
        if isinstance(event, ev.QrRejected):
            self.session = replace(s, notice=notice("qr_rejected"))
            return []
        if isinstance(event, ev.IdNumberTyped):
            try:
                citizen = parse_citizen_id(event.id_number)
            except DomainError:
                self.session = replace(s, notice=notice("bad_id_number"))
                return []
            self.session = replace(
                s, key=AccessKey(can=citizen.can, id_number=citizen.number),
                notice=notice("card_not_yours") if self._stale_card() else None,
            )
            if s.card_usable:
                return self._read_chip(now)
            return []
        if isinstance(event, ev.CardClaimed) and self._stale_card():
            self.session = replace(s, card_fresh=True, notice=None)
            return self._read_chip(now) if s.key is not None else []
        if isinstance(event, ev.CardPlaced) and s.key is not None:
            return self._read_chip(now)
        return []

    def _chip_finished(self, event: ev.ChipChecked | ev.ChipFailed, now: float) -> list[Effect]:
        """The end of a chip read whose identity was shown early ("chip_pending"): it
        becomes verified only now, and a failure takes it back (decision 0110)."""
        s = self.session
        person = s.identity
        if person is None or person.source != "chip" or person.verification != "chip_pending":
            return []
        if isinstance(event, ev.ChipChecked):
            self.session = replace(s, identity=replace(
                person, verification=event.verification, photo_jpeg=event.photo_jpeg))
            return [CountEvent(f"chip.checked.{event.verification}"),
                    *self._face_photo_arrived(now)]
        if s.step in _REGISTERED:
            # Registered while the checks ran, so registered as "chip_pending" (never
            # as verified); counted for the staff.
            refused = [CountEvent("chip.refused")] if event.reason == "verification_failed" else []
            return [*refused, CountEvent(f"chip.failed_late.{event.reason}")]
        # The chip read did not finish: what it showed goes, with what followed from it.
        self.session = replace(s, identity=None, insurance=None, service_code=None)
        return self._chip_failed(event.reason, now)

    def _chip_failed(self, reason: ev.ChipFailure, now: float) -> list[Effect]:
        s = self.session
        if reason == "verification_failed":
            # Possible clone or forgery: never fall back to less-checked data.
            self.session = replace(s, identity=None, qr_identity=None)
            return [CountEvent("chip.refused"), *self._error("verification_failed", now)]
        if reason == "card_removed" and s.chip_attempts < self.settings.max_chip_attempts:
            self._go(Step.NEED_KEY, now, notice=notice("card_removed"))
            return [CountEvent("chip.card_removed")]
        if s.qr_identity is not None:
            return [CountEvent(f"chip.failed.{reason}")] + self._confirm(
                s.qr_identity, now, notice("chip_fallback_qr")
            )
        if reason == "access_denied" and s.chip_attempts < self.settings.max_chip_attempts:
            self._go(Step.NEED_KEY, now, key=None, notice=notice("wrong_key"))
            return [CountEvent("chip.failed.access_denied")]
        # The card refusing every number typed is about the number, not the card.
        kind: ErrorKind = "card_unreadable"
        if reason == "reader_unplugged":
            kind = "reader_unplugged"
        elif reason == "access_denied":
            kind = "key_rejected"
        return [CountEvent(f"chip.failed.{reason}")] + self._error(kind, now)

    def _reading(self, event: ev.Event, now: float) -> list[Effect]:
        if isinstance(event, ev.ChipRead):
            return [CountEvent("chip.read")] + self._confirm(event.identity, now)
        if isinstance(event, ev.ChipFailed):
            return self._chip_failed(event.reason, now)
        if isinstance(event, ev.ChipChecked):  # a port that never gave the identity
            return self._chip_failed("unreadable", now)
        return []

    def _confirming(self, event: ev.Event, now: float) -> list[Effect]:
        s = self.session
        assert s.identity is not None
        if isinstance(event, ev.CardPlaced) and s.key is not None and s.identity.source != "chip":
            # QR shown first, card tapped now: upgrade to the chip-verified identity.
            return self._read_chip(now)
        if isinstance(event, ev.IdentityRejected):
            return self._reset(now, "identity_rejected")
        if isinstance(event, ev.IdentityConfirmed):
            return self._after_identity(now)
        return []

    # -- the face check (issue 29; kiosk.journey.face) ---------------------------------
    def _after_identity(self, now: float) -> list[Effect]:
        s = self.session
        assert s.identity is not None
        skip = face.skip_reason(self.settings.face, s.identity,
                                self._today() if self._today else None)
        if skip is None:
            self._go(Step.FACE_CONSENT, now, notice=None, face_attempts=0)
            effects: list[Effect] = [CountEvent("face.offered")]
            if s.identity.photo_jpeg:
                effects.append(PrepareFace(s.id, s.identity.photo_jpeg))
            return effects
        if skip == "off":
            return self._check_insurance(now)
        return [CountEvent(f"face.{skip}")] + self._check_insurance(now, Biometric(skip))

    def _check_insurance(self, now: float, biometric: Biometric | None = None) -> list[Effect]:
        self._go(Step.CHECKING_INSURANCE, now, notice=None, biometric=biometric)
        assert self.session.identity is not None
        return [CheckInsurance(self.session.id, self.session.identity), *appointments.ask(self)]

    def _look(self, now: float) -> list[Effect]:
        """Ask for a decision; without the chip's photo yet, wait for it (see `_tick`)."""
        s = self.session
        assert s.identity is not None
        if not s.identity.photo_jpeg:
            self._go(Step.FACE_MATCH, now)
            return []
        self._go(Step.FACE_MATCH, now, face_attempts=s.face_attempts + 1)
        return [CheckFace(s.id, s.identity.photo_jpeg)]

    def _not_verified(self, biometric: Biometric, now: float) -> list[Effect]:
        """Declined, or no match after the retries: the hospital's setting decides."""
        st = self.settings.face
        metric = CountEvent(f"face.{biometric.status}")
        if biometric.status == "declined" and st.mode == "offered":
            return [metric] + self._check_insurance(now, biometric)
        self._go(Step.FACE_DESK, now, notice=None, biometric=biometric)
        return [metric]

    def _face_photo_arrived(self, now: float) -> list[Effect]:
        """The chip's checks finished with its photo after the patient confirmed: prepare
        it, or start the camera that was waiting for it."""
        s = self.session
        if s.identity is None or s.step not in (Step.FACE_CONSENT, Step.FACE_MATCH):
            return []
        if not s.identity.photo_jpeg:  # checked, but the chip holds no usable photo
            return [CountEvent("face.no_photo")] + self._check_insurance(now, Biometric("no_photo"))
        if s.step is Step.FACE_MATCH and s.face_attempts == 0:
            return self._look(now)
        if s.step is Step.FACE_CONSENT:
            return [PrepareFace(s.id, s.identity.photo_jpeg)]
        return []

    def _face_step(self, event: ev.Event, now: float) -> list[Effect]:
        s = self.session
        assert s.identity is not None
        if s.step is Step.FACE_CONSENT:
            if isinstance(event, ev.FaceConsented):
                return self._look(now)
            if isinstance(event, ev.FaceDeclined):
                return self._not_verified(Biometric("declined"), now)
            return []
        if s.step is Step.FACE_MATCH and isinstance(event, ev.FaceChecked):
            r = event.result
            if r.decision == "match":
                verified = Biometric("verified", r.distance, r.threshold)
                return [CountEvent("face.verified")] + self._check_insurance(now, verified)
            if s.face_attempts < self.settings.face.attempts:
                self.session = replace(s, notice=notice("face_retry"))
                return [CountEvent(f"face.retry.{r.decision}")] + self._look(now)
            reason = "no_match" if r.decision == "no_match" else r.reason
            return self._not_verified(Biometric("not_verified", r.distance, r.threshold,
                                                reason), now)
        if s.step is Step.FACE_DESK and isinstance(event, ev.Continue):
            if self.settings.face.on_no_match == "register":
                return self._check_insurance(now, s.biometric)
            return self._reset(now, "face_desk")
        return []

    def _to_services(self, now: float) -> list[Effect]:
        """Past the insurance step: today's appointment first, if the patient has one."""
        effects = appointments.before_services(self, now)
        if effects is not None:
            return effects
        return self.to_service_list(now)

    def to_service_list(self, now: float) -> list[Effect]:
        s = self.session
        if s.services is not None and not any(x.open for x in s.services):
            return self._error("no_services", now)
        self._go(Step.CHOOSE_SERVICE, now)
        return []

    def _insurance_result(self, event: ev.Event, now: float) -> list[Effect]:
        if isinstance(event, ev.ServicesLoaded):
            self.session = replace(self.session, services=event.services)
            return []
        if isinstance(event, ev.Continue):
            return self._to_services(now)
        return []

    def _choosing(self, event: ev.Event, now: float) -> list[Effect]:
        s = self.session
        if isinstance(event, ev.ServicesLoaded):
            self.session = replace(s, services=event.services)
            if not any(x.open for x in event.services):
                return self._error("no_services", now)
            return []
        if isinstance(event, ev.ServiceChosen):
            option = next((x for x in s.services or () if x.code == event.code), None)
            if option is None or not option.open:
                self.session = replace(s, notice=notice("service_closed"))
                return []
            self._go(Step.CONFIRM_SERVICE, now, service_code=option.code, notice=None)
            return []
        if isinstance(event, ev.Back):
            self._go(Step.INSURANCE_RESULT, now)
        return []

    def _confirming_service(self, event: ev.Event, now: float) -> list[Effect]:
        s = self.session
        if isinstance(event, ev.Back):
            self._go(Step.CHOOSE_SERVICE, now, service_code=None)
            return []
        if isinstance(event, ev.RegistrationConfirmed):
            # The only way here is through the insurance step, so a result exists.
            assert s.identity and s.service_code and s.insurance
            self._go(Step.REGISTERING, now)
            return [
                Register(
                    s.id, s.identity.without_photo(), s.insurance, s.service_code,
                    idempotency_key=f"{s.token}:{s.service_code}", biometric=s.biometric,
                )
            ]
        return []

    def _ticket(self, event: ev.Event, now: float) -> list[Effect]:
        s = self.session
        if isinstance(event, ev.TicketPrinted):
            self.session = replace(s, print_result=event.result)
            if event.result.printed:
                return []
            return [CountEvent(f"print.failed.{event.result.problem}")]
        if isinstance(event, ev.Continue) and s.ticket_ready:
            self._go(Step.HEALTH_BOOK_OFFER, now)
            return [CountEvent("health_book.offered")]
        return []

    def _start_health_book(self, now: float) -> list[Effect]:
        s = self.session
        dob = s.identity.date_of_birth if s.identity else None
        # The registration's local date is "today" (the journey reads no clock).
        today = s.registration.created_at.date() if s.registration else None
        bhyt = health_book.usable_card_number(
            s.insurance.card_number if s.insurance else None,
            s.identity.bhyt_card if s.identity else None,
        )
        guide, metrics = health_book.start(dob if today else None, today or _EPOCH, bhyt)
        self._go(Step.HEALTH_BOOK, now, health_book=guide)
        return [CountEvent("health_book.started"), *map(CountEvent, metrics)]

    def _health_book_answer(self, answer: health_book.Answer, now: float) -> list[Effect]:
        guide = self.session.health_book
        if guide is None:
            return []
        guide, metrics = health_book.answer(guide, answer)
        effects: list[Effect] = [CountEvent(m) for m in metrics]
        if guide.completed is not None:
            return effects + self._finish_health_book(guide.completed, now)
        self.session = replace(self.session, health_book=guide)
        return effects

    def _handout(self, event: ev.HandoutRequested | ev.HandoutPrinted) -> list[Effect]:
        s = self.session
        guide = s.health_book
        if guide is None:
            return []
        if isinstance(event, ev.HandoutPrinted):
            state = "printed" if event.result.printed else "failed"
            self.session = replace(s, health_book=replace(guide, handout=state))
            return [CountEvent(f"health_book.handout.{state}")]
        if guide.handout == "printing":
            return []  # one slip at a time: a double tap must not print twice
        self.session = replace(s, health_book=replace(guide, handout="printing"))
        return [PrintHandout(s.id, guide.handout_section, guide.bhyt_number)]

    def _finish_health_book(self, completed: bool, now: float) -> list[Effect]:
        self._go(Step.DONE, now, health_book=None)
        metric = "health_book.completed" if completed else "health_book.not_completed"
        return [CountEvent(metric), CountEvent("journey.completed")]

    def _in_error(self, event: ev.Event, now: float) -> list[Effect]:
        s = self.session
        if isinstance(event, ev.QrScanned) and s.error in (
                "reader_unplugged", "card_unreadable", "key_rejected"):
            self._go(Step.NEED_KEY, now, error=None)
            return self._identity_from_qr(event, now) or []
        if isinstance(event, ev.Continue | ev.Cancelled):
            return self._reset(now)
        return []

