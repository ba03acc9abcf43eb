"""JSON over HTTP for HIS adapters, with the error classes the sync daemon needs.

* connection refused/reset, timeouts, 502/503/504 → `HisUnavailable` (the HIS is
  down or overloaded; back off for the whole queue);
* 408, 409 (a concurrent write), 429, other 5xx, an answer that is not JSON →
  `HisError(transient=True)` (retried, counted);
* other 4xx → `HisError(transient=False)` (a dead letter: a retry will not fix it).

Messages name the method, the path without its query and the status: never
a body or a query string, which could carry a patient's name or number.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests

from kiosk.runtime.bounded_http import AnswerRefused, bounded_request, deadline_in, read_timeout
from kiosk.runtime.hard_deadline import watched
from kiosk.runtime.system_ca import tls_verify
from kiosk.services.his.base import HisError, HisUnavailable
from kiosk.services.netreason import network_reason

UNAVAILABLE_STATUSES = frozenset({502, 503, 504})
TRANSIENT_STATUSES = frozenset({408, 409, 425, 429})
# A HIS answer is a resource or a day's Bundle: a few hundred KB at most (0103).
MAX_ANSWER_BYTES = 8 << 20
_LOOPBACK = re.compile(r"^(127\.\d+\.\d+\.\d+|localhost|\[::1\]|::1)$")


def check_base_url(url: str, *, allow_http: bool = False, setting: str = "his.settings.url"
                   ) -> str:
    """A usable base URL: https, or http only to loopback unless explicitly allowed."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{setting}: {url!r} is not an http(s) URL")
    if parts.scheme == "http" and not allow_http and not _LOOPBACK.match(parts.hostname):
        raise ValueError(f"{setting}: plain http is only allowed to a loopback address "
                         "(set allow_http = true for a trusted hospital LAN)")
    return url.rstrip("/")


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any
    headers: dict[str, str]


class JsonHttp:
    def __init__(self, base_url: str, *, timeout_s: float = 10.0, verify_tls: bool | str = True,
                 headers: dict[str, str] | None = None, proxy: str | None = None,
                 max_answer_bytes: int = MAX_ANSWER_BYTES) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s  # the whole request's deadline, not each read's
        self.max_answer_bytes = max_answer_bytes
        self.session = watched(requests.Session())  # a request's deadline cuts it (0106)
        # Proxies come from the configuration only: the environment of a kiosk service is
        # not where a hospital's HIS route should be decided (and scanning it per request
        # costs a fifth of the client's time).
        self.session.trust_env = False
        if proxy:
            self.session.proxies = {"http": proxy, "https": proxy}
        self.session.verify = tls_verify(verify_tls)
        self.session.headers.update({"Accept": "application/json", **(headers or {})})

    def close(self) -> None:
        self.session.close()

    def request(self, method: str, path: str, *, params: dict[str, Any] | None = None,
                body: Any = None, headers: dict[str, str] | None = None,
                content_type: str = "application/json") -> Answer:
        what = f"{method} {path.split('?')[0]}"
        data = None
        send_headers = dict(headers or {})
        if body is not None:
            data = json.dumps(body, ensure_ascii=False).encode()
            send_headers["Content-Type"] = content_type
        deadline = deadline_in(self.timeout_s)
        try:
            response, content = bounded_request(
                self.session, method, self.base_url + path, limit=self.max_answer_bytes,
                deadline=deadline, params=params, data=data, headers=send_headers,
                timeout=read_timeout(deadline, self.timeout_s))
        except AnswerRefused as exc:
            if exc.too_large:  # retried like any garbled answer; the registration stays
                raise HisError(f"{what}: {exc}", transient=True) from None
            raise HisUnavailable(f"{what}: no complete answer within {self.timeout_s:g} s") \
                from None
        except requests.Timeout:
            raise HisUnavailable(f"{what}: no answer within {self.timeout_s:g} s") from None
        except requests.ConnectionError as exc:
            raise HisUnavailable(f"{what}: cannot connect ({network_reason(exc)})") from None
        except requests.RequestException as exc:
            raise HisError(f"{what}: {type(exc).__name__}", transient=True) from None
        status = response.status_code
        if status in UNAVAILABLE_STATUSES:
            raise HisUnavailable(f"{what}: HTTP {status}")
        if status >= 500 or status in TRANSIENT_STATUSES:
            raise HisError(f"{what}: HTTP {status}", transient=True, status=status)
        if status >= 400:
            raise HisError(f"{what}: HTTP {status}{_outcome(content)}", transient=False,
                           status=status)
        parsed: Any = None
        if content:
            try:
                parsed = json.loads(content)
            except (ValueError, RecursionError):  # RecursionError: hostile deep nesting
                raise HisError(f"{what}: HTTP {status} but the answer is not JSON",
                               transient=True) from None
        return Answer(status, parsed, dict(response.headers))


def _outcome(content: bytes) -> str:
    """A FHIR OperationOutcome's issue code (a code, never free text with data)."""
    try:
        body = json.loads(content)
    except (ValueError, RecursionError):
        return ""
    if isinstance(body, dict) and body.get("resourceType") == "OperationOutcome":
        raw = [i.get("code") for i in body.get("issue", []) if isinstance(i, dict)]
        codes = [c for c in raw if isinstance(c, str) and re.fullmatch(r"[a-z-]{1,40}", c)]
        if codes:
            return f" ({', '.join(codes)})"
    return ""
