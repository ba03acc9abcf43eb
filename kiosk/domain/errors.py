"""Typed errors for domain values: every malformed input raises one of these."""

from __future__ import annotations


class DomainError(ValueError):
    """A value broke a documented rule; the message says which rule."""


class InvalidCitizenId(DomainError):
    pass


class InvalidBhytNumber(DomainError):
    pass


class MalformedQr(DomainError):
    """The payload has the shape of a known QR kind but breaks its rules."""
