"""Ports: what the journey needs from the outside world, as interfaces.

Adapters in `kiosk.services` (and simulators for the demo) implement these;
a runner calls them for the journey's effects and turns results into events.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from kiosk.domain.appointment import Appointment
from kiosk.domain.biometric import Biometric, FaceCheckResult
from kiosk.domain.identity import Identity, Verification
from kiosk.domain.insurance import InsuranceResult
from kiosk.domain.registration import PrintResult, Registration, ServiceOption
from kiosk.journey.effects import AccessKey
from kiosk.journey.events import ChipFailure
from kiosk.journey.health_book import Node


class ChipReadError(Exception):
    def __init__(self, reason: ChipFailure, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason: ChipFailure = reason
        self.detail = detail


@dataclass(frozen=True)
class ChipChecks:
    """How a chip read ended once every check finished (decision 0110)."""

    verification: Verification
    photo_jpeg: bytes | None = field(default=None, repr=False)


class IdentityPort(Protocol):
    def read_chip(self, key: AccessKey, on_identity: Callable[[Identity], None]) -> ChipChecks:
        """Read the chip with `key`. Calls `on_identity` as soon as the identity is read
        (verification "chip_pending": shown early, not verified yet), then reads the photo
        and finishes every check. Raises `ChipReadError` when no identity could be had or,
        after `on_identity`, when a check failed or the read broke off: either way the
        identity delivered early never becomes verified."""
        ...


class InsurancePort(Protocol):
    def check(self, identity: Identity) -> InsuranceResult:
        """Never raises for gateway trouble: returns an `unavailable` result instead."""
        ...


class RegistrationPort(Protocol):
    def services(self, now: dt.datetime, date_of_birth: dt.date | int | None = None
                 ) -> tuple[ServiceOption, ...]:
        """The services this patient can register for now."""
        ...

    def register(
        self, identity: Identity, insurance: InsuranceResult, service_code: str,
        idempotency_key: str, biometric: Biometric | None = None,
    ) -> Registration:
        """Durably record the registration (and queue its HIS sync) before returning."""
        ...


class AppointmentsUnavailable(Exception):
    """The HIS did not say, within the lookup's budget, what appointments there are."""


class AppointmentPort(Protocol):
    def find(self, identity: Identity) -> tuple[Appointment, ...]:
        """Today's follow-up appointments still to check in, earliest first. Raises
        `AppointmentsUnavailable` when the HIS is down or slower than the budget."""
        ...

    def check_in(self, identity: Identity, insurance: InsuranceResult,
                 appointment: Appointment, biometric: Biometric | None = None
                 ) -> Registration:
        """Durably record the check-in (and queue its HIS delivery) before returning;
        the same appointment checked in again returns the first check-in."""
        ...


class PrinterPort(Protocol):
    def print_ticket(self, registration: Registration) -> PrintResult: ...


class HandoutPort(Protocol):
    def print_handout(self, section: Node, card_number: str | None) -> PrintResult:
        """Render and print the health-book slip (or save it where tickets go)."""
        ...


class FacePort(Protocol):
    def prepare(self, photo: bytes) -> None:
        """Describe `photo` ahead of `check` (kept in memory for a short while only)."""
        ...

    def check(self, photo: bytes) -> FaceCheckResult:
        """One decision: the live camera against `photo` (the chip's, in memory), within
        the configured budget. Keeps nothing (decision 0163)."""
        ...


class StatisticsPort(Protocol):
    def count(self, metric: str) -> None: ...
