"""Card presence from PC/SC with several readers (`reader = "auto"`): one reader's card
lifted must not wipe the presence of the other's."""

from __future__ import annotations

from typing import Any

import pytest

from drivers import pcsc
from kiosk.cli._devices import PcscCardSource
from kiosk.journey import events as ev
from kiosk.services.card_reader import ReaderChoice


class Monitor:
    """Stands in for the pcscd thread: the test calls its callbacks as pcscd would."""

    def __init__(self, insert: Any, remove: Any, readers: Any) -> None:
        self.insert, self.remove, self.readers = insert, remove, readers

    def start(self) -> Monitor:
        return self

    def stop(self) -> None:
        pass


@pytest.fixture
def source(monkeypatch: pytest.MonkeyPatch) -> tuple[PcscCardSource, list[ev.Event], Any]:
    made: list[Monitor] = []
    monkeypatch.setattr(pcsc, "CardMonitor", lambda *a: made.append(Monitor(*a)) or made[-1])
    events: list[ev.Event] = []
    src = PcscCardSource(ReaderChoice.parse("auto"))
    src.start(events.append)
    return src, events, made[0]


def test_presence_is_kept_per_reader(source: Any) -> None:
    src, events, m = source
    m.readers(["ACS 0", "ACS 1"])
    m.insert(pcsc.ReaderInfo("ACS 0", True, None))
    m.insert(pcsc.ReaderInfo("ACS 1", True, None))
    m.remove("ACS 0")  # a card still lies on ACS 1
    assert events == [ev.CardPlaced(), ev.CardPlaced()]
    assert src.status().state == "device.card_present"
    m.remove("ACS 1")
    assert events[-1] == ev.CardRemoved() and src.status().state == "device.no_card"


def test_an_unplugged_reader_takes_its_card_with_it(source: Any) -> None:
    _src, events, m = source
    m.readers(["ACS 0", "ACS 1"])
    m.insert(pcsc.ReaderInfo("ACS 1", True, None))
    m.readers(["ACS 0"])  # ACS 1 unplugged (pcscd reports the removal too)
    m.remove("ACS 1")
    assert events == [ev.CardPlaced(), ev.CardRemoved()]
