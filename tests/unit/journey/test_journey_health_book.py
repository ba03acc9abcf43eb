"""The health-book guide inside the journey: start data, answers, metrics, wiping."""

import datetime as dt
import importlib.util
import sys
from dataclasses import replace
from pathlib import Path

from kiosk.journey import Step
from kiosk.journey import events as ev
from kiosk.journey.health_book import Answer as A
from kiosk.journey.health_book import Node as N

# Reuse the journey tests' harness and fixtures (tests are not a package under importlib mode).
_spec = importlib.util.spec_from_file_location(
    "journey_harness", Path(__file__).with_name("test_journey.py"))
assert _spec and _spec.loader
tj = importlib.util.module_from_spec(_spec)
sys.modules["journey_harness"] = tj
_spec.loader.exec_module(tj)


def to_guide(identity=None):
    h = tj.Harness()
    h.to_ticket()
    if identity is not None:
        h.j.session = replace(h.s, identity=identity)
    h.printed(tj.PrintResult(True))
    h.send(ev.Continue())
    h.send(ev.HealthBookStarted())
    assert h.step is Step.HEALTH_BOOK
    return h


def test_guide_starts_with_the_card_found_by_the_check():
    h = to_guide()
    assert h.s.health_book.node is N.INSTALLED
    assert h.s.health_book.bhyt_number == "GD4010123456789"
    assert h.counts() == ["health_book.started"]


def test_answers_count_and_finish_completed():
    h = to_guide()
    metrics = []
    for a in (A.YES, A.YES, A.NO, A.NEXT, A.VERIFIED, A.NEXT, A.NEXT):
        metrics += h.send(ev.HealthBookAnswered(a))
        assert h.step is Step.HEALTH_BOOK
    h.send(ev.HealthBookAnswered(A.YES))
    assert h.step is Step.DONE and h.s.health_book is None
    assert h.counts() == ["health_book.completed", "journey.completed"]
    assert [m.metric for m in metrics] == [
        "health_book.branch.integrate_bhyt", "health_book.integration_status.verified",
        "health_book.branch.activate"]


def test_under_14_child_from_chip_date_of_birth():
    child = replace(tj.CHIP_ID, date_of_birth=dt.date(2016, 6, 1))
    h = to_guide(child)
    assert h.s.health_book.node is N.UNDER_14 and h.s.health_book.bhyt_number is None
    assert h.counts() == ["health_book.started", "health_book.not_eligible.under_14"]
    h.send(ev.HealthBookAnswered(A.DONE))
    assert h.step is Step.DONE and h.counts()[0] == "health_book.not_completed"


def test_quit_and_placeholder_finish_still_work():
    h = to_guide()
    h.send(ev.HealthBookAnswered(A.QUIT))
    assert h.step is Step.DONE
    assert h.counts() == ["health_book.quit.installed", "health_book.not_completed",
                          "journey.completed"]
    h = to_guide()
    h.send(ev.HealthBookFinished(completed=True))
    assert h.step is Step.DONE and h.counts()[0] == "health_book.completed"


def test_stale_answer_outside_the_guide_is_ignored():
    h = tj.Harness()
    h.to_ticket()
    assert h.send(ev.HealthBookAnswered(A.YES)) == []
    assert h.step is Step.TICKET


def test_timeout_wipes_the_guide():
    h = to_guide()
    h.send(ev.HealthBookAnswered(A.YES))
    h.send(ev.Tick(), after=1000)
    assert h.step is Step.IDLE and h.s.health_book is None
