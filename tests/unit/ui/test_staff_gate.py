from __future__ import annotations

import pytest

pytest.importorskip("kivy")

from kiosk.domain.staff_pin import hash_pin
from kiosk.ops.pin_attempts import PinAttempts
from kiosk.ui.staff import PinGate

HASHED = hash_pin("246802")


def test_five_quick_taps_ask_for_the_pin_and_only_the_pin_opens() -> None:
    gate = PinGate(HASHED)
    assert not any(gate.tap(t) for t in (0, 1, 2, 3))
    assert gate.tap(3.5)
    assert gate.check("246802") and not gate.check("246803") and not gate.check("")


def test_slow_taps_and_an_empty_pin_never_open() -> None:
    gate = PinGate(HASHED)
    assert not any(gate.tap(t * 2.0) for t in range(10))  # one tap every 2 s
    closed = PinGate("")
    assert not any(closed.tap(t * 0.1) for t in range(10))
    assert not closed.check("")


def test_guessing_is_slowed_then_locked(tmp_path) -> None:
    """The 4-digit PIN of issue 16 fell at try 7392: now try 6 waits, try 10 locks."""
    now = [1000.0]
    gate = PinGate(HASHED, attempts=PinAttempts(tmp_path / "pin.json", lambda: now[0]))
    for guess in range(100000, 100005):
        assert not gate.check(str(guess))
    assert gate.retry_in() == 0
    assert not gate.check("100005") and gate.retry_in() == 30
    assert not gate.check("246802")  # right, but the pad is waiting
    for _ in range(4):
        now[0] += gate.retry_in()
        assert not gate.check("111112")
    assert gate.locked and gate.retry_in() == 3600
    now[0] += 3600
    assert gate.check("246802") and not gate.locked
