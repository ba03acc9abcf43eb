"""Who is a child for the kiosk's wording, and the BHXH answer that covers one."""

import datetime as dt

from kiosk.domain.ages import is_child
from kiosk.domain.bhxh_results import interpret
from kiosk.domain.insurance import InsuranceResult

TODAY = dt.date(2026, 12, 6)


def test_a_child_is_under_16_on_the_day() -> None:
    assert is_child(dt.date(2023, 4, 10), TODAY)
    assert is_child(dt.date(2010, 12, 7), TODAY)  # 16 tomorrow
    assert not is_child(dt.date(2010, 12, 6), TODAY)  # 16 today
    assert not is_child(None, TODAY) and not is_child(1950, TODAY)


def test_bhxh_130_is_a_covered_child_not_a_self_paying_patient() -> None:
    import dataclasses

    meaning = interpret("130")
    assert "không phải trả phí" in meaning.message_vi and "tự trả" not in meaning.message_vi
    assert "giấy khai sinh" in meaning.message_vi
    base = InsuranceResult.not_checked("001223130130", "x", dt.datetime(2026, 1, 1,
                                                                       tzinfo=dt.UTC))
    child = dataclasses.replace(base, outcome="not_usable", code="130")
    other = dataclasses.replace(base, outcome="not_usable", code="010")
    assert child.child_covered and not other.child_covered
