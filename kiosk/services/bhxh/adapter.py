"""The journey's `InsurancePort` backed by the BHXH gateway client.

`check()` never raises and never takes longer than the patient's budget:
when the gateway cannot answer, the patient goes on "not checked" (a recent
cached answer is used if there is one) and a deferred re-check follows.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from kiosk.domain.bhxh_results import (
    NOT_CHECKED_EN,
    NOT_CHECKED_VI,
    benefit_percent,
    for_card,
    interpret,
)
from kiosk.domain.identity import Identity
from kiosk.domain.insurance import InsuranceResult, ResultSource
from kiosk.domain.text import mask_id
from kiosk.services.bhxh.cache import BhxhCache
from kiosk.services.bhxh.client import BhxhClient
from kiosk.services.bhxh.errors import GatewayConfigError, GatewayError, GatewayUnavailable
from kiosk.services.bhxh.matching import same_birth, same_name
from kiosk.services.bhxh.protocol import card_from_answer, keep_fields, result_code

log = logging.getLogger(__name__)


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def result_from_answer(data: dict[str, Any], *, facility_code: str, card_key: str,
                       asked_name: str, asked_dob: dt.date | int | None,
                       checked_at: dt.datetime, source: ResultSource) -> InsuranceResult:
    """Interpret one gateway answer (already known to be a JSON object)."""
    code = result_code(data)
    card = card_from_answer(data)
    meaning = for_card(interpret(code), card, facility_code)
    staff = meaning.staff_detail
    outcome = meaning.outcome
    vi, en = meaning.message_vi, meaning.message_en
    if card is not None and card.full_name and not same_name(card.full_name, asked_name):
        if outcome in ("usable", "warning"):
            # Asked by CCCD the gateway may answer for a card in another name: staff decide.
            outcome = "warning"
            vi = "Thẻ BHYT dùng được, nhưng họ tên trên thẻ khác với giấy tờ của bạn. " \
                 "Vui lòng báo nhân viên quầy tiếp đón."
            en = "Your insurance card is valid, but the name on it differs from your ID. " \
                 "Please tell the reception desk."
        staff += "; the name on the card differs from the patient's"
    elif code in ("060", "061") and card is not None and same_name(card.full_name, asked_name):
        staff += "; names agree when diacritics are ignored (a spelling error in BHXH records?)"
    if card is not None and card.date_of_birth is not None and asked_dob is not None \
            and not same_birth(card.date_of_birth, asked_dob):
        staff += "; the birth date on the card differs from the patient's"
    percent = benefit_percent(card)
    if percent is not None and outcome in ("usable", "warning"):
        staff += f"; benefit level about {percent} % (estimate, the HIS decides)"
    if outcome in ("unavailable", "misconfigured"):
        # The gateway answered but said nothing about the card (054, 100, …): for the
        # journey and the HIS the card is "not checked", and a re-check is due.
        source = "unavailable"
    return InsuranceResult(outcome, code, vi, en, staff, card, checked_at, source, card_key)


def misconfigured(card_key: str | None, reason: str, now: dt.datetime) -> InsuranceResult:
    """The kiosk's own set-up is wrong: the patient goes on as "not checked", staff act."""
    return replace(InsuranceResult.not_checked(card_key, reason, now), outcome="misconfigured",
                   message_vi=NOT_CHECKED_VI, message_en=NOT_CHECKED_EN)


class BhxhInsurance:
    """`InsurancePort`: `BhxhInsurance(client, facility_code=..., cache=..., budget_s=...)`."""

    def __init__(self, client: BhxhClient, *, facility_code: str, cache: BhxhCache | None = None,
                 budget_s: float = 6.0, now: Callable[[], dt.datetime] = _utc_now) -> None:
        self.client = client
        self.facility_code = facility_code
        self.cache = cache
        self.budget_s = budget_s
        self.now = now

    def check(self, identity: Identity) -> InsuranceResult:
        key = identity.insurance_key
        try:
            return self.check_key(key, identity.full_name, identity.date_of_birth)
        except Exception as exc:  # the port's promise: never raise for gateway trouble
            log.exception("BHXH check %s failed unexpectedly", mask_id(key))
            return InsuranceResult.not_checked(key, f"kiosk fault: {type(exc).__name__}",
                                               self.now())

    def check_key(self, card_key: str | None, full_name: str, date_of_birth: dt.date | int | None,
                  *, use_cache: bool = True, budget_s: float | None = None) -> InsuranceResult:
        if not card_key:
            return InsuranceResult.not_checked(None, "no card number or personal ID", self.now())
        if date_of_birth is None or not full_name.strip():
            return InsuranceResult.not_checked(card_key, "name or date of birth missing",
                                               self.now())
        cache_key = BhxhCache.key(card_key, full_name, date_of_birth) if self.cache else ""
        if self.cache is not None and use_cache:
            hit = self.cache.get(cache_key, self.cache.fresh_s)
            if hit is not None:
                return self._from_cache(hit, card_key, full_name, date_of_birth)
        try:
            data = self.client.lookup(card_key, full_name, date_of_birth,
                                      budget_s=budget_s or self.budget_s)
        except GatewayUnavailable as exc:
            if self.cache is not None and use_cache:
                hit = self.cache.get(cache_key, self.cache.stale_s)
                if hit is not None:
                    result = self._from_cache(hit, card_key, full_name, date_of_birth)
                    return replace(result, staff_detail=f"{result.staff_detail}; gateway "
                                   f"unavailable ({exc}), answer from cache")
            return InsuranceResult.not_checked(card_key, f"gateway unavailable: {exc}",
                                               self.now())
        except GatewayConfigError as exc:
            return misconfigured(card_key, f"kiosk configuration: {exc}", self.now())
        except GatewayError as exc:  # pragma: no cover - every subclass is handled above
            return InsuranceResult.not_checked(card_key, str(exc), self.now())
        checked_at = self.now()
        result = result_from_answer(data, facility_code=self.facility_code, card_key=card_key,
                                    asked_name=full_name, asked_dob=date_of_birth,
                                    checked_at=checked_at, source="gateway")
        if self.cache is not None and result.outcome not in ("unavailable", "misconfigured"):
            self.cache.put(cache_key, checked_at, keep_fields(data))
        return result

    def _from_cache(self, hit: tuple[dt.datetime, dict[str, Any]], card_key: str,
                    full_name: str, date_of_birth: dt.date | int) -> InsuranceResult:
        checked_at, data = hit
        return result_from_answer(data, facility_code=self.facility_code, card_key=card_key,
                                  asked_name=full_name, asked_dob=date_of_birth,
                                  checked_at=checked_at, source="cache")


__all__ = ["BhxhInsurance", "misconfigured", "result_from_answer"]
