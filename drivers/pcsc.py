"""PC/SC transport (pyscard) with reader and card monitoring.

Errors are the driver's typed errors: no reader, no card, card removed
(pcscd reports removal at once on vpcd and within its polling period on USB
readers; a removal during a transmit surfaces as CardRemovedError).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from drivers.emrtd.errors import CardRemovedError, NoCardError, NoReaderError, TransportError

# Readers known to be short-APDU only (DOMAIN.md §10).
SHORT_ONLY = ("ACR122",)
# vsmartcard-vpcd's readers: software, for tests and demos (never a patient's card).
VIRTUAL_READER_PREFIXES = ("Virtual PCD",)


def is_virtual_reader(name: str) -> bool:
    return name.startswith(VIRTUAL_READER_PREFIXES)


@dataclass(frozen=True)
class ReaderInfo:
    name: str
    card_present: bool
    atr: bytes | None


def _scard() -> Any:
    from smartcard import scard

    return scard


def list_readers() -> list[ReaderInfo]:
    """Readers and whether a card is in the field (raises NoReaderError if pcscd is absent)."""
    scard = _scard()
    hr, ctx = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    if hr != scard.SCARD_S_SUCCESS:
        raise NoReaderError("PC/SC service (pcscd) is not available")
    try:
        hr, names = scard.SCardListReaders(ctx, [])
        if hr != scard.SCARD_S_SUCCESS or not names:
            return []
        states = [(n, scard.SCARD_STATE_UNAWARE) for n in names]
        hr, result = scard.SCardGetStatusChange(ctx, 0, states)
        out = []
        for name, state, atr in result if hr == scard.SCARD_S_SUCCESS else []:
            present = bool(state & scard.SCARD_STATE_PRESENT) and not (
                state & scard.SCARD_STATE_MUTE
            )
            out.append(ReaderInfo(name, present, bytes(atr) if present and atr else None))
        return out
    finally:
        scard.SCardReleaseContext(ctx)


class PcscTransport:
    """A connection to the card in one reader (the first reader with a card by default)."""

    def __init__(self, reader: str | None = None, *, extended_length: bool | None = None) -> None:
        scard = _scard()
        self._scard = scard
        hr, self._ctx = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
        if hr != scard.SCARD_S_SUCCESS:
            raise NoReaderError("PC/SC service (pcscd) is not available")
        try:
            readers = list_readers()
            if not readers:
                raise NoReaderError("no smart-card reader connected")
            if reader is not None:
                match = [r for r in readers if r.name == reader or r.name.startswith(reader)]
                if not match:
                    raise NoReaderError(f"reader {reader!r} not found")
                chosen = match[0]
            else:
                with_card = [r for r in readers if r.card_present]
                chosen = with_card[0] if with_card else readers[0]
            if not chosen.card_present:
                raise NoCardError(f"no card on reader {chosen.name!r}")
            self.name = chosen.name
            hr, self._card, self._proto = scard.SCardConnect(
                self._ctx, chosen.name, scard.SCARD_SHARE_EXCLUSIVE,
                scard.SCARD_PROTOCOL_T0 | scard.SCARD_PROTOCOL_T1,
            )  # fmt: skip
            if hr != scard.SCARD_S_SUCCESS:
                raise self._error(hr, "connect")
        except BaseException:
            scard.SCardReleaseContext(self._ctx)
            raise
        self.extended_length = (
            not any(s in self.name for s in SHORT_ONLY) if extended_length is None
            else extended_length
        )  # fmt: skip

    def _error(self, hr: int, what: str) -> TransportError:
        s = self._scard
        text = s.SCardGetErrorMessage(hr)
        if hr in (s.SCARD_W_REMOVED_CARD, s.SCARD_E_NO_SMARTCARD, s.SCARD_W_RESET_CARD):
            return CardRemovedError(f"card removed during {what} ({text})")
        if hr in (s.SCARD_E_UNKNOWN_READER, s.SCARD_E_READER_UNAVAILABLE,
                  s.SCARD_E_NO_READERS_AVAILABLE, s.SCARD_E_NO_SERVICE,
                  s.SCARD_E_SERVICE_STOPPED):  # fmt: skip
            return NoReaderError(f"reader gone during {what} ({text})")
        if hr in (s.SCARD_W_UNRESPONSIVE_CARD, s.SCARD_W_UNPOWERED_CARD):
            return NoCardError(f"card does not answer ({text})")
        if what == "transmit" and hr in (s.SCARD_E_NOT_TRANSACTED, s.SCARD_F_COMM_ERROR):
            # A contactless card that stops answering mid-exchange has almost
            # always left the field; pcscd reports the removal a poll later.
            return CardRemovedError(f"card stopped answering ({text})")
        return TransportError(f"{what} failed: {text}")

    def transmit(self, apdu: bytes) -> bytes:
        s = self._scard
        pci = s.SCARD_PCI_T1 if self._proto == s.SCARD_PROTOCOL_T1 else s.SCARD_PCI_T0
        hr, response = s.SCardTransmit(self._card, pci, list(apdu))
        if hr != s.SCARD_S_SUCCESS:
            raise self._error(hr, "transmit")
        if len(response) < 2:
            # vpcd (and some USB readers) report a vanished card as an empty
            # answer rather than an error; a status word is always present otherwise.
            raise CardRemovedError("card gave no status word (removed)")
        return bytes(response)

    def close(self) -> None:
        s = self._scard
        try:
            s.SCardDisconnect(self._card, s.SCARD_LEAVE_CARD)
        finally:
            s.SCardReleaseContext(self._ctx)

    def __enter__(self) -> PcscTransport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class CardMonitor:
    """Calls back on card insertion/removal in any reader, and on readers coming and going.

    A thread blocks in SCardGetStatusChange (with the PnP pseudo-reader), so
    events arrive within milliseconds; if pcscd restarts, the context is
    re-established. Callbacks run on the monitor thread.
    """

    PNP = "\\\\?PnP?\\Notification"

    def __init__(
        self,
        on_insert: Callable[[ReaderInfo], None],
        on_remove: Callable[[str], None],
        on_readers: Callable[[list[str]], None] | None = None,
        poll_timeout_ms: int = 500,
    ) -> None:
        self.on_insert, self.on_remove, self.on_readers = on_insert, on_remove, on_readers
        self.timeout = poll_timeout_ms
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="pcsc-monitor", daemon=True)

    def start(self) -> CardMonitor:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)

    def _run(self) -> None:
        s = _scard()
        present: dict[str, bool] = {}
        while not self._stop.is_set():
            hr, ctx = s.SCardEstablishContext(s.SCARD_SCOPE_USER)
            if hr != s.SCARD_S_SUCCESS:
                self._stop.wait(1.0)
                continue
            try:
                self._watch(s, ctx, present)
            finally:
                s.SCardReleaseContext(ctx)

    def _watch(self, s: Any, ctx: Any, present: dict[str, bool]) -> None:
        known: list[str] = []
        states: list[Any] = []
        while not self._stop.is_set():
            hr, names = s.SCardListReaders(ctx, [])
            names = list(names) if hr == s.SCARD_S_SUCCESS else []
            if hr not in (s.SCARD_S_SUCCESS, s.SCARD_E_NO_READERS_AVAILABLE):
                return  # service gone: re-establish
            if names != known:
                for gone in set(known) - set(names):
                    if present.pop(gone, False):
                        self.on_remove(gone)
                known = names
                if self.on_readers:
                    self.on_readers(names)
                states = [(n, s.SCARD_STATE_UNAWARE) for n in names] + [
                    (self.PNP, s.SCARD_STATE_UNAWARE)
                ]
            hr, result = s.SCardGetStatusChange(ctx, self.timeout, states)
            if hr == s.SCARD_E_TIMEOUT:
                continue
            if hr != s.SCARD_S_SUCCESS:
                return
            states = []
            for name, state, atr in result:
                states.append((name, state & ~s.SCARD_STATE_CHANGED))
                if name == self.PNP:
                    continue
                now = bool(state & s.SCARD_STATE_PRESENT)
                if now and not present.get(name, False):
                    self.on_insert(ReaderInfo(name, True, bytes(atr) if atr else None))
                elif not now and present.get(name, False):
                    self.on_remove(name)
                present[name] = now
