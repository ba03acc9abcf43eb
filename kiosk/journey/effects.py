"""Effects the journey asks for; a runner carries them out through the ports."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from kiosk.domain.appointment import Appointment
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
    | CountEvent | FindAppointments | CheckIn
)
