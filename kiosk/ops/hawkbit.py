"""A small hawkBit Direct Device Integration (DDI) client.

Poll the controller base, follow `deploymentBase` / `cancelAction` /
`configData` links, download artifacts with HTTP Range resume, post feedback.
4xx answers are final (never retried in a loop); 429, 5xx and connection
errors are retried a bounded number of times with backoff.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

RETRIES = 3


class DdiError(Exception):
    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status

    @property
    def final(self) -> bool:
        """A client error (other than 429) will not fix itself by asking again."""
        return self.status is not None and 400 <= self.status < 500 and self.status != 429


@dataclass(frozen=True)
class Artifact:
    filename: str
    size: int
    sha256: str
    url: str


@dataclass(frozen=True)
class Deployment:
    action_id: str
    download: str  # skip | attempt | forced
    update: str  # skip | attempt | forced
    maintenance_window: str | None  # available | unavailable | None
    version: str
    artifacts: list[Artifact]


def parse_sleep(text: str | None, default: float = 300.0) -> float:
    """hawkBit's `HH:MM:SS` polling interval in seconds."""
    if not isinstance(text, str):
        return default
    m = re.fullmatch(r"([0-9]{1,4}):([0-9]{2}):([0-9]{2})", text)  # ASCII, bounded
    if not m:
        return default
    h, mi, s = (int(x) for x in m.groups())
    return float(h * 3600 + mi * 60 + s)


