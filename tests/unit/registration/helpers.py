"""Shared builders for registration/outbox tests: the demo configuration in a temp
state directory, patients with long Vietnamese names, insurance outcomes."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

from kiosk.config import Config
from kiosk.config.loader import demo_config
from kiosk.domain.identity import Identity
from kiosk.domain.insurance import InsuranceCard, InsuranceResult

NOW = dt.datetime(2026, 11, 23, 2, 30, tzinfo=dt.UTC)  # 09:30 in Hà Nội


def make_config(state_dir: Path, **facility: object) -> Config:
    config = demo_config(state_dir)
    # The demo's file printer writes under the working directory; tests keep their
    # tickets (and the retention purge its sweeping) in their own folder.
    config = dataclasses.replace(config, printer=dataclasses.replace(
        config.printer, target=str(state_dir.parent / "tickets")))
    if facility:
        config = dataclasses.replace(
            config, facility=dataclasses.replace(config.facility, **facility))
    return config


def patient(n: int = 1, name: str = "Nguyễn Thị Minh Khai", **kw: object) -> Identity:
    fields: dict[str, object] = dict(
        full_name=name, date_of_birth=dt.date(1968, 3, 14), sex="Nữ", source="chip",
        verification="chip_verified", id_number=f"0011680{n:05d}",
        residence="Số 12 Phố Huế, Hai Bà Trưng, Hà Nội", bhyt_card=f"GD47901{n:08d}",
    )
    fields.update(kw)
    return Identity(**fields)  # type: ignore[arg-type]


def insured(card: str = "GD4790100000001") -> InsuranceResult:
    return InsuranceResult(
        outcome="usable", code="000", message_vi="Thẻ BHYT còn hạn sử dụng.",
        message_en="Your health insurance card is valid.", staff_detail="000",
        card=InsuranceCard(card_number=card, registered_facility="01824",
                           valid_from=dt.date(2026, 1, 1), valid_to=dt.date(2026, 12, 31)),
        checked_at=NOW, source="gateway", card_key=card,
    )


def not_checked(card: str | None = "GD4790100000001") -> InsuranceResult:
    return InsuranceResult.not_checked(card, "gateway timeout", NOW)
