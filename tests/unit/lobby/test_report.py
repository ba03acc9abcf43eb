"""The lobby report's shape and its printable page (no database: kiosk.lobby.report.build)."""

import datetime as dt
from html.parser import HTMLParser

import pytest

from kiosk.lobby.report import build, to_html

DAY = dt.date(2026, 12, 1)
ROWS = [("k1", "registration.department.noi", 3), ("k1", "lobby.offline_number", 1),
        ("k1", "health_book.offered", 2), ("k2", "registration.department.ngoai", 1),
        ("k2", "lobby.down", 1)]


def test_build_sums_per_kiosk_and_in_total():
    report = build(ROWS, [("k2", 2)], DAY, DAY)
    k1, k2 = report["kiosks"]
    assert k1["registrations"] == {"noi": 3} and k1["offline_share"] == pytest.approx(1 / 3,
                                                                                      abs=1e-4)
    assert k2["voids"] == 2 and k2["other"] == {"lobby.down": 1}
    assert report["totals"]["registrations_total"] == 4
    assert report["totals"]["health_book"] == {"offered": 2, "completed": 0}
    with pytest.raises(ValueError):
        build([], [], DAY, DAY - dt.timedelta(days=1))


def test_the_printable_page_is_well_formed_and_escaped():
    report = {"facility": "<01824>", **build(ROWS, [], DAY, DAY)}
    page = to_html(report)
    assert "&lt;01824&gt;" in page and "<01824>" not in page
    assert "Tổng / Total" in page and "noi: 3" in page

    class Cells(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.rows: list[int] = []

        def handle_starttag(self, tag: str, attrs: object) -> None:
            if tag == "tr":
                self.rows.append(0)
            elif tag in ("td", "th"):
                self.rows[-1] += 1

    parser = Cells()
    parser.feed(page)
    assert parser.rows == [7, 7, 7, 7]  # header, k1, k2, total: every row complete
