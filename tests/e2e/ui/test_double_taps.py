"""Elderly hands double-tap: every tap of one patient's journey is a double or triple
tap (100–600 ms apart) through the real widgets, and the journey is exactly the one
single taps would give. Without the touch guard the second taps land on the next
screen's buttons: "Quay lại" twice goes back two screens, "Tiếp tục" answers the
health-book question, the guide skips a question, "Đóng" on the staff screen starts
a session underneath."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from kiosk.ui.xvfb import Xvfb

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("double-taps")
    with Xvfb(1920, 1080) as x:
        env = {**os.environ, "DISPLAY": x.display}
        proc = subprocess.run([sys.executable, "-m", "tests.e2e.ui.taps_driver", str(out)],
                              env=env, capture_output=True, text=True, timeout=150,
                              cwd=Path(__file__).parents[3])
    report = json.loads((out / "ui-report.json").read_text("utf-8"))
    probes = json.loads((out / "probes.json").read_text("utf-8"))
    return {"rc": proc.returncode, "out": proc.stdout + proc.stderr, "report": report,
            "probes": probes}


def test_the_script_completes(run: dict[str, Any]) -> None:
    assert run["report"]["failures"] == [], run["out"][-3000:]
    assert run["rc"] == 0, run["out"][-3000:]
    assert run["report"]["repeated_taps"] == 15  # every extra tap was really made


@pytest.mark.parametrize(("probe", "expected"), [
    ("start", {"step": "need_key"}),  # triple tap: not "Hủy, làm lại" after it
    ("continue", {"step": "choose_service"}),
    ("service", {"step": "confirm_service"}),
    ("back", {"step": "choose_service"}),  # not back again to the insurance result
    ("register", {"step": "ticket"}),  # the number is on screen, not skipped
    ("ticket", {"step": "health_book_offer"}),  # the question is not answered for them
    ("offer", {"step": "health_book", "guide": "installed", "handout": None}),
    ("guide-answer", {"step": "health_book", "guide": "install", "page": 0}),
    ("guide-page", {"step": "health_book", "guide": "install", "page": 1}),
    ("quit", {"step": "done"}),
    ("pin", {"step": "idle", "staff": True, "pin": False}),
    ("staff-close", {"step": "idle", "staff": False, "pin": False}),  # no session below
])
def test_each_multi_tap_acts_once_on_the_screen_it_was_aimed_at(
        run: dict[str, Any], probe: str, expected: dict[str, Any]) -> None:
    seen = run["probes"][probe]
    assert {k: seen[k] for k in expected} == expected, seen


def test_the_staff_screen_shows_registrations_not_yet_in_the_his(run: dict[str, Any]) -> None:
    # The demo runs no sync daemon: the one registration of the run is still waiting.
    outbox = run["probes"]["pin"]["staff_outbox"]
    assert "Chưa gửi được vào HIS: 1 lượt (0 bị từ chối)" in outbox, outbox


@pytest.mark.parametrize(("probe", "expected"), [
    ("pin-reopened", {"pin": True, "pin_typed": ""}),  # "Đóng" forgot the digits
    ("pin-wrong", {"pin": True, "staff": False, "pin_message": "Mã PIN không đúng. Xin nhập lại."}),
    ("pin-idle", {"pin": False, "pin_typed": ""}),  # 60 s untouched: closed and forgotten
    ("staff-idle", {"staff": False}),
    ("pin-after-reset", {"step": "idle", "pin": False}),  # not left over the start screen
    ("pin-fresh", {"pin": True, "pin_typed": "", "pin_message": ""}),
    ("pin-short", {"pin": True, "pin_typed": "", "pin_failures": 0,
                   "pin_message": "Mã nhân viên có từ 6 đến 12 số. Xin nhập lại."}),
    ("pin-card", {"step": "need_key", "pin": False, "pin_typed": "", "pin_failures": 0}),
    ("pin-qr", {"step": "confirm_identity", "pin": False, "pin_typed": ""}),
    ("pin-wait", {"pin": True, "staff": False,
                  "pin_message": "Mã PIN không đúng. Xin chờ 30 giây rồi thử lại."}),
])
def test_the_staff_screens_close_and_forget(run: dict[str, Any], probe: str,
                                            expected: dict[str, Any]) -> None:
    seen = run["probes"][probe]
    assert {k: seen[k] for k in expected} == expected, seen


@pytest.mark.parametrize(("probe", "expected"), [
    ("key-cleared", {"step": "need_key", "display": "––– –––"}),
    ("key-short", {"display": "––– –––", "hint": "Cần đủ 6 số; bạn mới nhập 0 số."}),
    ("key-wrong", {"step": "need_key", "display": "––– –––", "notice": "wrong_key"}),
])
def test_a_wrong_number_is_cleared_in_one_tap_and_said_what_is_wrong(
        run: dict[str, Any], probe: str, expected: dict[str, Any]) -> None:
    seen = run["probes"][probe]
    assert {k: seen[k] for k in expected} == expected, seen


def test_the_screens_visited_are_those_of_single_taps(run: dict[str, Any]) -> None:
    steps = [s for s, _ in run["report"]["timeline"]]
    assert steps == [
        "idle", "need_key", "reading_chip", "confirm_identity", "checking_insurance",
        "insurance_result", "choose_service", "confirm_service", "choose_service",
        "confirm_service", "registering", "ticket", "health_book_offer", "health_book",
        "done", "idle", "need_key", "idle", "need_key", "idle", "confirm_identity", "idle",
        "need_key", "reading_chip", "need_key", "idle"]
