"""Events the journey receives: from devices, services (effect results) and the patient.

Results of effects carry the `session` they were started for; a result that
arrives after the session ended (the patient walked away) is ignored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from kiosk.domain.appointment import Appointment
from kiosk.domain.biometric import FaceCheckResult
from kiosk.domain.identity import Identity, Verification
from kiosk.domain.insurance import InsuranceResult
from kiosk.domain.qr_payload import QrPayload
from kiosk.domain.registration import PrintResult, Registration, ServiceOption
from kiosk.journey.health_book import Answer

ChipFailure = Literal[
    "access_denied",  # wrong CAN/MRZ key (6300)
    "card_removed",  # lifted mid-read
    "unreadable",  # protocol/transmission errors
    "reader_unplugged",
    "verification_failed",  # a check failed (hash, signature, active auth): clone or forgery
]


# --- devices -----------------------------------------------------------------
@dataclass(frozen=True)
class CardPlaced:
    pass


@dataclass(frozen=True)
class CardRemoved:
    pass


@dataclass(frozen=True)
class QrScanned:
    payload: QrPayload


@dataclass(frozen=True)
class QrRejected:
    """A QR with the shape of a card that breaks its rules (damaged or forged)."""

    reason: str


@dataclass(frozen=True)
class SlipScanned:
    """The hospital's appointment-slip QR (its configured format) naming `ref`; the
    appointment is still confirmed against the patient's own identity."""

    ref: str


@dataclass(frozen=True)
class ReaderUnplugged:
    pass


# --- effect results --------------------------------------------------------------
@dataclass(frozen=True)
class ChipRead:
    session: int
    identity: Identity


@dataclass(frozen=True)
class ChipChecked:
    """Every check of the chip read finished and passed: its final verification level
    and the photo. Until this arrives a chip identity is "chip_pending"."""

    session: int
    verification: Verification
    photo_jpeg: bytes | None = field(default=None, repr=False)


@dataclass(frozen=True)
class ChipFailed:
    session: int
    reason: ChipFailure


@dataclass(frozen=True)
class InsuranceChecked:
    session: int
    result: InsuranceResult


@dataclass(frozen=True)
class ServicesLoaded:
    session: int
    services: tuple[ServiceOption, ...]


@dataclass(frozen=True)
class AppointmentsFound:
    """Today's appointments; `available` False when the HIS did not answer in time."""

    session: int
    appointments: tuple[Appointment, ...]
    available: bool = True


@dataclass(frozen=True)
class Registered:
    session: int
    registration: Registration


@dataclass(frozen=True)
class RegistrationFailed:
    session: int
    reason: str


@dataclass(frozen=True)
class TicketPrinted:
    session: int
    result: PrintResult


# --- the patient -------------------------------------------------------------------
@dataclass(frozen=True)
class FaceChecked:
    session: int
    result: FaceCheckResult


@dataclass(frozen=True)
class FaceConsented:
    """The patient agreed, on the consent screen, to the camera looking."""


@dataclass(frozen=True)
class FaceDeclined:
    pass


@dataclass(frozen=True)
class Touched:
    """Any touch: keeps the session alive, dismisses the idle warning."""


@dataclass(frozen=True)
class IdNumberTyped:
    """12 digits typed on the keypad: gives the chip's CAN."""

    id_number: str


@dataclass(frozen=True)
class CardClaimed:
    """"This card is mine": the card already on the reader when this session began
    (left by someone else, perhaps) may be read for this patient."""


@dataclass(frozen=True)
class IdentityConfirmed:
    pass


@dataclass(frozen=True)
class IdentityRejected:
    pass


@dataclass(frozen=True)
class Continue:
    """"Tiếp tục" on an informational screen (insurance result, ticket, error)."""


@dataclass(frozen=True)
class ServiceChosen:
    code: str


@dataclass(frozen=True)
class RegistrationConfirmed:
    pass


@dataclass(frozen=True)
class AppointmentChosen:
    """"Check in for this appointment": a tile of the list names it; the big button
    (shown only when there is one) does not need to."""

    ref: str | None = None


@dataclass(frozen=True)
class AppointmentDeclined:
    """"Khám dịch vụ khác": a different service today, as a walk-in."""


@dataclass(frozen=True)
class Back:
    pass


@dataclass(frozen=True)
class Cancelled:
    pass


@dataclass(frozen=True)
class HealthBookStarted:
    pass


@dataclass(frozen=True)
class HealthBookSkipped:
    pass


@dataclass(frozen=True)
class HealthBookAnswered:
    """A tap in the health-book guide (yes/no/next…; see `journey.health_book`)."""

    answer: Answer


@dataclass(frozen=True)
class HandoutRequested:
    """"In hướng dẫn" in the health-book guide."""


@dataclass(frozen=True)
class HandoutPrinted:
    session: int
    result: PrintResult


@dataclass(frozen=True)
class HealthBookFinished:
    completed: bool  # self-reported


@dataclass(frozen=True)
class Tick:
    """Time passes (the UI clock); drives timeouts."""


Event = (
    CardPlaced | CardRemoved | QrScanned | QrRejected | SlipScanned | ReaderUnplugged
    | ChipRead | ChipChecked | ChipFailed | InsuranceChecked | ServicesLoaded
    | AppointmentsFound | AppointmentChosen | AppointmentDeclined
    | Registered | RegistrationFailed | TicketPrinted
    | Touched | IdNumberTyped | CardClaimed | IdentityConfirmed | IdentityRejected | Continue
    | ServiceChosen | RegistrationConfirmed | Back | Cancelled
    | HealthBookStarted | HealthBookSkipped | HealthBookAnswered | HandoutRequested
    | HandoutPrinted | HealthBookFinished | Tick
    | FaceChecked | FaceConsented | FaceDeclined
)
