"""Registrations: the service catalogue, queue numbers and the durable record.

`RegistrationService` implements the journey's `RegistrationPort`. One
`BEGIN IMMEDIATE` transaction allocates the department's next queue number
for the facility-local day, inserts the registration and its outbox row:
either all three are on disk (WAL, synchronous=FULL) before the ticket
prints, or none is. The write lock taken up front makes the counter
read-modify-write atomic across processes, so numbers are unique and
gap-free (a rolled-back transaction gives its number back).

With a `[lobby]`, the number comes from the shared PostgreSQL sequence instead,
taken *before* the local transaction (decision 0071): the ticket prints only
after the local commit, so every printed number is one the lobby handed to this
registration alone; a crash in between leaves a taken number that the sync
daemon records as void. When the lobby does not answer within its budget, the
kiosk issues an offline number (`A-K3-007`, its own counter) that can meet no
shared number and no other kiosk's.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import logging
import re
import sqlite3
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal, Protocol

import sqlite_utils

from kiosk.config import Config
from kiosk.config.model import ServiceConfig
from kiosk.domain.appointment import Appointment
from kiosk.domain.biometric import Biometric
from kiosk.domain.dates import iso
from kiosk.domain.identity import Identity
from kiosk.domain.insurance import InsuranceResult
from kiosk.domain.queue import (
    format_offline_number,
    format_queue_number,
    is_open,
    local_now,
    queue_day,
)
from kiosk.domain.registration import Registration, ServiceOption, SyncState
from kiosk.domain.text import mask_id, mask_name, nfc
from kiosk.services import outbox
from kiosk.services.bhxh.checkin import needs_checkin
from kiosk.services.bhxh.recheck import needs_recheck
from kiosk.services.holdings import holder, identity_basis
from kiosk.store import bump_statistic, transaction

if TYPE_CHECKING:
    from kiosk.lobby.client import SharedNumber

log = logging.getLogger(__name__)

Source = Literal["local", "lobby", "offline"]
OFFLINE_COUNTER = "{department}#offline"  # queue_counters key of the offline numbers
APPOINTMENT_SERVICE = "HEN"  # service_code of a follow-up appointment's check-in
APPOINTMENT_QUEUE = "hen:"  # department prefix: appointments have their own numbers
APPOINTMENT_METRIC = "appointment.checked_in"


class SharedNumbers(Protocol):
    """The lobby's shared sequence (`kiosk.lobby.client.LobbyClient`)."""

    def take_number(self, department: str, reg_ref: str) -> tuple[str, int]:
        """(day, seq): the day is the lobby server's, in the facility's time zone."""
        ...

    def take_number_once(self, department: str, reg_ref: str, holder: bytes
                         ) -> SharedNumber:
        """The number the lobby already holds for `holder` today, or a new one."""
        ...


class RegistrationError(ValueError):
    """The registration cannot be made as asked (unknown or closed service, bad data)."""


def effective_services(config: Config, db: sqlite_utils.Database | None = None
                       ) -> tuple[ServiceConfig, ...]:
    """The configured services; with `his.use_his_catalogue`, name, room and fee
    as the HIS's own list (fetched by the sync daemon) says. Prefix, hours and the
    department a queue belongs to always come from the configuration."""
    if db is None or not config.his.use_his_catalogue:
        return config.services
    try:
        rows = db.execute("SELECT code, name, room, fee FROM his_catalogue").fetchall()
    except sqlite3.Error:
        return config.services
    his = {code: (name, room, fee) for code, name, room, fee in rows}
    return tuple(
        dataclasses.replace(s, name=his[s.code][0] or s.name, room=his[s.code][1] or s.room,
                            fee=s.fee if his[s.code][2] is None else int(his[s.code][2]))
        if s.code in his else s
        for s in config.services
    )


def service_for(config: Config, code: str, db: sqlite_utils.Database | None = None
                ) -> ServiceConfig | None:
    return next((s for s in effective_services(config, db) if s.code == code), None)


def catalogue(config: Config, now: dt.datetime, db: sqlite_utils.Database | None = None
              ) -> tuple[ServiceOption, ...]:
    """Services with `open` decided by their hours in facility local time."""
    local = local_now(now, config.facility.timezone)
    return tuple(
        ServiceOption(s.code, s.name, s.name_en, s.room, s.department, s.fee, s.icon,
                      is_open(s.hours, local), s.ages, s.room_en)
        for s in effective_services(config, db)
    )


