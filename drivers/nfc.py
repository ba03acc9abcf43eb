"""nfcpy transport: ISO-DEP (ISO 14443-4) on PN53x-class readers used without pcscd.

Same interface as `drivers.pcsc.PcscTransport`. nfcpy talks to the reader
over USB/serial directly (`path` like "usb", "usb:054c:06c3", "tty:USB0:pn532"),
so pcscd must not hold the device. The tests drive it through nfcpy's UDP
frontend ("udp:127.0.0.1:PORT") against `drivers.virtual.nfc_udp`.
"""

from __future__ import annotations

from typing import Any

from drivers.emrtd.errors import CardRemovedError, NoCardError, NoReaderError, TransportError


class NfcTransport:
    def __init__(self, path: str = "usb", *, timeout: float = 1.0) -> None:
        try:
            import nfc
            import nfc.clf
        except ImportError as exc:  # pragma: no cover - dependency declared in pyproject
            raise NoReaderError(f"nfcpy is not installed ({exc})") from None
        self._nfc = nfc
        try:
            self._clf: Any = nfc.ContactlessFrontend(path)
        except OSError as exc:
            raise NoReaderError(f"NFC reader {path!r} not available ({exc})") from None
        target = self._clf.sense(
            nfc.clf.RemoteTarget("106A"), nfc.clf.RemoteTarget("106B"),
            iterations=max(1, int(timeout / 0.1)), interval=0.1,
        )  # fmt: skip
        if target is None:
            self._clf.close()
            raise NoCardError("no card in the NFC field")
        self._tag: Any = nfc.tag.activate(self._clf, target)
        if self._tag is None or not hasattr(self._tag, "transceive"):
            self._clf.close()
            raise NoCardError("the card in the field is not ISO-DEP")
        self.name = f"nfcpy {path}"
        self.extended_length = False  # PN53x: short APDUs only

    def transmit(self, apdu: bytes) -> bytes:
        try:
            return bytes(self._tag.transceive(apdu))
        except self._nfc.tag.TagCommandError as exc:
            # ISO-DEP gives up after its R(NAK) retries with a timeout, receive or
            # protocol error: in the field that is a card lifted off the reader.
            raise CardRemovedError(f"card stopped answering ({exc})") from None
        except self._nfc.clf.TimeoutError:
            raise CardRemovedError("card stopped answering") from None
        except self._nfc.clf.CommunicationError as exc:
            raise CardRemovedError(f"card link broken ({exc})") from None
        except Exception as exc:
            raise TransportError(f"NFC transmit failed: {exc}") from None

    def close(self) -> None:
        self._clf.close()
