"""Follow-up appointments for the journey and the CLI (`AppointmentPort`).

`find` asks the configured HIS for today's appointments within the lookup
budget (`appointments.lookup_budget_s`, 1.5 s): a HIS that is down or slower
than that is "unavailable" and the patient walks in as usual. The adapter
used for lookups has its HTTP timeout cut to the budget, so an abandoned call
ends soon after the patient has moved on.

`check_in` writes the check-in durably through `RegistrationService.check_in`
(local SQLite first, its HIS delivery in the same transaction via the outbox);
the sync daemon then marks the appointment arrived in the HIS, exactly once.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

from kiosk.config import Config
from kiosk.domain.appointment import Appointment, todays, window
from kiosk.domain.biometric import Biometric
from kiosk.domain.identity import Identity
from kiosk.domain.insurance import InsuranceResult
from kiosk.domain.queue import queue_day
from kiosk.domain.registration import Registration
from kiosk.journey.ports import AppointmentsUnavailable
from kiosk.services.his.base import HisAdapter, HisError, HisPatient
from kiosk.services.registration import (
    RegistrationService,
    effective_services,
    patient_key,
)

log = logging.getLogger(__name__)


def lookup_config(config: Config) -> Config:
    """The configuration with the HIS's HTTP timeout cut to the lookup budget."""
    settings = dict(config.his.settings)
    budget = config.appointments.lookup_budget_s
    settings["timeout_s"] = min(float(settings.get("timeout_s", budget)), budget)
    return dataclasses.replace(config, his=dataclasses.replace(config.his, settings=settings))


def his_patient(identity: Identity) -> HisPatient:
    return HisPatient(id_number=identity.id_number, full_name=identity.full_name,
                      date_of_birth=identity.date_of_birth, sex=identity.sex,
                      residence=identity.residence, bhyt_card=identity.bhyt_card)


class AppointmentDesk:
    """The `AppointmentPort` over one HIS adapter (made on first use, reused)."""

    def __init__(self, config: Config, registrations: RegistrationService,
                 adapter: Callable[[], HisAdapter], *,
                 now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)) -> None:
        self.config = config
        self.registrations = registrations
        self._make_adapter = adapter
        self._adapter: HisAdapter | None = None
        self._lock = threading.Lock()
        self.now = now
        # One worker: a call abandoned after the budget finishes before the next starts
        # (the adapter's connection is not shared between threads).
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="appointments")

    def warm(self) -> Future[None]:
        """Make the adapter and let it log in, in the background: the first patient's
        lookup should not pay for the HIS session (a GNU Health login is a password
        check on the server)."""
        def ready() -> None:
            try:
                with self._lock:
                    if self._adapter is None:
                        self._adapter = self._make_adapter()
                    warm = getattr(self._adapter, "warm", None)
                    if callable(warm):
                        warm()
            except Exception as exc:  # the first lookup will say so, within its budget
                log.warning("appointment lookup warm-up failed: %s", type(exc).__name__)

        return self._pool.submit(ready)

    def stop(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        with self._lock:
            close = getattr(self._adapter, "close", None)
            if callable(close):
                close()
            self._adapter = None

    def find(self, identity: Identity) -> tuple[Appointment, ...]:
        now = self.now()
        start, end = window(now, self.config.facility.timezone,
                            self.config.appointments.window_before_h)
        job: Future[list[Appointment]] = self._pool.submit(self._find, identity, start, end)
        # Already checked in here today: offered again, so a second visit to the kiosk
        # shows the same ticket (the HIS no longer lists an arrived appointment).
        mine = self._checked_in_today(identity, now)
        try:
            found = job.result(timeout=self.config.appointments.lookup_budget_s)
        except FutureTimeout:
            log.warning("appointment lookup: no answer within %.1f s",
                        self.config.appointments.lookup_budget_s)
            if mine:
                return mine
            raise AppointmentsUnavailable("the HIS did not answer in time") from None
        except HisError as exc:
            log.warning("appointment lookup failed: %s", type(exc).__name__)
            if mine:
                return mine
            raise AppointmentsUnavailable(type(exc).__name__) from None
        return mine + tuple(self._complete(a) for a in todays(found, start, end)
                            if a.ref not in {m.ref for m in mine})

    def find_ref(self, identity: Identity, ref: str) -> Appointment | None:
        """The appointment an appointment slip's QR names, if it is this patient's
        and today's (the slip alone proves nothing)."""
        return next((a for a in self.find(identity) if a.ref == ref), None)

    def check_in(self, identity: Identity, insurance: InsuranceResult,
                 appointment: Appointment, biometric: Biometric | None = None
                 ) -> Registration:
        return self.registrations.check_in(identity, insurance, appointment, biometric)

    def _checked_in_today(self, identity: Identity, now: dt.datetime
                          ) -> tuple[Appointment, ...]:
        rows = self.registrations.db.execute(
            "SELECT appointment_json FROM registrations WHERE appointment_json IS NOT NULL "
            "AND queue_day = ? AND patient_key = ? ORDER BY created_at",
            [queue_day(now, self.config.facility.timezone), patient_key(identity)]).fetchall()
        return tuple(Appointment.from_json(json.loads(r[0])) for r in rows)

    def _find(self, identity: Identity, start: dt.datetime, end: dt.datetime
              ) -> list[Appointment]:
        with self._lock:
            if self._adapter is None:
                self._adapter = self._make_adapter()
            return self._adapter.find_appointments(his_patient(identity), start, end)

    def _complete(self, appointment: Appointment) -> Appointment:
        """A HIS that names no room or service (GNU Health has no rooms): the configured
        service of the same department says where to go."""
        if appointment.room and appointment.service_name:
            return appointment
        service = next((s for s in effective_services(self.config, self.registrations.db)
                        if s.department == appointment.department), None)
        if service is None:
            return appointment
        return dataclasses.replace(appointment, room=appointment.room or service.room,
                                   service_name=appointment.service_name or service.name)
