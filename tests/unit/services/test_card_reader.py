"""`devices.reader` decides the reader once for `kiosk run`, `card read` and `doctor`."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from drivers.emrtd.errors import NoCardError
from kiosk.services import card_reader
from kiosk.services.card_reader import NfcReader, ReaderChoice, load_trust_store


@pytest.mark.parametrize(("setting", "kind", "target"), [
    ("auto", "pcsc", None), ("", "pcsc", None), ("ACS ACR1252 1S", "pcsc", "ACS ACR1252 1S"),
    ("nfc:usb", "nfc", "usb"), ("nfc:", "nfc", "usb"), ("nfc:tty:USB0:pn532", "nfc",
                                                        "tty:USB0:pn532"),
    ("virtual", "virtual", None)])
def test_choice(setting: str, kind: str, target: str | None) -> None:
    assert ReaderChoice.parse(setting) == ReaderChoice(kind, target)  # type: ignore[arg-type]


def test_an_unreadable_trust_store_reads_chips_unverified(tmp_path: Path) -> None:
    store = load_trust_store(str(tmp_path / "missing"))
    assert store is not None and store.anchors == [] and store.problems
    assert load_trust_store(None) is None


class FakeNfc:
    """Stands in for drivers.nfc.NfcTransport (no PN53x here): counts the field."""

    def __init__(self, present: bool) -> None:
        self.present = present
        self.open = 0
        self.closed = 0

    def __call__(self, timeout: float) -> FakeNfc:
        if not self.present:
            raise NoCardError("no card")
        self.open += 1
        return self

    def transmit(self, apdu: bytes) -> bytes:
        return b"\x90\x00"

    def close(self) -> None:
        self.closed += 1


def test_nfc_presence_polls_never_run_during_a_read(monkeypatch: pytest.MonkeyPatch) -> None:
    reader = NfcReader(ReaderChoice("nfc", "usb"))
    fake = FakeNfc(present=True)
    monkeypatch.setattr(reader, "_transport", fake)
    assert reader.card_present() is True
    transport = reader.open_transport()
    seen: list[bool | None] = []
    poll = threading.Thread(target=lambda: seen.append(reader.card_present()))
    poll.start()
    poll.join()
    assert seen == [None]  # the reader is busy: the poll did not touch it
    transport.close()
    transport.close()  # closing twice gives the reader back once
    assert reader.card_present() is True
    fake.present = False
    assert reader.card_present() is False
    assert fake.open == fake.closed == 3


def test_a_failed_open_gives_the_reader_back(monkeypatch: pytest.MonkeyPatch) -> None:
    reader = NfcReader(ReaderChoice("nfc", "usb"))
    monkeypatch.setattr(reader, "_transport", FakeNfc(present=False))
    with pytest.raises(NoCardError):
        reader.open_transport()
    assert reader.card_present() is False  # not stuck behind the lock


def test_module_names_every_reader_kind() -> None:
    assert {c.kind for c in map(ReaderChoice.parse, ("auto", "nfc:usb", "virtual"))} == set(
        card_reader.ReaderKind.__args__)  # type: ignore[attr-defined]
