"""Deferred BHYT re-check: registrations made while the gateway was down.

By law a failed lookup must not block registration (NĐ 188, Đ38 k2): the
registration carries the card number with `recheck_state = 'pending'`, and
the sync daemon calls `recheck_pending()` later. It asks the gateway again
(no patient is waiting, so with a longer budget), records the answer in the
registration (`insurance_outcome`, `insurance_code`, `insurance_json`,
`recheck_state = 'done'`) for the HIS, and stops at the first failure so a
dead gateway is not hammered.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable

import sqlite_utils

from kiosk.config.model import Config
from kiosk.domain.dates import parse_dmy_or_year
from kiosk.domain.errors import DomainError
from kiosk.domain.insurance import InsuranceResult
from kiosk.services.bhxh.adapter import BhxhInsurance
from kiosk.services.bhxh.cache import BhxhCache
from kiosk.services.bhxh.client import BhxhClient
from kiosk.store import audit, transaction

log = logging.getLogger(__name__)

# Outcomes after which a later lookup could still tell more.
RETRY_OUTCOMES = frozenset({"unavailable", "misconfigured"})


def needs_recheck(result: InsuranceResult) -> bool:
    """Should a registration carrying `result` be re-checked later?"""
    return result.outcome in RETRY_OUTCOMES and result.card_number is not None


def _birth(text: str | None) -> dt.date | int | None:
    """The stored birth date: ISO (`YYYY-MM-DD`), a bare year, or `dd/MM/yyyy`."""
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        pass
    try:
        return parse_dmy_or_year(text)
    except DomainError:
        return None


def recheck_pending(db: sqlite_utils.Database, config: Config, client: BhxhClient | None = None,
                    *, limit: int = 50, budget_s: float | None = None,
                    on_recorded: Callable[[str, InsuranceResult], None] | None = None,
                    now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)) -> int:
    """Re-check up to `limit` pending registrations; return how many got an answer.

    `client` defaults to one built from `config.bhxh` (not possible for the embedded
    simulator, which lives in the UI process: pass a client then). `on_recorded` is
    called with each registration id and its new result inside the transaction that
    records it (e.g. to queue an HIS update); it must not open a transaction itself.
    """
    rows = db.execute(
        "SELECT id, bhyt_card, id_number, full_name, date_of_birth FROM registrations "
        "WHERE recheck_state = 'pending' AND purged_at IS NULL ORDER BY created_at LIMIT ?",
        [limit],
    ).fetchall()
    if not rows:
        return 0
    own_client = client is None
    if client is None:
        if config.bhxh.url == "simulator":
            log.info("BHXH re-check skipped: the gateway simulator runs inside the UI process")
            return 0
        client = BhxhClient.from_config(config.bhxh)
    insurance = BhxhInsurance(client, facility_code=config.facility.code,
                              cache=BhxhCache(db), now=now)
    # No patient waits here: allow every retry its full timeout.
    budget = budget_s or config.bhxh.timeout_s * client.max_attempts + 2.0
    done = 0
    try:
        for reg_id, bhyt_card, id_number, full_name, birth in rows:
            key = bhyt_card or id_number
            dob = _birth(birth)
            if not key or not full_name or dob is None:
                _record_unanswerable(db, reg_id, config.kiosk_id)
                continue
            result = insurance.check_key(key, full_name, dob, use_cache=False, budget_s=budget)
            if result.outcome in RETRY_OUTCOMES:
                audit(db, config.kiosk_id, "bhyt.recheck_failed", result.outcome)
                break  # the gateway (or our account) is still not answering: try later
            with transaction(db):  # the answer and what it queues for the HIS: both or neither
                db.execute(
                    "UPDATE registrations SET insurance_outcome = ?, insurance_code = ?, "
                    "insurance_json = ?, recheck_state = 'done' WHERE id = ? "
                    "AND recheck_state = 'pending'",
                    [result.outcome, result.code,
                     json.dumps(result.to_json(), ensure_ascii=False), reg_id],
                )
                audit(db, config.kiosk_id, "bhyt.rechecked", f"{reg_id} {result.code}")
                if on_recorded is not None:
                    on_recorded(reg_id, result)
            done += 1
    finally:
        if own_client:
            client.close()
    return done


def _record_unanswerable(db: sqlite_utils.Database, reg_id: str, kiosk_id: str) -> None:
    """Nothing to ask with (no card key, name or birth date): stop trying."""
    db.execute("UPDATE registrations SET recheck_state = 'done' WHERE id = ?", [reg_id])
    audit(db, kiosk_id, "bhyt.recheck_impossible", reg_id)
