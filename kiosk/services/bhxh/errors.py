"""Why a gateway lookup produced no answer, as a small hierarchy.

`GatewayUnavailable` is the gateway's trouble (slow, down, garbled): the
patient goes on "not checked". `GatewayConfigError` is the kiosk's own
(credentials, URL, TLS): staff must act; the patient still goes on.
"""

from __future__ import annotations


class GatewayError(Exception):
    """Base class; `str()` is safe for logs (never personal data)."""


class GatewayUnavailable(GatewayError):
    """Timeout, refused connection, HTTP 5xx, result 101/500: worth a later retry."""


class GatewayProtocolError(GatewayUnavailable):
    """The answer was not the documented JSON (truncated, HTML error page, wrong shape)."""


class CircuitOpen(GatewayUnavailable):
    """Recent attempts failed; the client fails fast instead of making a patient wait."""


class GatewayConfigError(GatewayError):
    """The kiosk's configuration is wrong: URL (HTTP 404), TLS certificate, credentials."""


class GatewayAuthError(GatewayConfigError):
    """Credentials refused, even after one token renewal."""
