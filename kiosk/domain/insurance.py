"""The outcome of a BHYT validity check, as the journey and the HIS see it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Literal

from kiosk.domain.dates import iso

# usable: card valid here; warning: usable but the patient should know something
# (new card issued, another facility registered…); not_usable: the fund will not
# pay; unavailable: gateway down/slow, registration continues "not checked";
# misconfigured: the kiosk's own account/operator is wrong (staff must act).
Outcome = Literal["usable", "warning", "not_usable", "unavailable", "misconfigured"]
ResultSource = Literal["gateway", "cache", "unavailable"]

CHILD_WITHOUT_CARD = "130"  # BHXH result code (DOMAIN.md §9: under 6, state-insured)


@dataclass(frozen=True)
class InsuranceCard:
    card_number: str | None = None
    full_name: str | None = None
    date_of_birth: dt.date | int | None = None
    sex: str | None = None
    address: str | None = None
    registered_facility: str | None = None
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None
    area_code: str | None = None
    five_year_date: dt.date | None = None
    new_card_number: str | None = None
    new_valid_from: dt.date | None = None
    new_valid_to: dt.date | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "card_number": self.card_number,
            "full_name": self.full_name,
            "date_of_birth": iso(self.date_of_birth),
            "sex": self.sex,
            "address": self.address,
            "registered_facility": self.registered_facility,
            "valid_from": iso(self.valid_from),
            "valid_to": iso(self.valid_to),
            "area_code": self.area_code,
            "five_year_date": iso(self.five_year_date),
            "new_card_number": self.new_card_number,
            "new_valid_from": iso(self.new_valid_from),
            "new_valid_to": iso(self.new_valid_to),
        }


@dataclass(frozen=True)
class InsuranceResult:
    outcome: Outcome
    code: str | None  # the gateway's maKetQua; staff-facing only
    message_vi: str
    message_en: str
    staff_detail: str
    card: InsuranceCard | None
    checked_at: dt.datetime
    source: ResultSource
    card_key: str | None = None  # what was asked (BHYT code / BHXH number / CCCD)

    @property
    def usable(self) -> bool:
        return self.outcome in ("usable", "warning")

    @property
    def child_covered(self) -> bool:
        """BHXH 130: a child under 6 with no card issued yet. The Law on Health Insurance
        covers them (treated on the birth certificate): never a fee, never "self-pay"."""
        return self.code == CHILD_WITHOUT_CARD

    @property
    def checked(self) -> bool:
        """False when the gateway could not answer: a deferred re-check is due."""
        return self.source != "unavailable"

    @property
    def card_number(self) -> str | None:
        if self.card and self.card.new_card_number:
            return self.card.new_card_number
        if self.card and self.card.card_number:
            return self.card.card_number
        return self.card_key

    def to_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "outcome": self.outcome,
            "usable": self.usable,
            "message_vi": self.message_vi,
            "message_en": self.message_en,
            "staff_detail": self.staff_detail,
            "card": self.card.to_json() if self.card else None,
            "checked_at": self.checked_at.isoformat(timespec="seconds"),
            "source": self.source,
        }

    @classmethod
    def not_checked(cls, card_key: str | None, reason: str, now: dt.datetime) -> InsuranceResult:
        """The lookup failed; by law (NĐ 188, Đ38 k2) registration goes on."""
        return cls(
            outcome="unavailable",
            code=None,
            message_vi="Chưa kiểm tra được thẻ BHYT lúc này. Bạn vẫn đăng ký khám bình thường; "
            "bệnh viện sẽ kiểm tra lại sau.",
            message_en="Your health insurance could not be checked right now. You can still "
            "register; the hospital will check it again later.",
            staff_detail=reason,
            card=None,
            checked_at=now,
            source="unavailable",
            card_key=card_key,
        )