def patient_key(identity: Identity) -> str:
    """Groups one patient's registrations so the outbox keeps their order. Hashed so the
    outbox holds no identifier; replaced by the registration id on purge."""
    return hashlib.sha256(identity_basis(identity).encode()).hexdigest()[:32]


# This patient's registration of a service on a queue day (decision 0140).
_HELD_SQL = ("SELECT id FROM registrations WHERE patient_key = ? AND service_code = ? "
             "AND queue_day = ? AND purged_at IS NULL ORDER BY created_at LIMIT 1")


class _AlreadyHeld(Exception):
    """Raised inside the numbering transaction: another process of this kiosk numbered
    this patient for this service today meanwhile."""

    def __init__(self, registration_id: str) -> None:
        super().__init__(registration_id)
        self.registration_id = registration_id


class RegistrationService:
    """The `RegistrationPort` over the kiosk's SQLite database."""

    def __init__(self, db: sqlite_utils.Database, config: Config, *,
                 now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
                 lobby: SharedNumbers | None = None) -> None:
        self.db = db
        self.config = config
        self.now = now
        self.lobby = lobby

    def services(self, now: dt.datetime, date_of_birth: dt.date | int | None = None
                 ) -> tuple[ServiceOption, ...]:
        """Open services this patient may register for (a 62-year-old is not offered
        the children's clinic)."""
        today = local_now(now, self.config.facility.timezone).date()
        return tuple(s for s in catalogue(self.config, now, self.db)
                     if s.open and (s.ages is None or s.ages.admits(date_of_birth, today)))

    def register(self, identity: Identity, insurance: InsuranceResult, service_code: str,
                 idempotency_key: str, biometric: Biometric | None = None) -> Registration:
        existing = self.find_by_key(idempotency_key)
        if existing is not None:  # a retried effect or CLI call: the same registration
            return existing
        service = service_for(self.config, service_code, self.db)
        if service is None:
            raise RegistrationError(f"unknown service {service_code!r}")
        now = self.now()
        held = self.held_today(identity, service.code, now)
        if held is not None:  # one patient, one number per service and day
            log.info("%s already holds %s for %s today: shown again",
                     mask_id(identity.id_number), held.queue_number, service.code)
            return dataclasses.replace(held, repeat=True)
        local = local_now(now, self.config.facility.timezone)
        if not is_open(service.hours, local):
            raise RegistrationError(f"service {service_code!r} is closed now ({service.hours})")
        if service.ages is not None and not service.ages.admits(identity.date_of_birth,
                                                                local.date()):
            raise RegistrationError(f"service {service_code!r} is for ages {service.ages}")
        if not identity.full_name.strip():
            raise RegistrationError("the patient's name is empty")
        reg_id = uuid.uuid4().hex
        key = self.config.lobby.holding_key if self.config.lobby else ""
        if self.lobby is not None and key:
            source, shared, elsewhere = self._shared_number_once(
                service, now, reg_id, identity, insurance, key)
            if elsewhere is not None:
                return elsewhere
        else:
            source, shared = self._shared_number(service, now, reg_id)
        try:
            number = self._insert(reg_id, identity, insurance, service, idempotency_key, now,
                                  source, shared, biometric=biometric, once=True)
        except _AlreadyHeld as raced:
            return self._raced(raced, identity, service.code)
        except sqlite3.IntegrityError:
            # Another process committed the same idempotency key between our lookup and
            # our write lock: theirs stands.
            again = self.find_by_key(idempotency_key)
            if again is not None:
                return again
            if source != "lobby":
                raise
            # A shared number this file already holds (the kiosk numbered locally earlier
            # today): never print it twice; the lobby's copy is voided by the sync daemon.
            log.warning("shared number %s of %s already used here; issuing offline",
                        shared, service.department)
            source = "offline"
            try:
                number = self._insert(reg_id, identity, insurance, service, idempotency_key,
                                      now, source, None, biometric=biometric, once=True)
            except _AlreadyHeld as raced:
                return self._raced(raced, identity, service.code)
        log.info("registered %s %s for %s (%s)", reg_id, number, service.code,
                 mask_id(identity.id_number))
        found = self.get(reg_id)
        assert found is not None
        return found

    def check_in(self, identity: Identity, insurance: InsuranceResult,
                 appointment: Appointment, biometric: Biometric | None = None
                 ) -> Registration:
        """Durably record a follow-up appointment's check-in (its HIS delivery queued
        in the same transaction, as a registration). One per appointment per day:
        checking in again gives the first check-in back, never a second visit."""
        now = self.now()
        day = queue_day(now, self.config.facility.timezone)
        key = f"appointment:{appointment.ref}:{day}"
        existing = self.find_by_key(key)
        if existing is not None:
            return existing
        if not identity.full_name.strip():
            raise RegistrationError("the patient's name is empty")
        settings = self.config.appointments
        department = appointment.department or "_"
        service = ServiceConfig(
            code=APPOINTMENT_SERVICE, name=appointment.service_name,
            name_en=appointment.service_name, room=appointment.room,
            department=f"{APPOINTMENT_QUEUE}{department}",
            prefix=settings.prefix_for(department))
        reg_id = uuid.uuid4().hex
        # With a lobby, appointment numbers come from its shared sequence too (one
        # "hen:<department>" queue for all the lobby's kiosks).
        source, shared = self._shared_number(service, now, reg_id)
        try:
            self._insert(reg_id, identity, insurance, service, key, now, source, shared,
                         appointment=appointment, biometric=biometric)
        except sqlite3.IntegrityError:
            again = self.find_by_key(key)  # another process checked it in meanwhile
            if again is not None:
                return again
            if source != "lobby":
                raise
            # A shared number this file already holds: offline instead, as `register`.
            self._insert(reg_id, identity, insurance, service, key, now, "offline", None,
                         appointment=appointment, biometric=biometric)
        log.info("checked in appointment %s as %s (%s)", mask_id(appointment.ref), reg_id,
                 mask_id(identity.id_number))
        found = self.get(reg_id)
        assert found is not None
        return found

    def _shared_number(self, service: ServiceConfig, now: dt.datetime, reg_id: str
                       ) -> tuple[Source, tuple[str, int] | None]:
        """The lobby's next number and its (server's) day, or "offline" when it cannot
        give one in time or refuses this kiosk another one this minute."""
        if self.lobby is None:
            return "local", None
        from kiosk.lobby.client import LobbyError, LobbyRateLimited, LobbyRefused

        try:
            return "lobby", self.lobby.take_number(service.department, reg_id)
        except LobbyError as exc:
            # The patient sees a normal ticket; staff see the kiosk's id in the number.
            why = ("refused" if isinstance(exc, LobbyRefused | LobbyRateLimited)
                   else "unavailable")
            log.warning("lobby database %s (%s): offline queue number", why, exc)
            return "offline", None

    def _raced(self, raced: _AlreadyHeld, identity: Identity, service_code: str
               ) -> Registration:
        """Another process of this kiosk numbered this patient first: theirs stands (a
        shared number taken here is left unsettled, and voided by the sync daemon)."""
        log.info("%s was numbered for %s by another process meanwhile: shown again",
                 mask_id(identity.id_number), service_code)
        found = self.get(raced.registration_id)
        assert found is not None
        return dataclasses.replace(found, repeat=True)

    def _shared_number_once(self, service: ServiceConfig, now: dt.datetime, reg_id: str,
                            identity: Identity, insurance: InsuranceResult, key: str
                            ) -> tuple[Source, tuple[str, int] | None, Registration | None]:
        """As `_shared_number`, asking the lobby first whether any of its kiosks already
        numbered this patient for this service today (decision 0143): then that
        registration, shown again (no row here, no HIS visit)."""
        from kiosk.lobby.client import LobbyError, LobbyRateLimited, LobbyRefused

        assert self.lobby is not None
        day = queue_day(now, self.config.facility.timezone)
        try:
            got = self.lobby.take_number_once(service.department, reg_id,
                                              holder(key, identity, day, service.code))
        except LobbyError as exc:
            why = ("refused" if isinstance(exc, LobbyRefused | LobbyRateLimited)
                   else "unavailable")
            log.warning("lobby database %s (%s): offline queue number; one number per "
                        "patient and service checked on this kiosk only", why, exc)
            return "offline", None, None
        if got.held_by is None or got.held_ref is None:
            return "lobby", (got.day, got.seq), None
        log.info("%s already holds %s number %d for %s at kiosk %s today: shown again",
                 mask_id(identity.id_number), service.department, got.seq, service.code,
                 got.held_by)
        mine = self.get(got.held_ref) if got.held_by == self.config.kiosk_id else None
        if mine is not None:
            return "lobby", None, dataclasses.replace(mine, repeat=True)
        return "lobby", None, self._held_elsewhere(got, got.held_ref, identity, insurance,
                                                   service, now)

    def _held_elsewhere(self, got: SharedNumber, ref: str, identity: Identity,
                        insurance: InsuranceResult, service: ServiceConfig, now: dt.datetime
                        ) -> Registration:
        """The ticket of a number another kiosk of the lobby holds for this patient, as
        this kiosk would print it (the lobby's kiosks share the service list)."""
        taken = got.held_at or now
        return Registration(
            id=ref,
            queue_number=format_queue_number(self.config.facility.queue_format,
                                             service.prefix, got.seq, service.department),
            service_code=service.code, service_name=service.name,
            service_name_en=service.name_en, room=service.room,
            created_at=local_now(taken, self.config.facility.timezone),
            masked_name=mask_name(identity.full_name),
            insurance_line_vi=insurance.message_vi, insurance_line_en=insurance.message_en,
            code=registration_code(ref), room_en=service.room_en, repeat=True)

    def _insert(self, reg_id: str, identity: Identity, insurance: InsuranceResult,
                service: ServiceConfig, key: str, now: dt.datetime,
                source: Source = "local", shared: tuple[str, int] | None = None,
                appointment: Appointment | None = None,
                biometric: Biometric | None = None, once: bool = False) -> str:
        """Number and store a registration in one transaction. `once`: unless this
        patient already holds this service today (checked under the write lock: two
        processes of one kiosk cannot both number them), else `_AlreadyHeld`."""
        # A shared number belongs to the server's day (decision 0130), whatever this
        # kiosk's clock says; local and offline numbers to this kiosk's day.
        day = shared[0] if shared is not None else queue_day(now,
                                                             self.config.facility.timezone)
        pkey = patient_key(identity)
        stamp = outbox.stamp(now)
        card = insurance.card
        # The card number the gateway returned, never the CCCD it may have been asked with.
        bhyt = identity.bhyt_card or (card.new_card_number or card.card_number if card else None)
        with transaction(self.db) as conn:
            if once:
                held = conn.execute(_HELD_SQL, [pkey, service.code, queue_day(
                    now, self.config.facility.timezone)]).fetchone()
                if held is not None:
                    raise _AlreadyHeld(held[0])
            if source == "lobby":
                assert shared is not None
                seq = shared[1]
            else:
                counter = (service.department if source == "local"
                           else OFFLINE_COUNTER.format(department=service.department))
                seq = conn.execute(
                    "INSERT INTO queue_counters (department, day, last_seq) VALUES (?, ?, 1) "
                    "ON CONFLICT (department, day) DO UPDATE SET last_seq = last_seq + 1 "
                    "RETURNING last_seq", [counter, day]).fetchone()[0]
            if source == "offline":
                number = format_offline_number(service.prefix, self.config.kiosk_id, seq)
                seq = -seq  # never meets a shared number in UNIQUE (department, day, seq)
            elif appointment is not None and appointment.order_number and \
                    self.config.appointments.queue_numbers == "his":
                number = appointment.order_number  # the hospital numbers its appointments
            else:
                number = format_queue_number(self.config.facility.queue_format,
                                             service.prefix, seq, service.department)
            conn.execute(
                "INSERT INTO registrations (id, idempotency_key, created_at, kiosk_id, "
                "service_code, department, queue_day, queue_seq, queue_number, "
                "identity_source, verification, patient_key, id_number, full_name, "
                "date_of_birth, sex, residence, bhyt_card, insurance_outcome, insurance_code, "
                "insurance_json, recheck_state, queue_source, appointment_ref, appointment_json, "
                "biometric_json) "
                f"VALUES ({', '.join('?' * 26)})",
                [reg_id, key, stamp, self.config.kiosk_id, service.code, service.department,
                 day, seq, number, identity.source, identity.verification, pkey,
                 identity.id_number, nfc(identity.full_name), iso(identity.date_of_birth),
                 identity.sex, identity.residence, bhyt,
                 insurance.outcome,
                 insurance.code, json.dumps(insurance.to_json(), ensure_ascii=False),
                 "pending" if needs_recheck(insurance) else None, source,
                 appointment.ref if appointment else None,
                 json.dumps(appointment.to_json(), ensure_ascii=False) if appointment else None,
                 None if biometric is None else json.dumps(biometric.to_json())],
            )
            outbox.enqueue(conn, reg_id, outbox.HIS_CHECKIN if appointment else
                           outbox.HIS_REGISTER, pkey, now)
            if needs_checkin(self.config.bhxh.checkin, insurance.outcome):
                outbox.enqueue(conn, reg_id, outbox.BHXH_CHECKIN, outbox.checkin_key(pkey), now)
            bump_statistic(self.db, day, self.config.kiosk_id, _metric(service.department)
                           if appointment is None else appointment_metric(appointment.department))
            if source == "offline":
                bump_statistic(self.db, day, self.config.kiosk_id, "lobby.offline_number")
        return number

    # -- reading back -----------------------------------------------------------
    def held_today(self, identity: Identity, service_code: str, now: dt.datetime
                   ) -> Registration | None:
        """This patient's registration for `service_code` on today's queue, if any
        (found while its personal data is kept: `retention.personal_data_hours`)."""
        row = self.db.execute(_HELD_SQL, [patient_key(identity), service_code,
                                          queue_day(now, self.config.facility.timezone)]
                              ).fetchone()
        return self.get(row[0]) if row else None

    def find_by_key(self, idempotency_key: str) -> Registration | None:
        row = self.db.execute("SELECT id FROM registrations WHERE idempotency_key = ?",
                              [idempotency_key]).fetchone()
        return self.get(row[0]) if row else None

    def get(self, registration_id: str) -> Registration | None:
        cursor = self.db.execute("SELECT * FROM registrations WHERE id = ?", [registration_id])
        row = cursor.fetchone()
        if row is None:
            return None
        data = dict(zip([c[0] for c in cursor.description], row, strict=True))
        return registration_from_row(data, self.config,
                                     service_for(self.config, data["service_code"], self.db))


