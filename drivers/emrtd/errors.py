"""Typed errors for the eMRTD driver.

Callers branch on the class, never on message text: a wrong key, a removed
card and a forged file each need a different answer for the patient.
"""

from __future__ import annotations


class EmrtdError(Exception):
    """Base class of everything the driver raises on purpose."""


class TransportError(EmrtdError):
    """The link to the card failed (no reader, reader gone, I/O error)."""


class NoReaderError(TransportError):
    """No reader is connected (or the named one does not exist)."""


class NoCardError(TransportError):
    """The reader has no card in its field."""


class CardRemovedError(TransportError):
    """The card left the field during the session."""


class StatusWordError(EmrtdError):
    """The card answered a status word other than 9000."""

    def __init__(self, sw: int, context: str = "") -> None:
        self.sw = sw
        text = f"card returned {sw:04X}"
        super().__init__(f"{context}: {text}" if context else text)


class AuthenticationFailedError(StatusWordError):
    """6300 / 63Cx (and 6988 / 6982 at the key step): the card rejected the key (wrong
    CAN, MRZ or dates)."""


class SecurityStatusError(StatusWordError):
    """6982: the file needs an access right this session does not have."""


class FileMissingError(StatusWordError):
    """6A82: the file or application does not exist on this card."""


class WrongLengthError(StatusWordError):
    """6700 / 6Cxx: the card does not accept the requested length."""

    @property
    def exact_length(self) -> int | None:
        """The length the card asks for with 6Cxx, if it said one."""
        return self.sw & 0xFF if (self.sw >> 8) == 0x6C else None


class SecureMessagingError(EmrtdError):
    """A protected response was malformed or its MAC did not verify.

    A bad MAC is never data: the session is unusable afterwards.
    """


class ProtocolError(EmrtdError):
    """The card's answer breaks the protocol (bad nonce, token, lengths)."""


class ParseError(EmrtdError):
    """A file or data object could not be parsed (truncated, wrong tags, garbage)."""


class EmptyFileError(ParseError):
    """The file exists but holds no bytes (a bare 6282 or nothing at offset 0)."""


class VerificationFailedError(EmrtdError):
    """A check that decides whether the chip is genuine failed and no identity could be
    read either; `failures` names each check (a possible clone or forgery)."""

    def __init__(self, failures: tuple[str, ...]) -> None:
        self.failures = failures
        super().__init__("; ".join(failures))


class UnsupportedError(EmrtdError):
    """The card uses an algorithm or parameter set this driver does not implement."""


_SW_CLASSES: dict[int, type[StatusWordError]] = {
    0x6982: SecurityStatusError,
    0x6A82: FileMissingError,
    0x6700: WrongLengthError,
}


def status_error(sw: int, context: str = "") -> StatusWordError:
    """The typed error for a status word."""
    if sw == 0x6300 or (sw >> 4) == 0x63C:
        return AuthenticationFailedError(sw, context)
    if (sw >> 8) == 0x6C:
        return WrongLengthError(sw, context)
    return _SW_CLASSES.get(sw, StatusWordError)(sw, context)


# How chips refuse a wrong key at MUTUAL AUTHENTICATE / PACE's last GENERAL AUTHENTICATE:
# 6300 and 63Cx (retries left) by the book; 6988 (SM data objects incorrect) and 6982
# (security status not satisfied) on chips in the field and upstream vsmartcard's ePass.
KEY_REFUSED = frozenset({0x6988, 0x6982})


def key_step_error(sw: int, context: str) -> StatusWordError:
    """The typed error for a status word answered to the key step."""
    if sw in KEY_REFUSED:
        return AuthenticationFailedError(sw, context)
    return status_error(sw, context)
