"""Wrong staff PINs: 5 free, then 30 s doubling waits, a 1 h lockout at 10; logged
without digits, counted, and remembered across a restart through the state file."""

import json
import logging

from kiosk.ops.pin_attempts import LOCKOUT_S, PinAttempts, failures_total


class Clock:
    def __init__(self):
        self.t = 1_700_000_000.0

    def __call__(self):
        return self.t


def wrong(attempts):
    return attempts.attempt(lambda: False)


def test_escalating_waits_then_lockout(tmp_path, caplog):
    caplog.set_level(logging.INFO, "kiosk.staff.pin")
    clock = Clock()
    a = PinAttempts(tmp_path / "staff-pin.json", clock)
    for _ in range(5):
        assert not wrong(a) and a.wait_s() == 0
    waits, checked = [], []
    for _ in range(4):  # tries 6..9
        assert not wrong(a)
        waits.append(a.wait_s())
        assert not a.attempt(lambda: checked.append(1) or True)  # the right PIN, too early
        clock.t += a.wait_s()
    assert checked == []  # not even hashed while the pad waits
    assert waits == [30, 60, 120, 240]
    assert not wrong(a)  # the 10th
    assert a.locked() and a.wait_s() == LOCKOUT_S
    clock.t += LOCKOUT_S
    assert not a.locked()
    assert not wrong(a) and a.wait_s() == LOCKOUT_S  # every wrong PIN after it locks again
    clock.t += LOCKOUT_S
    assert a.attempt(lambda: True) and a.streak == 0 and a.total_failures == 11
    failures = [r for r in caplog.records if "wrong" in r.getMessage()]
    assert len([r for r in failures if r.levelno >= logging.WARNING]) >= 11
    assert any(r.levelno == logging.ERROR and "locked" in r.getMessage() for r in failures)


def test_a_restart_keeps_the_streak_and_the_lock(tmp_path):
    clock = Clock()
    path = tmp_path / "staff-pin.json"
    a = PinAttempts(path, clock)
    for _ in range(7):
        clock.t += a.wait_s()
        wrong(a)
    b = PinAttempts(path, clock)  # the UI restarted (or the plug was pulled)
    assert b.streak == 7 and b.wait_s() == 60 and not b.attempt(lambda: True)
    assert failures_total(tmp_path) == 7
    assert json.loads(path.read_text()).keys() == {"streak", "total", "blocked_until"}


def test_a_damaged_record_locks_rather_than_unlocks(tmp_path):
    clock = Clock()
    path = tmp_path / "staff-pin.json"
    path.write_text("{not json")
    a = PinAttempts(path, clock)
    assert a.locked() and not a.attempt(lambda: True)
    assert failures_total(tmp_path) is None


def test_without_a_state_file_it_counts_in_memory():
    a = PinAttempts(None, Clock())
    for _ in range(7):
        wrong(a)
    assert a.wait_s() == 30 and a.total_failures == 6  # the 7th came too early: not counted
