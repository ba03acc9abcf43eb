"""A small hawkBit Direct Device Integration (DDI) client.

Poll the controller base, follow `deploymentBase` / `cancelAction` /
`configData` links, download artifacts with HTTP Range resume, post feedback.
4xx answers are final (never retried in a loop); 429, 5xx and connection
errors are retried a bounded number of times with backoff.

Everything the server sends is an attacker's input here (the updater runs as
root): JSON shapes are checked, strings are only ever compared or used as URLs,
never as paths; the token is sent only to the configured server's origin, API
links must stay on that origin, and every body read is capped.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests

from kiosk.config.fleet import check_fleet_url, is_loopback_host
from kiosk.runtime.bounded_http import (
    LATE,
    AnswerRefused,
    bounded_request,
    deadline_in,
    read_piece,
    read_timeout,
)
from kiosk.runtime.hard_deadline import cut_at, not_cut, watched
from kiosk.runtime.system_ca import tls_verify

RETRIES = 3
MAX_JSON_BYTES = 1 << 20  # a controller base or deployment answer is a few KB
MAX_ARTIFACTS = 5000
MIN_DOWNLOAD_BPS = 16 * 1024  # below this a download is cut (and resumed next try)
BLOCK = 64 << 10
SLOW = f"slower than {MIN_DOWNLOAD_BPS} bytes/s"


class DdiError(Exception):
    def __init__(self, message: str, *, status: int | None = None,
                 final: bool | None = None) -> None:
        super().__init__(message)
        self.status = status
        self._final = final  # None: decided by the status

    @property
    def final(self) -> bool:
        """A client error (other than 429), or a hostile answer: asking again won't help."""
        if self._final is not None:
            return self._final
        return self.status is not None and 400 <= self.status < 500 and self.status != 429

    @property
    def unanswered(self) -> bool:
        """The server did not answer: network, deadline, trickle, 429/5xx (exit 5, the
        round is tried again later); not an answer that refuses or breaks the rules."""
        return not self.final and (self.status is None or self.status == 429
                                   or self.status >= 500)


@dataclass(frozen=True)
class Answer:
    status: int
    headers: Mapping[str, str]
    body: bytes


@dataclass(frozen=True)
class Artifact:
    filename: str  # the server's name for it: a lookup key, never a path
    url: str


@dataclass(frozen=True)
class Deployment:
    action_id: str
    download: str  # skip | attempt | forced
    update: str  # skip | attempt | forced
    maintenance_window: str | None  # available | unavailable | None
    artifacts: dict[str, Artifact]


def parse_sleep(text: object, default: float = 300.0) -> float:
    """hawkBit's `HH:MM:SS` polling interval in seconds (bounded: 1 min .. 1 day)."""
    m = re.fullmatch(r"([0-9]{1,2}):([0-9]{2}):([0-9]{2})", text if isinstance(text, str) else "")
    if not m:
        return default
    h, mi, s = (int(x) for x in m.groups())
    if mi > 59 or s > 59:
        return default
    return float(min(max(h * 3600 + mi * 60 + s, 60), 86400))


def _origin(url: str) -> tuple[str, str, int]:
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return parts.scheme, (parts.hostname or "").lower(), port


