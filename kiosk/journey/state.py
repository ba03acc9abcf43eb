"""The journey's state: which screen the patient is on and what the session holds."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from kiosk.domain.appointment import Appointment
from kiosk.domain.biometric import Biometric
from kiosk.domain.identity import Identity
from kiosk.domain.insurance import InsuranceResult
from kiosk.domain.registration import PrintResult, Registration, ServiceOption
from kiosk.journey.effects import AccessKey
from kiosk.journey.health_book import Guide


class Step(StrEnum):
    IDLE = "idle"  # attract screen: tap your card or show a QR
    NEED_KEY = "need_key"  # card on reader (or screen touched): show QR or type the number
    READING_CHIP = "reading_chip"
    CONFIRM_IDENTITY = "confirm_identity"
    CHECKING_INSURANCE = "checking_insurance"
    INSURANCE_RESULT = "insurance_result"
    FINDING_APPOINTMENTS = "finding_appointments"  # the HIS still looking (≤ its budget)
    APPOINTMENT = "appointment"  # "Bạn có lịch hẹn khám lại hôm nay…": check in, or not
    CHOOSE_SERVICE = "choose_service"
    CONFIRM_SERVICE = "confirm_service"
    REGISTERING = "registering"
    TICKET = "ticket"
    FACE_CONSENT = "face_consent"  # the words on biometrics before the camera looks
    FACE_MATCH = "face_match"  # live camera view and oval: "Nhìn vào camera"
    FACE_DESK = "face_desk"  # not verified: kindly, see the reception desk
    HEALTH_BOOK_OFFER = "health_book_offer"
    HEALTH_BOOK = "health_book"
    DONE = "done"
    ERROR = "error"


ErrorKind = Literal[
    "reader_unplugged", "card_unreadable", "verification_failed", "registration_failed",
    "no_services", "key_rejected",
]
NoticeKind = Literal[
    "qr_unknown", "qr_rejected", "wrong_key", "bad_id_number", "card_removed",
    "service_closed", "chip_fallback_qr", "card_not_yours", "appointment_unavailable",
    "appointment_not_found", "slip_seen", "face_retry",
]


@dataclass(frozen=True)
class Notice:
    """A non-blocking message on the current screen (never a raw code)."""

    kind: NoticeKind
    message_vi: str
    message_en: str


@dataclass(frozen=True)
class Session:
    id: int = 0
    token: str = ""  # unique per session; seeds idempotency keys
    step: Step = Step.IDLE
    last_activity: float = 0.0
    step_entered: float = 0.0
    idle_warning: bool = False
    card_present: bool = False
    # The card on the reader was put there during this session (or started it). A card
    # left from an earlier session is only read after the patient claims it.
    card_fresh: bool = False
    reader_ok: bool = True
    key: AccessKey | None = None
    identity: Identity | None = None
    qr_identity: Identity | None = None  # kept as fallback while the chip is read
    chip_attempts: int = 0
    insurance: InsuranceResult | None = None
    services: tuple[ServiceOption, ...] | None = None
    service_code: str | None = None
    registration: Registration | None = None
    print_result: PrintResult | None = None
    error: ErrorKind | None = None
    notice: Notice | None = None
    health_book: Guide | None = None  # the guide's position (HEALTH_BOOK step)
    ticket_ready: bool = False  # the number has been on screen long enough to move on
    # Today's follow-up appointments: None while the HIS is asked (or not asked at all:
    # `appointments_asked`), () when there are none or the HIS did not answer in time.
    appointments: tuple[Appointment, ...] | None = None
    appointments_asked: bool = False
    appointments_unavailable: bool = False
    slip_ref: str | None = None  # an appointment slip's QR shown (confirmed by identity)
    slip_missed: bool = False  # the slip's appointment is not among the patient's today
    biometric: Biometric | None = None  # the face check's outcome (issue 29)
    face_attempts: int = 0

    @property
    def card_usable(self) -> bool:
        return self.card_present and self.card_fresh and self.reader_ok

    @property
    def remind_card(self) -> bool:
        """The patient has their number and is about to leave: the card is still on
        the reader ("take your card" until it is lifted or the session ends)."""
        after_ticket = (Step.TICKET, Step.HEALTH_BOOK_OFFER, Step.HEALTH_BOOK, Step.DONE)
        return self.card_present and self.step in after_ticket and (
            self.step is not Step.TICKET or self.print_result is not None)

    @property
    def chosen_service(self) -> ServiceOption | None:
        if self.services is None or self.service_code is None:
            return None
        return next((s for s in self.services if s.code == self.service_code), None)

    @property
    def busy_with_promise(self) -> bool:
        """Between "register" and the printed (or failed) ticket the session must not be
        wiped: the patient is owed a number even if they step away."""
        return self.step is Step.REGISTERING or (
            self.step is Step.TICKET and self.print_result is None
        )
