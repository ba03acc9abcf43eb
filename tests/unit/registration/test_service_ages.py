"""Services with age limits (`ages = "0-15"`): only eligible services are offered,
and the registration service refuses the others even if asked directly."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kiosk.config import ConfigError
from kiosk.config.loader import demo_config_text, load
from kiosk.domain.ages import AgeRange
from kiosk.domain.dates import age_on
from kiosk.domain.errors import DomainError
from kiosk.services.registration import RegistrationError, RegistrationService
from kiosk.store import connect
from tests.unit.registration.helpers import NOW, insured, make_config, patient


@pytest.mark.parametrize(("text", "low", "high"), [
    ("0-15", 0, 15), ("16-", 16, None), ("-5", None, 5), (" 60-120 ", 60, 120)])
def test_parse(text: str, low: int | None, high: int | None) -> None:
    assert AgeRange.parse(text) == AgeRange(low, high)


@pytest.mark.parametrize("text", ["", "-", "15-0", "a-b", "0-15-30", "1000-", "٣-٥", "0 - 15"])
def test_parse_refuses(text: str) -> None:
    with pytest.raises(DomainError):
        AgeRange.parse(text)


def test_the_sixteenth_birthday_is_the_boundary() -> None:
    children = AgeRange.parse("0-15")
    today = dt.date(2026, 11, 23)
    assert children.admits(dt.date(2010, 11, 24), today)  # 15 until tomorrow
    assert not children.admits(dt.date(2010, 11, 23), today)  # 16 today
    assert children.admits(None, today)  # no birth date on the card: staff decide
    assert not children.admits(1962, today)  # year-only birth dates count too


@given(st.integers(0, 120), st.integers(0, 120), st.dates(dt.date(1900, 1, 1),
                                                         dt.date(2026, 11, 23)))
def test_admits_exactly_the_completed_years_in_range(a: int, b: int, dob: dt.date) -> None:
    low, high = min(a, b), max(a, b)
    today = dt.date(2026, 11, 23)
    assert AgeRange(low, high).admits(dob, today) == (low <= age_on(dob, today) <= high)


def test_only_eligible_services_are_offered_and_registered(tmp_path: Path) -> None:
    config = make_config(tmp_path / "state")
    service = RegistrationService(connect(config.database_path), config, now=lambda: NOW)
    adult = patient(1, date_of_birth=dt.date(1962, 5, 1))
    child = patient(2, date_of_birth=dt.date(2019, 5, 1))
    assert "KB-NHI" not in {s.code for s in service.services(NOW, adult.date_of_birth)}
    assert "KB-NHI" in {s.code for s in service.services(NOW, child.date_of_birth)}
    assert "KB-NOI" in {s.code for s in service.services(NOW, adult.date_of_birth)}
    with pytest.raises(RegistrationError, match="ages 0-15"):
        service.register(adult, insured(), "KB-NHI", "adult-nhi")
    assert service.register(child, insured(), "KB-NHI", "child-nhi").queue_number == "C-001"


def test_a_bad_age_range_is_a_configuration_error_naming_the_key(tmp_path: Path) -> None:
    path = tmp_path / "kiosk.toml"
    path.write_text(demo_config_text().replace('ages = "0-15"', 'ages = "15-0"'), "utf-8")
    with pytest.raises(ConfigError) as err:
        load(path)
    assert any("ages" in p and "15-0" in p for p in err.value.problems)
