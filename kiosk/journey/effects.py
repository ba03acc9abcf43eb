"""Effects the journey asks for; a runner carries them out through the ports."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from kiosk.domain.appointment import Appointment
from kiosk.domain.biometric import Biometric
from kiosk.domain.identity import Identity
from kiosk.domain.insurance import InsuranceResult
from kiosk.domain.registration import Registration
from kiosk.journey.health_book import Node


@dataclass(frozen=True)
class AccessKey:
    """What opens the chip: the CAN (preferred), or BAC data derived from a QR."""

    can: str
    id_number: str | None = None  # for BAC: document number = last 9 digits
    date_of_birth: str | None = None  # ISO
    issue_date: str | None = None  # ISO; expiry follows the renewal-age rule


@dataclass(frozen=True)
class ReadChip:
    session: int
    key: AccessKey


@dataclass(frozen=True)
class CheckInsurance:
    session: int
    identity: Identity


@dataclass(frozen=True)
class LoadServices:
    session: int
    date_of_birth: dt.date | int | None = None  # services with age limits need it


@dataclass(frozen=True)
class Register:
    session: int
    identity: Identity
    insurance: InsuranceResult
    service_code: str
    idempotency_key: str  # one per session+service: a retried effect never registers twice
    biometric: Biometric | None = None  # the face check's outcome (None: not configured)


@dataclass(frozen=True)
class PrepareFace:
    """Describe the chip's photo while the patient reads the consent words, so the
    decision after "I agree" only pays for the camera frames."""

    session: int
    photo: bytes = field(repr=False)


@dataclass(frozen=True)
class CheckFace:
    """Compare the live camera with the chip's photo (in memory only, decision 0163)."""

    session: int
    photo: bytes = field(repr=False)


@dataclass(frozen=True)
class FindAppointments:
    """Today's follow-up appointments of the confirmed patient (within a budget)."""

    session: int
    identity: Identity


@dataclass(frozen=True)
class CheckIn:
    """Durably check in `appointment` (one per appointment per day: a retry, or the
    patient coming back, gets the same ticket)."""

    session: int
    identity: Identity
    insurance: InsuranceResult
    appointment: Appointment
    biometric: Biometric | None = None  # the face check's outcome (None: not configured)


@dataclass(frozen=True)
class PrintTicket:
    session: int
    registration: Registration


@dataclass(frozen=True)
class PrintHandout:
    """The health-book slip: steps of `section`, the BHYT number, the hospital's QR."""

    session: int
    section: Node
    card_number: str | None


@dataclass(frozen=True)
class CountEvent:
    """Anonymous statistic (no personal data): e.g. "journey.started"."""

    metric: str


Effect = (
    ReadChip | CheckInsurance | LoadServices | Register | PrintTicket | PrintHandout
    | CountEvent | FindAppointments | CheckIn | CheckFace | PrepareFace
)
