from __future__ import annotations

import pytest

pytest.importorskip("kivy")

from kiosk.ui.staff import PinGate


def test_five_quick_taps_ask_for_the_pin_and_only_the_pin_opens() -> None:
    gate = PinGate("2468")
    assert not any(gate.tap(t) for t in (0, 1, 2, 3))
    assert gate.tap(3.5)
    assert gate.check("2468") and not gate.check("2469") and not gate.check("")


def test_slow_taps_and_an_empty_pin_never_open() -> None:
    gate = PinGate("2468")
    assert not any(gate.tap(t * 2.0) for t in range(10))  # one tap every 2 s
    closed = PinGate("")
    assert not any(closed.tap(t * 0.1) for t in range(10))
    assert not closed.check("")