def registration_from_row(row: dict[str, Any], config: Config,
                          service: ServiceConfig | None = None) -> Registration:
    service = service or config.service(row["service_code"])
    booked = Appointment.from_json(json.loads(row["appointment_json"])) \
        if row.get("appointment_json") else None
    if booked is not None:
        service = ServiceConfig(code=row["service_code"], name=booked.service_name,
                                name_en=booked.service_name, room=booked.room,
                                department=booked.department, prefix="")
    insurance = json.loads(row["insurance_json"]) if row["insurance_json"] else {}
    created = dt.datetime.fromisoformat(row["created_at"])
    state: SyncState = row["sync_state"]
    return Registration(
        id=row["id"],
        queue_number=row["queue_number"],
        service_code=row["service_code"],
        service_name=service.name if service else row["service_code"],
        service_name_en=service.name_en if service else row["service_code"],
        room=service.room if service else "",
        created_at=local_now(created, config.facility.timezone),
        masked_name=mask_name(row["full_name"]) if row["full_name"] else "",
        insurance_line_vi=insurance.get("message_vi", ""),
        insurance_line_en=insurance.get("message_en", ""),
        code=registration_code(row["id"]),
        sync_state=state,
        room_en=service.room_en if service else "",
        appointment=booked,
    )


def _metric(department: str) -> str:
    """An anonymous per-department count (metric names are lowercase dotted words)."""
    return "registration.department." + _word(department)


def appointment_metric(department: str) -> str:
    """Follow-up check-ins per department (`kiosk report`, the lobby's counters)."""
    return f"{APPOINTMENT_METRIC}.{_word(department)}"


def _word(department: str) -> str:
    return re.sub(r"[^a-z0-9_]", "_", department.lower()) or "_"


def registration_code(registration_id: str) -> str:
    """The short code on the ticket's QR and under it (staff look it up at the counter)."""
    return registration_id[:10].upper()
