"""Every branch of the health-book guide (seed 004 / DOMAIN.md §8), as pure calls."""

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kiosk.journey import health_book as hb
from kiosk.journey.health_book import Answer as A
from kiosk.journey.health_book import Node as N

TODAY = dt.date(2026, 11, 23)
CARD = "HS4010120878811"


def walk(answers, dob=dt.date(1960, 5, 1), card=CARD):
    guide, metrics = hb.start(dob, TODAY, card)
    nodes = [guide.node]
    for a in answers:
        guide, new = hb.answer(guide, a)
        metrics += new
        nodes.append(guide.node)
    return guide, nodes, metrics


def test_integrated_and_opened_shows_how_to_present():
    g, nodes, metrics = walk([A.YES, A.YES, A.YES, A.YES, A.NEXT, A.YES])
    assert nodes == [N.INSTALLED, N.LEVEL2, N.BHYT_SHOWN, N.BOOK_OPENED, N.PRESENT, N.CONFIRM,
                     N.CONFIRM]
    assert g.completed is True
    assert metrics == ["health_book.branch.present"]


def test_integrated_not_opened_activates_then_presents():
    g, nodes, metrics = walk([A.YES, A.YES, A.YES, A.NO, A.NEXT, A.NEXT, A.YES])
    assert nodes[:6] == [N.INSTALLED, N.LEVEL2, N.BHYT_SHOWN, N.BOOK_OPENED, N.ACTIVATE,
                         N.PRESENT]
    assert g.completed is True
    assert metrics == ["health_book.branch.activate"]


def test_level2_without_bhyt_integrates_then_activates():
    g, nodes, metrics = walk([A.YES, A.YES, A.NO, A.NEXT, A.VERIFIED, A.NEXT, A.NEXT, A.NO])
    assert nodes[:7] == [N.INSTALLED, N.LEVEL2, N.BHYT_SHOWN, N.INTEGRATE, N.STATUS,
                         N.ACTIVATE, N.PRESENT]
    assert g.completed is False  # self-reported "not yet"
    assert metrics == ["health_book.branch.integrate_bhyt",
                       "health_book.integration_status.verified", "health_book.branch.activate"]


@pytest.mark.parametrize(("answer", "end", "metric"), [
    (A.PENDING, N.PENDING, "health_book.integration_status.pending"),
    (A.FAILED, N.FAILED, "health_book.integration_status.failed"),
])
def test_integration_status_not_verified_ends_with_what_to_do(answer, end, metric):
    g, nodes, metrics = walk([A.YES, A.YES, A.NO, A.NEXT, answer])
    assert nodes[-1] is end and g.answers()[0] is A.DONE
    g, _ = hb.answer(g, A.DONE)
    assert g.completed is False
    assert metrics[-1] == metric


def test_no_level2_sends_to_police_and_counts_reason():
    g, nodes, metrics = walk([A.YES, A.NO, A.DONE])
    assert nodes == [N.INSTALLED, N.LEVEL2, N.POLICE, N.POLICE]
    assert g.completed is False
    assert metrics == ["health_book.branch.police_level2", "health_book.not_eligible.no_level2"]


def test_not_installed_explains_install_and_can_continue_after_installing():
    g, nodes, metrics = walk([A.NO, A.NEXT, A.YES, A.YES, A.YES, A.NEXT, A.YES])
    assert nodes[:4] == [N.INSTALLED, N.INSTALL, N.LEVEL2, N.BHYT_SHOWN]
    assert g.completed is True
    assert metrics == ["health_book.branch.install", "health_book.branch.present"]


def test_not_installed_later():
    g, nodes, metrics = walk([A.NO, A.LATER, A.DONE])
    assert nodes == [N.INSTALLED, N.INSTALL, N.LATER, N.LATER]
    assert g.completed is False and metrics == ["health_book.branch.install"]


def test_no_smartphone_is_not_eligible():
    g, nodes, metrics = walk([A.NO_SMARTPHONE, A.DONE])
    assert nodes[1] is N.NO_SMARTPHONE and g.completed is False
    assert metrics == ["health_book.not_eligible.no_smartphone"]


