"""Which chip reader the kiosk talks to, decided once from `devices.reader`.

`kiosk run`, `kiosk card read --config` and `kiosk doctor` all ask this module,
so the screen, the command line and the self-test always mean the same reader:

* `auto`: PC/SC (pcscd), the first reader with a card;
* any other name: the PC/SC reader whose name starts with it;
* `nfc:PATH`: a PN53x reader driven by nfcpy (`nfc:usb`, `nfc:tty:USB0:pn532`);
* `virtual`: the in-process virtual CCCD of the demo (never on a real kiosk).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from drivers.emrtd.errors import NoCardError
from drivers.emrtd.passive import TrustStore
from drivers.emrtd.transport import Transport

ReaderKind = Literal["pcsc", "nfc", "virtual"]
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReaderChoice:
    kind: ReaderKind
    target: str | None = None  # PC/SC name prefix (None: any reader) or nfcpy path

    @classmethod
    def parse(cls, setting: str) -> ReaderChoice:
        value = setting.strip()
        if value == "virtual":
            return cls("virtual")
        if value.startswith("nfc:"):
            return cls("nfc", value[4:] or "usb")
        if value in ("", "auto"):
            return cls("pcsc")
        return cls("pcsc", value)

    def describe(self) -> str:
        if self.kind == "pcsc":
            return f"PC/SC {self.target!r}" if self.target else "PC/SC (any reader)"
        if self.kind == "nfc":
            return f"nfcpy {self.target}"
        return "virtual reader (demo)"


def load_trust_store(path: str | None) -> TrustStore | None:
    """The CSCA certificates passive authentication checks against (None: none
    configured, so a genuine chip reads as "untrusted", never as "verified"). An
    unreadable store is logged and leaves an empty one: chips still read, unverified,
    and `kiosk doctor` says why."""
    if not path:
        return None
    try:
        return TrustStore.load(Path(path))
    except OSError as exc:
        log.warning("trust store %s unreadable: %s", path, exc.strerror or exc)
        return TrustStore(problems=[f"{path}: {exc.strerror or exc}"])


class PcscReader:
    """The identity port's transport factory for a PC/SC reader. With `auto`, a real
    reader with a card comes before a virtual (vpcd) one."""

    def __init__(self, choice: ReaderChoice) -> None:
        self.choice = choice

    def open_transport(self) -> Transport:
        from drivers.pcsc import PcscTransport, is_virtual_reader, list_readers

        target = self.choice.target
        if target is None:
            with_card = sorted((r for r in list_readers() if r.card_present),
                               key=lambda r: is_virtual_reader(r.name))
            target = with_card[0].name if with_card else None
        return PcscTransport(target)


class NfcReader:
    """nfcpy owns its USB device alone: the presence poll and a chip read take
    turns on one lock (a poll never runs while a read holds the device)."""

    def __init__(self, choice: ReaderChoice) -> None:
        self.choice = choice
        self._lock = threading.Lock()

    def _transport(self, timeout: float) -> Transport:
        from drivers.nfc import NfcTransport

        return NfcTransport(self.choice.target or "usb", timeout=timeout)

    def open_transport(self) -> Transport:
        self._lock.acquire()
        try:
            transport = self._transport(timeout=1.0)
        except BaseException:
            self._lock.release()
            raise
        return _Releasing(transport, self._lock)

    def card_present(self) -> bool | None:
        """True/False from a short poll; None while a read holds the reader.
        Raises NoReaderError when the reader is gone."""
        if not self._lock.acquire(blocking=False):
            return None
        try:
            self._transport(timeout=0.2).close()
            return True
        except NoCardError:
            return False
        finally:
            self._lock.release()


class _Releasing:
    """A transport that gives the reader back when closed."""

    def __init__(self, inner: Transport, lock: threading.Lock) -> None:
        self.inner = inner
        self.name = getattr(inner, "name", "nfc")
        self.extended_length = getattr(inner, "extended_length", False)
        self._lock: threading.Lock | None = lock

    def transmit(self, apdu: bytes) -> bytes:
        return self.inner.transmit(apdu)

    def close(self) -> None:
        lock, self._lock = self._lock, None
        if lock is None:
            return  # closed already: the reader went back once
        try:
            self.inner.close()
        finally:
            lock.release()
