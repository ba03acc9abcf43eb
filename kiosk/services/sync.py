"""The sync daemon: outbox → HIS, deferred BHYT re-checks, retention purge.

Delivery is at-least-once (a row is marked done only after the HIS
answered; a crash in between sends it again) and the adapters' writes are
idempotent per registration id, so each registration appears once in the
HIS. Failures:

* `HisUnavailable` (HIS down, overloaded, credentials refused): the whole
  queue waits (exponential backoff with jitter). The item is charged an
  attempt only if the HIS delivered something else since the item's last
  try — a day-long outage dead-letters nothing, a registration the HIS
  chokes on while others pass does.
* other transient errors: the item is retried with its own backoff and
  becomes a dead letter after `max_attempts`, keeping the last reason.
* permanent errors (4xx: the HIS refuses this data): dead letter at once.

One daemon per kiosk (a lock file next to the database); it resumes from the
database after any crash.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import logging
import os
import random
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

import sqlite_utils

from kiosk.config import Config
from kiosk.domain.appointment import Appointment
from kiosk.domain.insurance import InsuranceResult
from kiosk.domain.text import is_ascii_digits
from kiosk.runtime import sdnotify
from kiosk.services import outbox
from kiosk.services.bhxh import checkin
from kiosk.services.his.base import HisAdapter, HisError, HisPatient, HisUnavailable, HisVisit
from kiosk.services.registration import service_for
from kiosk.store import audit, transaction

log = logging.getLogger(__name__)

Outcome = Literal["sent", "retry", "dead", "unavailable", "idle"]
# The daemon's own connection needs no fsync per commit: everything it writes is
# redone if lost (a lost "done" mark re-sends an item, which the HIS deduplicates).
# Registrations themselves are written by other processes with synchronous=FULL.
SYNC_DAEMON_SYNCHRONOUS = "NORMAL"
MAX_SLEEP_S = 20.0


@dataclass(frozen=True)
class SyncSettings:
    max_attempts: int = 8
    base_delay_s: float = 5.0
    max_delay_s: float = 900.0
    unavailable_max_delay_s: float = 300.0
    idle_poll_s: float = 2.0
    recheck_every_s: float = 300.0
    purge_every_s: float = 600.0
    catalogue_every_s: float = 3600.0
    lobby_every_s: float = 15.0  # heartbeat, settle numbers, publish statistics

    @classmethod
    def from_config(cls, config: Config) -> SyncSettings:
        """`[his.settings.sync]` overrides, e.g. `max_attempts = 12`."""
        given = config.his.settings.get("sync", {})
        known = {k: type(getattr(cls, k))(v) for k, v in given.items()
                 if k in cls.__dataclass_fields__}
        return cls(**known)


@dataclass
class Report:
    sent: int = 0
    retried: int = 0
    dead: int = 0
    unavailable: int = 0
    rechecked: int = 0
    purged: int = 0
    errors: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"sent": self.sent, "retried": self.retried, "dead": self.dead,
                "unavailable": self.unavailable, "rechecked": self.rechecked,
                "purged": self.purged}


class SyncBusy(RuntimeError):
    pass


@contextlib.contextmanager
def daemon_lock(state_dir: Path, *, wait: bool) -> Iterator[None]:
    """Only one sync daemon per database; the kernel drops the lock when it dies."""
    state_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(state_dir / "sync.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            raise SyncBusy("another sync daemon is running for this database") from None
        yield
    finally:
        os.close(fd)


def backoff(attempt: int, base_s: float, cap_s: float, rng: random.Random) -> float:
    """Exponential with "equal jitter": half fixed, half random, so kiosks that lost the
    HIS together do not all come back in the same second."""
    delay = min(cap_s, base_s * 2 ** max(0, attempt - 1))
    return delay / 2 + rng.random() * delay / 2


class SyncDaemon:
    def __init__(self, db: sqlite_utils.Database, config: Config, adapter: HisAdapter, *,
                 settings: SyncSettings | None = None,
                 now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
                 rng: random.Random | None = None, bhxh_client: Any = None,
                 recheck: bool = True, purge: bool = True) -> None:
        self.db = db
        self.config = config
        self.adapter = adapter
        self.settings = settings or SyncSettings.from_config(config)
        self.now = now
        self.rng = rng or random.Random()
        self.bhxh_client = bhxh_client
        self.recheck_enabled = recheck
        self.purge_enabled = purge
        self.last_success: dt.datetime | None = None
        self.unavailable_streak = 0
        self.paused_until: dt.datetime | None = None
        self._next_recheck: dt.datetime | None = None
        self._next_purge: dt.datetime | None = None
        self._next_catalogue: dt.datetime | None = None
        self.catalogue_enabled = config.his.use_his_catalogue
        self._next_lobby: dt.datetime | None = None
        self.lobby: Any = None  # kiosk.lobby.client.LobbyClient, made on first use

    # -- one delivery ---------------------------------------------------------------
    def deliver_one(self) -> Outcome:
        now = self.now()
        his_paused = self.paused_until is not None and now < self.paused_until
        item = outbox.next_due(self.db, now, outbox.NOT_FOR_HIS if his_paused else None)
        if item is None:
            return "idle"
        try:
            ref = self._send(item)
        except HisUnavailable as exc:
            return self._unavailable(item, exc, now)
        except HisError as exc:
            return self._failed(item, str(exc), permanent=not exc.transient, now=now)
        except Exception as exc:  # an adapter bug must not stop the queue for good
            # One line, not a traceback: a hostile answer repeats on every retry, and the
            # exception's text may quote the answer (patient data). The innermost frame
            # is enough to find an adapter bug.
            frame = traceback.extract_tb(exc.__traceback__)[-1:]
            where = f"{Path(frame[0].filename).name}:{frame[0].lineno}" if frame else "?"
            log.error("HIS adapter failed unexpectedly on outbox item %s: %s at %s", item.id,
                      type(exc).__name__, where)
            return self._failed(item, f"adapter error {type(exc).__name__}", permanent=False,
                                now=now)
        done = self.now()
        outbox.complete(self.db, item, ref, done)
        self.last_success = done
        self.unavailable_streak = 0
        return "sent"

    def _send(self, item: outbox.OutboxItem) -> str:
        if item.kind not in (*outbox.VISITS, outbox.HIS_INSURANCE, outbox.BHXH_CHECKIN):
            raise HisError(f"unknown outbox kind {item.kind!r}", transient=False)
        row = self._registration(item.registration_id)
        if row is None:
            raise HisError("registration missing", transient=False)
        if row["purged_at"] is not None:
            raise HisError("personal data already purged", transient=False)
        visit = his_visit(row, self.config, self.db)
        if item.kind == outbox.BHXH_CHECKIN:
            return self._send_checkin(his_patient(row), visit)
        if item.kind == outbox.HIS_INSURANCE:
            if not row["his_ref"]:
                raise HisError("the HIS never named the visit", transient=False)
            return self.adapter.update_insurance(row["his_ref"], visit)
        if item.kind == outbox.HIS_CHECKIN:
            if not row["appointment_json"]:
                raise HisError("check-in without its appointment", transient=False)
            return self.adapter.check_in(
                Appointment.from_json(json.loads(row["appointment_json"])), visit)
        patient_ref = self.adapter.find_or_create_patient(his_patient(row))
        return self.adapter.create_visit(patient_ref, visit)

    def _send_checkin(self, patient: HisPatient, visit: HisVisit) -> str:
        """The check-in table to BHXH; its failures use the outbox's HisError classes
        (a gateway outage is retried per item: it must not hold the HIS queue)."""
        from kiosk.services.bhxh.client import BhxhClient
        from kiosk.services.bhxh.errors import GatewayError

        if self.bhxh_client is None:
            if self.config.bhxh.url == "simulator":
                raise HisError("bhxh.url is the simulator inside the UI: no check-in",
                               transient=False)
            self.bhxh_client = BhxhClient.from_config(self.config.bhxh)
        facility = self.config.facility.code
        xml = checkin.checkin_xml(patient, visit, facility)
        try:
            answer = self.bhxh_client.send_checkin(
                xml, facility, checkin.province_code(self.config.bhxh.province_code, facility))
        except GatewayError as exc:
            raise HisError(f"BHXH check-in: {exc}", transient=True) from None
        code = str(answer.get("maKetQua", ""))
        if code != checkin.SUCCESS:
            message = str(answer.get("thongDiep") or answer.get("ghiChu") or "")[:200]
            raise HisError(f"BHXH check-in refused ({code}): {message}",
                           transient=code.startswith("5") or code == "101")
        receipt = str(answer.get("maGiaoDich") or "")
        audit(self.db, self.config.kiosk_id, "bhxh.checkin", f"{visit.registration_id} "
              f"{receipt}")
        return receipt

    def _unavailable(self, item: outbox.OutboxItem, exc: HisUnavailable,
                     now: dt.datetime) -> Outcome:
        self.unavailable_streak += 1
        delay = backoff(self.unavailable_streak, self.settings.base_delay_s,
                        self.settings.unavailable_max_delay_s, self.rng)
        retry_at = now + dt.timedelta(seconds=delay)
        self.paused_until = retry_at
        last_try = dt.datetime.fromisoformat(item.updated_at)
        charged = self.last_success is not None and self.last_success > last_try
        attempts = item.attempts + (1 if charged else 0)
        dead = attempts >= self.settings.max_attempts
        outbox.fail(self.db, item, str(exc), attempts=attempts, dead=dead, retry_at=retry_at,
                    now=now)
        if self.unavailable_streak in (1, 5) or self.unavailable_streak % 50 == 0:
            log.warning("HIS unavailable (%s); waiting %.0f s", outbox.clean_reason(str(exc)),
                        delay)
            audit(self.db, self.config.kiosk_id, "his.unavailable", outbox.clean_reason(str(exc)))
        return "dead" if dead else "unavailable"

    def _failed(self, item: outbox.OutboxItem, reason: str, *, permanent: bool,
                now: dt.datetime) -> Outcome:
        attempts = item.attempts + 1
        dead = permanent or attempts >= self.settings.max_attempts
        delay = backoff(attempts, self.settings.base_delay_s, self.settings.max_delay_s,
                        self.rng)
        outbox.fail(self.db, item, reason, attempts=attempts, dead=dead,
                    retry_at=now + dt.timedelta(seconds=delay), now=now)
        if dead:
            log.error("outbox item %s is a dead letter after %d attempt(s): %s", item.id,
                      attempts, outbox.clean_reason(reason))
            audit(self.db, self.config.kiosk_id, "his.dead_letter",
                  f"{item.id} {outbox.clean_reason(reason)}")
            return "dead"
        return "retry"

    def _registration(self, reg_id: str) -> dict[str, Any] | None:
        cursor = self.db.execute("SELECT * FROM registrations WHERE id = ?", [reg_id])
        row = cursor.fetchone()
        return dict(zip([c[0] for c in cursor.description], row, strict=True)) if row else None

    # -- passes ---------------------------------------------------------------------
    def drain(self, limit: int | None = None, report: Report | None = None) -> Report:
        """Deliver everything due now (stops early while the HIS is unavailable)."""
        report = report or Report()
        count = 0
        alive_at = time.monotonic()
        while limit is None or count < limit:
            if time.monotonic() - alive_at > 5:  # a long backlog must not trip the watchdog
                _sdnotify("notify_watchdog")
                alive_at = time.monotonic()
            outcome = self.deliver_one()
            if outcome == "idle":
                break
            count += 1
            if outcome == "sent":
                report.sent += 1
            elif outcome == "retry":
                report.retried += 1
            elif outcome == "dead":
                report.dead += 1
            else:
                report.unavailable += 1
        return report

    def tick(self, report: Report | None = None) -> Report:
        """One loop iteration: re-checks when due, drain, purge when due."""
        report = report or Report()
        now = self.now()
        if self.recheck_enabled and (self._next_recheck is None or now >= self._next_recheck):
            self._next_recheck = now + dt.timedelta(seconds=self.settings.recheck_every_s)
            report.rechecked += self._recheck(report)
        if self.catalogue_enabled and (self._next_catalogue is None
                                       or now >= self._next_catalogue):
            self._next_catalogue = now + dt.timedelta(seconds=self.settings.catalogue_every_s)
            self._refresh_catalogue(report)
        self.drain(report=report)
        if self.config.lobby is not None and (self._next_lobby is None
                                              or now >= self._next_lobby):
            self._next_lobby = now + dt.timedelta(seconds=self.settings.lobby_every_s)
            self._lobby_pass(report)
        if self.purge_enabled and (self._next_purge is None or now >= self._next_purge):
            self._next_purge = now + dt.timedelta(seconds=self.settings.purge_every_s)
            report.purged += self._purge(report)
        return report

    def sleep_s(self) -> float:
        """How long the loop may sleep before something is due."""
        now = self.now()
        wake = [now + dt.timedelta(seconds=self.settings.idle_poll_s)]
        if self.paused_until is not None and self.paused_until > now:
            wake = [self.paused_until]
            due = outbox.next_attempt_at(self.db, outbox.NOT_FOR_HIS)
            if due is not None:
                wake.append(max(due, now))
        else:
            due = outbox.next_attempt_at(self.db)
            if due is not None:
                wake.append(max(due, now))
        return max(0.0, (min(wake) - now).total_seconds())

    def run(self, stop: threading.Event, *, sleep: Callable[[float], Any] | None = None) -> None:
        """Until `stop` is set: tick, sleep until the next due item (or idle poll)."""
        wait = sleep or stop.wait
        _sdnotify("notify_ready")
        while not stop.is_set():
            try:
                self.tick()
            except Exception:  # a locked/corrupt database moment: log, keep the daemon up
                log.exception("sync pass failed")
            _sdnotify("notify_watchdog")
            # Wake at least every MAX_SLEEP_S to feed the systemd watchdog (WatchdogSec=60).
            wait(min(self.sleep_s(), MAX_SLEEP_S))
        _sdnotify("notify_stopping")

    def _lobby_pass(self, report: Report) -> None:
        """Shared lobby: heartbeat, settle this kiosk's numbers, publish its counters.
        The lobby being away costs the HIS queue nothing (own budget and breaker)."""
        try:
            from kiosk.lobby.client import LobbyClient
            from kiosk.lobby.sync import lobby_pass

            if self.lobby is None:
                self.lobby = LobbyClient.from_config(self.config, retry_after_s=30.0)
            result = lobby_pass(self.db, self.lobby, self.config.kiosk_id)
            report.errors.extend(result.errors)
        except Exception as exc:
            log.warning("lobby pass failed: %s", type(exc).__name__)
            report.errors.append(f"lobby: {type(exc).__name__}")

    def close(self) -> None:
        if self.lobby is not None:
            self.lobby.close()

    def _refresh_catalogue(self, report: Report) -> None:
        """Keep the HIS's service list (rooms move, fees change); an empty or failed
        answer leaves the last good list in place."""
        try:
            services = self.adapter.catalogue()
        except Exception as exc:
            report.errors.append(f"catalogue: {type(exc).__name__}")
            return
        if not services:
            return
        stamp = outbox.stamp(self.now())
        with transaction(self.db):
            self.db.execute("DELETE FROM his_catalogue")
            for s in services:
                self.db.execute("INSERT OR REPLACE INTO his_catalogue (code, name, room, "
                                "department, fee, fetched_at) VALUES (?, ?, ?, ?, ?, ?)",
                                [s.code, s.name, s.room, s.department, s.fee, stamp])

    def _recheck(self, report: Report) -> int:
        try:
            from kiosk.services.bhxh.recheck import recheck_pending

            return recheck_pending(self.db, self.config, self.bhxh_client, limit=50,
                                   on_recorded=self._queue_insurance_update)
        except Exception as exc:
            log.warning("BHYT re-check pass failed: %s", type(exc).__name__)
            report.errors.append(f"recheck: {type(exc).__name__}")
            return 0

    def _queue_insurance_update(self, reg_id: str, result: InsuranceResult) -> None:
        """A visit still waiting in the outbox is built from the updated row when it is
        sent; only one the HIS already has needs telling (same patient order). A card
        now found usable gets its BHXH check-in when the kiosk sends those."""
        rows = {kind: (key, state) for kind, key, state in self.db.execute(
            "SELECT kind, patient_key, state FROM outbox WHERE registration_id = ?",
            [reg_id]).fetchall()}
        key, state = rows.get(outbox.HIS_REGISTER, (None, None))
        if key is None:
            return
        now = self.now()
        if state == "done":
            outbox.enqueue(self.db, reg_id, outbox.HIS_INSURANCE, key, now)
        if outbox.BHXH_CHECKIN not in rows and checkin.needs_checkin(self.config.bhxh.checkin,
                                                                      result.outcome):
            outbox.enqueue(self.db, reg_id, outbox.BHXH_CHECKIN, outbox.checkin_key(key), now)

    def _purge(self, report: Report) -> int:
        try:
            from kiosk.store.retention import purge

            return purge(self.db, self.config, now=self.now()).purged
        except Exception as exc:
            log.warning("retention purge failed: %s", type(exc).__name__)
            report.errors.append(f"purge: {type(exc).__name__}")
            return 0


def _sdnotify(name: str) -> None:
    """systemd readiness/watchdog (no-op outside systemd); looked up by name at call
    time so tests can replace one notification."""
    try:
        getattr(sdnotify, name)()
    except Exception as exc:  # never let supervision plumbing stop the sync
        log.debug("sd_notify %s failed: %s", name, exc)


# -- registration row → HIS values ------------------------------------------------------
def _birth(text: str | None) -> dt.date | int | None:
    if not text:
        return None
    if len(text) == 4 and is_ascii_digits(text):
        return int(text)
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None


def _date(text: Any) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text) if isinstance(text, str) else None
    except ValueError:
        return None


def his_patient(row: dict[str, Any]) -> HisPatient:
    insurance = json.loads(row["insurance_json"]) if row.get("insurance_json") else {}
    card = insurance.get("card") or {}
    return HisPatient(
        id_number=row["id_number"], full_name=row["full_name"] or "",
        date_of_birth=_birth(row["date_of_birth"]), sex=row["sex"],
        residence=row["residence"],
        # a deferred re-check may have found the card the patient did not show
        bhyt_card=row["bhyt_card"] or card.get("new_card_number") or card.get("card_number"),
        bhyt_valid_from=_date(card.get("new_valid_from") or card.get("valid_from")),
        bhyt_valid_to=_date(card.get("new_valid_to") or card.get("valid_to")),
        bhyt_facility=card.get("registered_facility"),
    )


def his_visit(row: dict[str, Any], config: Config, db: sqlite_utils.Database | None = None
              ) -> HisVisit:
    service = service_for(config, row["service_code"], db)
    booked = Appointment.from_json(json.loads(row["appointment_json"])) \
        if row.get("appointment_json") else None
    return HisVisit(
        registration_id=row["id"], service_code=row["service_code"],
        service_name=booked.service_name if booked else service.name if service
        else row["service_code"],
        department=booked.department if booked else row["department"],
        room=booked.room if booked else service.room if service else "",
        queue_number=row["queue_number"],
        created_at=dt.datetime.fromisoformat(row["created_at"]).astimezone(
            ZoneInfo(config.facility.timezone)),
        insurance_outcome=row["insurance_outcome"], bhyt_card=row["bhyt_card"],
        biometric=_biometric_status(row.get("biometric_json")),
    )


def _biometric_status(text: str | None) -> str | None:
    """Only the status goes to the HIS; distance and threshold stay on the kiosk."""
    return json.loads(text).get("status") if text else None
