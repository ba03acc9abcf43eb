"""A server's answer, read with a size cap and a deadline for the whole request.

`requests`' `timeout=` bounds each read, not the request: a server sending one byte
every few seconds holds the caller forever, and `response.content` holds whatever it
sends. Every outbound client (HIS adapters, BHXH gateway, DDI) reads bodies through
`read_body` with `stream=True` (decision 0103):

* `Content-Length` above the cap is refused before reading;
* the body is read as it arrives (`read1`: whatever the socket has, not a full
  block), decoded, and refused as soon as it passes the cap — memory stays at the cap;
* the deadline (a `time.monotonic()` instant for the whole request) is checked after
  every piece; a server that sends nothing at all is cut by the read timeout, which
  callers set to at most what is left of the deadline (`read_timeout`).

Below services and ops: both use it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import requests
import urllib3.exceptions

from kiosk.runtime.hard_deadline import cut_at, not_cut

PIECE = 16 * 1024  # a decoded piece is at most a few MB even from a gzip bomb
LATE = "answer not complete before the request's deadline"


class AnswerRefused(Exception):
    """The answer broke the size cap or the deadline (the message says which)."""

    def __init__(self, message: str, *, too_large: bool) -> None:
        super().__init__(message)
        self.too_large = too_large


def deadline_in(seconds: float) -> float:
    return time.monotonic() + seconds


def read_timeout(deadline: float, per_read_s: float) -> float:
    """The per-read timeout to pass to requests: never past the deadline."""
    return max(0.05, min(per_read_s, deadline - time.monotonic()))


def read_piece(response: requests.Response, size: int = PIECE) -> bytes:
    """What has arrived of a `stream=True` body (at most `size` decoded bytes; b"" at
    the end), urllib3's errors raised as requests raises them."""
    try:
        return response.raw.read1(size, decode_content=True)
    except urllib3.exceptions.ReadTimeoutError as exc:
        raise requests.Timeout(str(exc)) from None
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        raise requests.ConnectionError(str(exc)) from None


def read_body(response: requests.Response, *, limit: int, deadline: float) -> bytes:
    """The whole (decoded) body of a `stream=True` response, or `AnswerRefused`."""
    with response:
        length = response.headers.get("Content-Length", "")
        if length.isascii() and length.isdigit() and int(length) > limit:
            raise AnswerRefused(f"answer of {int(length)} bytes exceeds the {limit}-byte cap",
                                too_large=True)
        data = bytearray()
        while True:
            if time.monotonic() > deadline:
                raise AnswerRefused(LATE, too_large=False)
            piece = read_piece(response)
            if not piece:
                return bytes(data)
            data += piece
            if len(data) > limit:
                raise AnswerRefused(f"answer larger than the {limit}-byte cap", too_large=True)


def bounded_request(session: requests.Session, method: str, url: str, *, limit: int,
                    deadline: float,
                    before_body: Callable[[requests.Response], None] | None = None,
                    **kwargs: Any) -> tuple[requests.Response, bytes]:
    """`session.request(method, url, stream=True, **kwargs)` and its whole body, the
    connection cut at `deadline` (`session` made `hard_deadline.watched`): an answer
    not complete by then — its body, its headers or its TLS handshake sent a byte at a
    time — is `AnswerRefused`; other failures are requests' own exceptions.
    `before_body` may refuse the response on its headers alone."""
    cut = not_cut
    try:
        with cut_at(deadline) as cut:
            response = session.request(method, url, stream=True, **kwargs)
            if before_body is not None:
                before_body(response)
            content = read_body(response, limit=limit, deadline=deadline)
    except requests.RequestException:
        if cut():
            raise AnswerRefused(LATE, too_large=False) from None
        raise
    if cut():  # what was read before the cut is not the answer
        raise AnswerRefused(LATE, too_large=False)
    return response, content