def test_unknown_card_asks_whether_they_have_one():
    g, nodes, metrics = walk([A.YES, A.YES, A.NO, A.DONE], card=None)
    assert nodes == [N.INSTALLED, N.LEVEL2, N.HAS_BHYT, N.NO_BHYT, N.NO_BHYT]
    assert metrics == ["health_book.not_eligible.no_bhyt"]
    g, nodes, _ = walk([A.YES, A.YES, A.YES, A.NO], card=None)
    assert nodes[-1] is N.INTEGRATE and g.bhyt_number is None


def test_under_14_explains_and_offers_the_parents_flow():
    child = dt.date(2015, 1, 1)
    g, metrics = hb.start(child, TODAY, CARD)
    assert g.node is N.UNDER_14 and g.bhyt_number is None  # the child's card is not theirs
    assert metrics == ["health_book.not_eligible.under_14"]
    g, nodes, metrics = walk([A.PARENT, A.YES, A.YES, A.YES, A.YES, A.YES, A.NEXT, A.YES],
                             dob=child)
    assert nodes[3] is N.HAS_BHYT  # the parent is asked about their own card
    assert g.parent and g.completed is True and nodes[1] is N.INSTALLED
    assert "health_book.parent_flow" in metrics and "health_book.branch.parent" in metrics
    g, _, _ = walk([A.DONE], dob=child)
    assert g.completed is False


@pytest.mark.parametrize(("dob", "node"), [
    (dt.date(2012, 11, 23), N.INSTALLED),  # 14 today
    (dt.date(2012, 11, 24), N.UNDER_14),  # 14 tomorrow
    (2012, N.INSTALLED),  # year-only births count from 1 January
    (2013, N.UNDER_14),
    (None, N.INSTALLED),  # unknown: ask the adult questions
])
def test_age_boundary(dob, node):
    assert hb.start(dob, TODAY, CARD)[0].node is node


def test_back_returns_and_never_double_counts():
    _, nodes, metrics = walk([A.YES, A.NO, A.BACK, A.NO, A.BACK, A.YES])
    assert nodes == [N.INSTALLED, N.LEVEL2, N.POLICE, N.LEVEL2, N.POLICE, N.LEVEL2,
                     N.BHYT_SHOWN]
    assert metrics.count("health_book.branch.police_level2") == 1


def test_quit_anywhere_counts_where():
    g, _, metrics = walk([A.YES, A.QUIT])
    assert g.completed is False and metrics == ["health_book.quit.level2"]


def test_invalid_answers_change_nothing():
    g, _ = hb.start(None, TODAY, CARD)
    for a in (A.BACK, A.NEXT, A.VERIFIED, A.PARENT, A.DONE):
        assert hb.answer(g, a) == (g, [])
    done, _ = hb.answer(g, A.QUIT)
    assert hb.answer(done, A.YES) == (done, [])


def test_every_listed_answer_has_a_transition():
    for node in N:
        g = hb.Guide(node, CARD, history=(N.INSTALLED,))
        for a in g.answers():
            moved, _ = hb.answer(g, a)
            assert moved != g, (node, a)
    assert all(node in hb.HANDOUT for node in N)


def test_metrics_are_fixed_names():
    names = hb.all_metrics()
    assert all(m.startswith("health_book.") and m.replace(".", "").replace("_", "").isalnum()
               for m in names)


@pytest.mark.parametrize(("cands", "want"), [
    (("HS4010120878811",), "HS4010120878811"),
    (("0101010101",), "0101010101"),
    (("001185012345", "GD4010123456789"), "GD4010123456789"),  # the CCCD is skipped
    (("garbage", None, ""), None),
])
def test_usable_card_number(cands, want):
    assert hb.usable_card_number(*cands) == want


@given(st.lists(st.sampled_from(list(A)), max_size=30), st.booleans(), st.booleans())
def test_fuzzed_taps_never_crash_and_metrics_stay_known(answers, child, card):
    dob = dt.date(2016, 1, 1) if child else dt.date(1980, 1, 1)
    g, metrics = hb.start(dob, TODAY, CARD if card else None)
    for a in answers:
        g, new = hb.answer(g, a)
        metrics += new
    assert set(metrics) <= hb.all_metrics()
    assert len(metrics) == len(set(metrics))