def _get(data: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def _text(value: Any, what: str, pattern: str = r"[A-Za-z0-9_.:-]{1,100}") -> str:
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 10**18:
        value = str(value)
    if not isinstance(value, str) or not re.fullmatch(pattern, value):
        raise DdiError(f"server sent an unusable {what}", final=True)
    return value


def _choice(value: Any, allowed: tuple[str, ...], default: str) -> str:
    if value is None:
        return default
    if value not in allowed:
        raise DdiError(f"server sent {str(value)[:20]!r}, expected one of {allowed}", final=True)
    return str(value)


class DdiClient:
    def __init__(self, server: str, tenant: str, controller_id: str, token: str, *,
                 gateway_token: bool = False, timeout_s: float = 15.0,
                 answer_deadline_s: float = 60.0,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        try:
            server = check_fleet_url(server)
        except ValueError as exc:
            raise DdiError(f"fleet server {exc}", final=True) from None
        self.base = f"{server}/{tenant}/controller/v1/{controller_id}"
        self.origin = _origin(server)
        self.session = watched(requests.Session())  # a request's deadline cuts it (0106)
        self.session.verify = tls_verify()
        # No session-wide Authorization: it is added per request, only for our origin.
        self.session.headers.update({"Accept": "application/hal+json, application/json"})
        self.auth = f"{'GatewayToken' if gateway_token else 'TargetToken'} {token}"
        self.timeout_s = timeout_s  # per read
        self.answer_deadline_s = answer_deadline_s  # a whole JSON request (0103)
        self.sleep = sleep
        self.etag: str | None = None

    def close(self) -> None:
        self.session.close()

    def _headers(self, url: str, extra: dict[str, str] | None = None) -> dict[str, str]:
        headers = dict(extra or {})
        if _origin(url) == self.origin:
            headers["Authorization"] = self.auth
        return headers

    def api_link(self, href: Any) -> str:
        """A link the server gives us to its own API: must stay on its origin."""
        if not isinstance(href, str) or len(href) > 2000 or _origin(href) != self.origin:
            raise DdiError("server sent an API link to another origin (refused: the "
                           "token goes only to the configured server)", final=True)
        return href

    # -- transport with bounded retries --------------------------------------------
    def _request(self, method: str, url: str, *, limit: int = MAX_JSON_BYTES,
                 headers: dict[str, str] | None = None, **kwargs: Any) -> Answer:
        delay = 1.0
        sent = self._headers(url, {"Accept-Encoding": "identity", **(headers or {})})
        for attempt in range(1, RETRIES + 1):
            deadline = deadline_in(self.answer_deadline_s)
            try:
                # No redirects: a redirect could carry the request elsewhere.
                response, body = bounded_request(
                    self.session, method, url, limit=limit, deadline=deadline,
                    before_body=self._identity_only, headers=sent,
                    timeout=read_timeout(deadline, self.timeout_s), allow_redirects=False,
                    **kwargs)
            except AnswerRefused as exc:
                error = DdiError(f"{method} {url}: {exc}", final=exc.too_large)
            except requests.RequestException as exc:
                late = time.monotonic() >= deadline  # a read that ran into the deadline
                error = DdiError(f"{method} {url}: {LATE if late else type(exc).__name__}")
            else:
                if response.status_code < 300 or response.status_code == 304:
                    return Answer(response.status_code, response.headers, body)
                error = DdiError(f"{method} {url}: HTTP {response.status_code}",
                                 status=response.status_code)
                if error.final or 300 <= response.status_code < 400:
                    raise error
                retry_after = response.headers.get("Retry-After", "")
                if retry_after.isascii() and retry_after.isdigit() and len(retry_after) < 6:
                    delay = max(delay, min(float(retry_after), 60.0))
            if attempt == RETRIES:
                raise error
            self.sleep(delay)
            delay *= 2
        raise AssertionError("unreachable")  # pragma: no cover

    @staticmethod
    def _identity_only(response: requests.Response) -> None:
        if response.headers.get("Content-Encoding", "identity") not in ("identity", ""):
            response.close()
            raise DdiError("encoded answer refused (asked for identity)", final=True)

    @staticmethod
    def _json(answer: Answer) -> dict[str, Any]:
        try:
            data = json.loads(answer.body)
        except (ValueError, RecursionError):  # RecursionError: nesting deeper than Python's stack
            raise DdiError("server answer is not JSON", final=True) from None
        if not isinstance(data, dict):
            raise DdiError("server answer is not a JSON object", final=True)
        return data

    # -- DDI resources ----------------------------------------------------------------
    def poll(self) -> dict[str, Any]:
        headers = {"If-None-Match": self.etag} if self.etag else {}
        answer = self._request("GET", self.base, headers=headers)
        etag = answer.headers.get("ETag")
        if etag and len(etag) < 200:
            self.etag = etag
        if answer.status == 304:
            return {"_not_modified": True}
        # A JSON object; the updater reads its parts defensively (odd shapes: nothing to do).
        return self._json(answer)

    def deployment(self, href: Any) -> Deployment:
        data = self._json(self._request("GET", self.api_link(href)))
        action_id = _text(data.get("id"), "action id")
        deployment = data.get("deployment")
        if not isinstance(deployment, dict):
            raise DdiError("deployment answer has no deployment object", final=True)
        modes = ("skip", "attempt", "forced")
        window = deployment.get("maintenanceWindow")
        artifacts: dict[str, Artifact] = {}
        chunks = deployment.get("chunks", [])
        for chunk in chunks if isinstance(chunks, list) else []:
            listed = _get(chunk, "artifacts")
            for a in listed if isinstance(listed, list) else []:
                # Only ever a lookup key (even "../../x" is harmless): printable, bounded.
                name = _text(_get(a, "filename"), "artifact name", r"[^\x00-\x1f\x7f]{1,255}")
                url = _get(a, "_links", "download-http", "href") or \
                    _get(a, "_links", "download", "href")
                if name in artifacts:
                    raise DdiError(f"artifact {name[:60]!r} offered twice", final=True)
                artifacts[name] = Artifact(name, self._download_url(url, name))
                if len(artifacts) > MAX_ARTIFACTS:
                    raise DdiError("too many artifacts", final=True)
        return Deployment(action_id, _choice(deployment.get("download"), modes, "attempt"),
                          _choice(deployment.get("update"), modes, "attempt"),
                          None if window is None else
                          _choice(window, ("available", "unavailable"), "available"),
                          artifacts)

    def _download_url(self, url: Any, name: str) -> str:
        """Downloads may come from another host (a CDN): allowed over https (or
        loopback), but without our token; the content is checked against the signed
        manifest either way."""
        if not isinstance(url, str) or len(url) > 2000:
            raise DdiError(f"artifact {name[:60]!r} has no usable download link", final=True)
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.username:
            raise DdiError(f"artifact {name[:60]!r}: download link is not http(s)", final=True)
        if parts.scheme == "http" and _origin(url) != self.origin \
                and not is_loopback_host(parts.hostname):
            raise DdiError(f"artifact {name[:60]!r}: plain-http link to another host",
                           final=True)
        return url

    def feedback(self, action_id: str, execution: str, finished: str,
                 details: list[str] | None = None, *, kind: str = "deploymentBase") -> None:
        body = {"id": action_id,
                "status": {"execution": execution, "result": {"finished": finished},
                           "details": details or []}}
        self._request("POST", f"{self.base}/{kind}/{action_id}/feedback", json=body)

    def cancel_action(self, href: Any) -> str:
        data = self._json(self._request("GET", self.api_link(href)))
        return _text(data.get("id"), "cancel action id")

    def config_data(self, href: Any, data: dict[str, str]) -> None:
        self._request("PUT", self.api_link(href), json={"mode": "merge", "data": data})

    def fetch_small(self, artifact: Artifact, limit: int) -> bytes:
        """A small artifact (the manifest, its signature) into memory, capped."""
        return self._request("GET", artifact.url, limit=limit).body

    def fetch_range(self, artifact: Artifact, offset: int, size: int) -> bytes:
        """Exactly `size` bytes of an artifact from `offset` (a 206 answer or nothing)."""
        answer = self._request("GET", artifact.url, limit=size,
                               headers={"Range": f"bytes={offset}-{offset + size - 1}"})
        if answer.status != 206 or not answer.headers.get("Content-Range", "").startswith(
                f"bytes {offset}-{offset + size - 1}/"):
            raise DdiError(f"download {artifact.filename[:60]!r}: range {offset}+{size} "
                           "not answered as asked", final=True)
        if len(answer.body) != size:
            raise DdiError(f"download {artifact.filename[:60]!r}: short range", final=True)
        return answer.body

    def download(self, artifact: Artifact, part: Path, size: int) -> int:
        """Fetch exactly `size` bytes (the signed size) into `part`, resuming what is
        there with a Range request. Never writes more than `size` bytes; returns the
        bytes received. The caller checks the hash."""
        received = 0
        for attempt in range(1, RETRIES + 1):
            have = part.stat().st_size if part.exists() else 0
            if have > size:
                part.unlink()
                have = 0
            if have == size:
                return received
            headers = {"Accept-Encoding": "identity"}  # a gzip body could be a bomb
            if have:
                headers["Range"] = f"bytes={have}-"
            # A deadline for the whole body, at a floor rate: a server trickling bytes
            # (headers included) cannot hold the updater; what arrived is kept, resumed.
            deadline = deadline_in(self.answer_deadline_s + (size - have) / MIN_DOWNLOAD_BPS)
            cut = not_cut
            try:
                with cut_at(deadline) as cut, self.session.get(
                        artifact.url, headers=self._headers(artifact.url, headers), stream=True,
                        timeout=read_timeout(deadline, self.timeout_s),
                        allow_redirects=False) as response:
                    received += self._receive(response, artifact, part, have, size, deadline)
                if cut():
                    raise DdiError(f"download {artifact.filename[:60]!r}: {SLOW}")
            except requests.RequestException as exc:
                if attempt == RETRIES:
                    late = cut() or time.monotonic() >= deadline
                    raise DdiError(f"download {artifact.filename[:60]!r}: "
                                   f"{SLOW if late else type(exc).__name__}") from None
                self.sleep(2.0 ** attempt)
                continue
            except DdiError as exc:
                if exc.final or attempt == RETRIES:
                    raise
                self.sleep(2.0 ** attempt)
        if part.exists() and part.stat().st_size == size:
            return received
        raise DdiError(f"download {artifact.filename[:60]!r}: incomplete after {RETRIES} tries")

    def _receive(self, response: requests.Response, artifact: Artifact, part: Path,
                 have: int, size: int, deadline: float) -> int:
        name = artifact.filename[:60]
        status = response.status_code
        if status >= 300:
            error = DdiError(f"download {name!r}: HTTP {status}", status=status)
            # 404/410 can be a CDN that has not caught up: a few bounded tries.
            if error.final and status not in (404, 410):
                raise error
            raise DdiError(str(error), status=status, final=False)  # retried
        if response.headers.get("Content-Encoding", "identity") not in ("identity", ""):
            raise DdiError(f"download {name!r}: encoded body refused", final=True)
        start = have if status == 206 else 0
        if status == 206 and not response.headers.get("Content-Range", "").startswith(
                f"bytes {have}-"):
            raise DdiError(f"download {name!r}: range answer does not start at {have}",
                           final=True)
        length = response.headers.get("Content-Length", "")
        if length.isdigit() and start + int(length) > size:
            raise DdiError(f"download {name!r}: server offers {start + int(length)} bytes, "
                           f"the signed size is {size}", final=True)
        # A connection that drops mid-body then yields what did arrive (kept, resumed
        # with Range) instead of an error that throws the partial block away.
        response.raw.enforce_content_length = False
        received = 0
        with part.open("r+b" if start else "wb") as fh:
            fh.seek(start)
            fh.truncate()
            while block := read_piece(response, BLOCK):
                if time.monotonic() > deadline:
                    raise DdiError(f"download {name!r}: {SLOW}")
                if start + received + len(block) > size:
                    raise DdiError(f"download {name!r}: more than the signed {size} bytes",
                                   final=True)
                fh.write(block)
                received += len(block)
        return received
