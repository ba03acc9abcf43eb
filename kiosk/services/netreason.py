"""Why a network call failed, in words a technician can act on.

`requests` wraps the socket error several layers deep ("HTTPConnectionPool(...): Max
retries exceeded ... NewConnectionError(...: [Errno 111] Connection refused)"); the
BHXH client, the HIS client and `kiosk doctor` all want the last part, and never the
URL's query (it can carry a patient's data)."""

from __future__ import annotations

from urllib.parse import urlsplit

_REASONS = (
    ("Connection refused", "connection refused"),
    ("timed out", "timed out"),
    ("Name or service not known", "host name not found"),
    ("Temporary failure in name resolution", "DNS not answering"),
    ("No route to host", "no route to host"),
    ("Network is unreachable", "network unreachable"),
    ("CERTIFICATE_VERIFY_FAILED", "TLS certificate not trusted"),
    ("Connection reset", "connection reset"),
    ("Remote end closed", "server hung up"),
)


def network_reason(exc: BaseException) -> str:
    """The first known cause in the exception chain, else the outermost error's name."""
    seen: BaseException | None = exc
    texts: list[str] = []
    while seen is not None and len(texts) < 8:
        texts.append(f"{type(seen).__name__}: {seen}")
        seen = seen.__cause__ or seen.__context__
    joined = " | ".join(texts)
    for marker, reason in _REASONS:
        if marker in joined:
            return reason
    return type(exc).__name__


def host_of(url: str) -> str:
    """host[:port] of a URL, never its path, query or credentials."""
    try:
        parts = urlsplit(url)
        return f"{parts.hostname}:{parts.port}" if parts.port else (parts.hostname or "?")
    except ValueError:
        return "?"