class DdiClient:
    def __init__(self, server: str, tenant: str, controller_id: str, token: str, *,
                 gateway_token: bool = False, timeout_s: float = 15.0,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.base = f"{server.rstrip('/')}/{tenant}/controller/v1/{controller_id}"
        self.session = requests.Session()
        scheme = "GatewayToken" if gateway_token else "TargetToken"
        self.session.headers.update({"Authorization": f"{scheme} {token}",
                                     "Accept": "application/hal+json, application/json"})
        self.timeout_s = timeout_s
        self.sleep = sleep
        self.etag: str | None = None

    def close(self) -> None:
        self.session.close()

    # -- transport with bounded retries --------------------------------------------
    def _request(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        delay = 1.0
        for attempt in range(1, RETRIES + 1):
            try:
                response = self.session.request(method, url, timeout=self.timeout_s, **kwargs)
            except requests.RequestException as exc:
                error = DdiError(f"{method} {url}: {exc}")
            else:
                if response.status_code < 400 or response.status_code == 304:
                    return response
                error = DdiError(f"{method} {url}: HTTP {response.status_code}",
                                 status=response.status_code)
                if error.final:
                    raise error
                retry_after = response.headers.get("Retry-After", "")
                if retry_after.isascii() and retry_after.isdigit() and len(retry_after) < 6:
                    delay = max(delay, min(float(retry_after), 60.0))
            if attempt == RETRIES:
                raise error
            self.sleep(delay)
            delay *= 2
        raise AssertionError("unreachable")  # pragma: no cover

    # -- DDI resources ----------------------------------------------------------------
    def poll(self) -> dict[str, Any]:
        headers = {"If-None-Match": self.etag} if self.etag else {}
        response = self._request("GET", self.base, headers=headers)
        self.etag = response.headers.get("ETag", self.etag)
        if response.status_code == 304:
            return {"_not_modified": True}
        data = _object(response, "poll")
        config, links = data.get("config", {}), data.get("_links", {})
        if not isinstance(config, dict) or not isinstance(config.get("polling", {}), dict):
            raise DdiError("poll: malformed config in the answer")
        if not isinstance(links, dict) or not all(
                isinstance(v, dict) and isinstance(v.get("href"), str) for v in links.values()):
            raise DdiError("poll: malformed _links in the answer")
        return data

    def deployment(self, href: str) -> Deployment:
        data = _object(self._request("GET", href), "deployment")
        try:
            return _deployment(data)
        except (KeyError, TypeError, AttributeError, ValueError) as exc:
            raise DdiError(f"deployment: malformed answer ({type(exc).__name__})") from None

    def feedback(self, action_id: str, execution: str, finished: str,
                 details: list[str] | None = None, *, kind: str = "deploymentBase") -> None:
        body = {"id": action_id,
                "status": {"execution": execution, "result": {"finished": finished},
                           "details": details or []}}
        self._request("POST", f"{self.base}/{kind}/{action_id}/feedback", json=body)

    def cancel_action(self, href: str) -> str:
        data = _object(self._request("GET", href), "cancel action")
        if not isinstance(data.get("id"), (str, int)) or isinstance(data.get("id"), bool):
            raise DdiError("cancel action: answer has no id")
        return str(data["id"])

    def config_data(self, href: str, data: dict[str, str]) -> None:
        self._request("PUT", href, json={"mode": "merge", "data": data})

    def download(self, artifact: Artifact, dest: Path) -> Path:
        """Download to `dest` resuming a previous `.part` with a Range request."""
        part = dest.with_name(dest.name + ".part")
        dest.parent.mkdir(parents=True, exist_ok=True)
        for attempt in range(1, RETRIES + 1):
            have = part.stat().st_size if part.exists() else 0
            headers = {"Range": f"bytes={have}-"} if have else {}
            try:
                with self.session.get(artifact.url, headers=headers, stream=True,
                                      timeout=self.timeout_s) as response:
                    if response.status_code >= 400:
                        error = DdiError(f"download {artifact.filename}: HTTP "
                                         f"{response.status_code}", status=response.status_code)
                        # 404/410 can be a CDN that has not caught up: a few bounded tries.
                        if error.final and response.status_code not in (404, 410):
                            raise error
                        raise requests.RequestException(str(error))
                    mode = "ab" if response.status_code == 206 and have else "wb"
                    with part.open(mode) as fh:
                        for block in response.iter_content(4096):  # small: lose little on a drop
                            fh.write(block)
            except requests.RequestException as exc:
                if attempt == RETRIES:
                    raise DdiError(f"download {artifact.filename}: {exc}") from None
                self.sleep(2.0 ** attempt)
                continue
            if artifact.size and part.stat().st_size < artifact.size:
                if attempt == RETRIES:
                    raise DdiError(f"download {artifact.filename}: incomplete")
                continue  # the connection dropped: resume from where it stopped
            part.replace(dest)
            return dest
        raise DdiError(f"download {artifact.filename}: gave up")  # pragma: no cover


def _object(response: requests.Response, what: str) -> dict[str, Any]:
    """The answer as a JSON object, or DdiError: a proxy's HTML page, a truncated body,
    hostile nesting or a 5000-digit number must not crash the updater."""
    try:
        data = response.json()
    except (ValueError, RecursionError):
        raise DdiError(f"{what}: the answer is not JSON") from None
    if not isinstance(data, dict):
        raise DdiError(f"{what}: the answer is not a JSON object")
    return data


def _deployment(data: dict[str, Any]) -> Deployment:
    """Shape errors (a list for a table, a missing key) surface as exceptions the
    caller turns into one DdiError."""
    deployment = data["deployment"]
    artifacts: list[Artifact] = []
    version = ""
    for chunk in deployment.get("chunks", []):
        version = version or str(chunk.get("version", ""))
        for a in chunk.get("artifacts", []):
            links = a.get("_links", {})
            url = (links.get("download-http") or links.get("download") or {}).get("href")
            if not url:
                raise DdiError(f"artifact {a.get('filename')} has no HTTP download link")
            artifacts.append(Artifact(a["filename"], int(a.get("size", 0)),
                                      a.get("hashes", {}).get("sha256", ""), url))
    return Deployment(str(data["id"]), deployment.get("download", "attempt"),
                      deployment.get("update", "attempt"),
                      deployment.get("maintenanceWindow"), version, artifacts)
