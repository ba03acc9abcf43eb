"""The one interface every HIS adapter implements (simulator, FHIR, GNU Health, REST).

The sync daemon calls these with data from a stored registration. Writes must
be idempotent on the HIS side: the outbox delivers at least once, so a
retried `create_visit` for the same `registration_id` must not create a
second visit.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Protocol

from kiosk.domain.appointment import Appointment


class HisError(Exception):
    """A failed HIS call. `transient` errors are retried with backoff; others go to the
    dead-letter state after the first attempt (a 4xx will not fix itself)."""

    def __init__(self, message: str, *, transient: bool, status: int | None = None) -> None:
        super().__init__(message)
        self.transient = transient
        self.status = status  # the HTTP status, when the HIS answered with an error


class HisUnavailable(HisError):
    """The HIS could not be reached or is overloaded (connection refused/reset, timeout,
    502/503/504): nothing says this registration is at fault. The sync daemon backs off
    for the whole queue and does not count the attempt against the item while the HIS
    has not been seen working recently."""

    def __init__(self, message: str) -> None:
        super().__init__(message, transient=True)


@dataclass(frozen=True)
class HisPatient:
    id_number: str | None  # 12-digit CCCD
    full_name: str
    date_of_birth: dt.date | int | None  # int: year only
    sex: str | None  # "Nam" / "Nữ"
    residence: str | None
    bhyt_card: str | None
    bhyt_valid_from: dt.date | None = None
    bhyt_valid_to: dt.date | None = None
    bhyt_facility: str | None = None  # registered primary facility (maDKBD)


@dataclass(frozen=True)
class HisVisit:
    registration_id: str  # the idempotency key on the HIS side
    service_code: str
    service_name: str
    department: str
    room: str
    queue_number: str
    created_at: dt.datetime  # timezone-aware
    insurance_outcome: str  # usable / warning / not_usable / unavailable / misconfigured
    bhyt_card: str | None
    # The face check's status (kiosk.domain.biometric), None when not configured.
    biometric: str | None = None


@dataclass(frozen=True)
class HisService:
    code: str
    name: str
    room: str
    department: str
    fee: int | None = None


class HisAdapter(Protocol):
    name: str

    def find_or_create_patient(self, patient: HisPatient) -> str:
        """The HIS's patient reference, found by CCCD (or BHYT card), created if absent."""
        ...

    def create_visit(self, patient_ref: str, visit: HisVisit) -> str:
        """The HIS's visit/appointment reference; idempotent per `visit.registration_id`."""
        ...

    def catalogue(self) -> list[HisService]:
        """Departments/services the HIS offers (may be empty: then configuration rules)."""
        ...

    def update_insurance(self, visit_ref: str, visit: HisVisit) -> str:
        """Set `visit.insurance_outcome` (learnt by a deferred BHYT re-check) on the visit
        `create_visit` answered `visit_ref` for; idempotent. Returns `visit_ref`, or
        NOT_RECORDED when this HIS has nowhere to keep it (staff see it on the kiosk)."""
        ...

    def find_appointments(self, patient: HisPatient, start: dt.datetime, end: dt.datetime
                          ) -> list[Appointment]:
        """The patient's appointments from `start` to `end` that can still be checked in
        (not cancelled, not already arrived). Read-only; `HisUnavailable` when down."""
        ...

    def check_in(self, appointment: Appointment, visit: HisVisit) -> str:
        """Mark `appointment` arrived and open its visit; idempotent per
        `visit.registration_id` (an appointment already arrived is not an error).
        Returns the visit's reference."""
        ...


NOT_RECORDED = "not-recorded"
