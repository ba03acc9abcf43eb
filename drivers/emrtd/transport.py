"""One interface for every way of reaching a card (PC/SC, nfcpy, in-process)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol


class Transport(Protocol):
    """Sends one APDU, returns the response with its status word.

    Implementations raise `TransportError` subclasses (`CardRemovedError`,
    `NoCardError`, `NoReaderError`) and never return partial data.
    """

    name: str
    extended_length: bool

    def transmit(self, apdu: bytes) -> bytes: ...

    def close(self) -> None: ...


class CallableTransport:
    """A function as a transport: the in-process virtual card, test doubles."""

    def __init__(
        self, fn: Callable[[bytes], bytes], name: str = "in-process", extended_length: bool = True
    ) -> None:
        self._fn = fn
        self.name = name
        self.extended_length = extended_length

    def transmit(self, apdu: bytes) -> bytes:
        return self._fn(apdu)

    def close(self) -> None:
        return None
