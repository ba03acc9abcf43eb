"""HTTP client for the BHXH gateway card check (DOMAIN.md §5).

One `requests.Session` (keep-alive, TLS verification on), a cached token
renewed once on 401 and never in a loop, connect/read timeouts cut to the
time the patient has left, bounded retries with jittered backoff on
transient failures (timeouts, 5xx, results 101/500, garbled answers) and a
circuit breaker so a dead portal answers "not checked" at once.
"""

from __future__ import annotations

import base64
import datetime as dt
import logging
import random
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import requests

from kiosk.config.model import BhxhConfig
from kiosk.domain.bhxh_results import interpret
from kiosk.domain.text import mask_id
from kiosk.runtime.bounded_http import AnswerRefused, bounded_request, deadline_in
from kiosk.runtime.breaker import CircuitBreaker
from kiosk.runtime.hard_deadline import watched
from kiosk.runtime.system_ca import tls_verify
from kiosk.services.bhxh.checkin import CHECKIN_PATH
from kiosk.services.bhxh.errors import (
    CircuitOpen,
    GatewayAuthError,
    GatewayConfigError,
    GatewayProtocolError,
    GatewayUnavailable,
)
from kiosk.services.bhxh.protocol import (
    CHECK_PATH,
    TOKEN_PATH,
    TokenGrant,
    check_body,
    decode_json_object,
    parse_token,
    password_md5,
    result_code,
)
from kiosk.services.netreason import host_of, network_reason

log = logging.getLogger(__name__)


class _RedactCredentials(logging.Filter):
    """The card-check URL carries token, id_token and the password hash as query
    parameters (DOMAIN.md §5); urllib3 logs request lines at DEBUG. Redact them
    at the source so no process, whatever its log level, writes them."""

    _SECRET = re.compile(r"((?:token|id_token|password|username)=)[^&\s\"']+")

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            record.msg = record.getMessage()
            record.args = None
        record.msg = self._SECRET.sub(r"\1***", str(record.msg))
        return True


logging.getLogger("urllib3.connectionpool").addFilter(_RedactCredentials())

# Below this, another attempt could not finish anyway: give up and say so.
MIN_ATTEMPT_S = 0.05
# A gateway answer is one small JSON object.
MAX_ANSWER_BYTES = 1 << 20
# Time kept back from the patient's budget for deciding after the last timeout.
DECISION_MARGIN_S = 0.05
# Renew a little before the gateway's stated expiry (clock skew, IP-bound sessions).
TOKEN_MARGIN_S = 30.0


@dataclass(frozen=True)
class _Token:
    grant: TokenGrant
    expires_at: float


class _AuthRefused(Exception):
    """The gateway said 401 to this token (HTTP status or maKetQua)."""


class BhxhClient:
    """Thread-safe; share one instance per process so the token and breaker are shared."""

    def __init__(
        self,
        base_url: str,
        username: str,
        password: str,
        operator_name: str,
        operator_cccd: str,
        *,
        timeout_s: float = 5.0,
        connect_timeout_s: float | None = None,
        verify_tls: bool = True,
        max_attempts: int = 3,
        backoff_s: float = 0.2,
        breaker: CircuitBreaker | None = None,
        session: requests.Session | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.username = username
        self._password_md5 = password_md5(password)
        self.operator_name = operator_name
        self.operator_cccd = operator_cccd
        self.timeout_s = timeout_s
        self.connect_timeout_s = connect_timeout_s or min(3.0, timeout_s)
        self.verify_tls = tls_verify(verify_tls)
        self.max_attempts = max(1, max_attempts)
        self.backoff_s = backoff_s
        self.breaker = breaker or CircuitBreaker()
        # A request's deadline cuts its connection, headers included (0106).
        self.session = watched(session or requests.Session())
        self.session.headers.update({"Accept": "application/json",
                                     "User-Agent": "vn-hospital-kiosk"})
        self.clock = clock
        self.sleep = sleep
        self._token: _Token | None = None
        self._token_lock = threading.Lock()
        self.token_requests = 0  # for tests and diagnostics

    @classmethod
    def from_config(cls, config: BhxhConfig, base_url: str | None = None,
                    **kwargs: Any) -> BhxhClient:
        url = base_url or config.url
        if url == "simulator":
            raise GatewayConfigError("bhxh.url is 'simulator': start the simulator and pass "
                                     "its base URL")
        return cls(url, config.username, config.password, config.operator_name,
                   config.operator_cccd, timeout_s=config.timeout_s,
                   verify_tls=config.verify_tls, **kwargs)

    def close(self) -> None:
        self.session.close()

    # -- public --------------------------------------------------------------------------

    def lookup(self, card_key: str, full_name: str, date_of_birth: dt.date | int,
               *, budget_s: float) -> dict[str, Any]:
        """The gateway's answer (a JSON object with a non-transient `maKetQua`).

        Raises `GatewayUnavailable` (incl. `CircuitOpen`) when no answer came within the
        bounded retries or `budget_s`; `GatewayConfigError` for the kiosk's own problems."""
        # Keep a little of the budget for deciding and answering after the last timeout,
        # so the patient's wait stays within the budget, not just near it.
        deadline = self.clock() + budget_s - min(DECISION_MARGIN_S, budget_s / 10)
        body = check_body(card_key, full_name, date_of_birth, self.operator_name,
                          self.operator_cccd)
        masked = mask_id(card_key)
        attempt = 0
        last: GatewayUnavailable | None = None
        while True:
            attempt += 1
            if not self.breaker.allow():
                if last is not None:
                    raise CircuitOpen(f"{last} (after {attempt - 1} attempt(s)); circuit now "
                                      "open") from last
                raise CircuitOpen(f"circuit open, next probe in {self.breaker.retry_in_s():.0f} s")
            try:
                data = self._attempt(body, deadline)
            except GatewayConfigError:
                self.breaker.record_success()  # the gateway answered; the fault is ours
                raise
            except GatewayUnavailable as exc:
                self.breaker.record_failure()
                log.warning("BHXH check %s attempt %d failed: %s", masked, attempt, exc)
                last = exc
                delay = self.backoff_s * (2 ** (attempt - 1)) * random.uniform(0.5, 1.0)
                left = deadline - self.clock()
                if attempt >= self.max_attempts or left < delay + MIN_ATTEMPT_S:
                    raise GatewayUnavailable(f"{exc} (after {attempt} attempt(s))") from exc
                self.sleep(delay)
                continue
            except BaseException:
                self.breaker.record_failure()  # never leave a half-open probe dangling
                raise
            self.breaker.record_success()
            return data

    # -- one attempt -----------------------------------------------------------------------

    def _attempt(self, body: Mapping[str, str], deadline: float) -> dict[str, Any]:
        token = self._current_token(deadline)
        try:
            return self._check(token, body, deadline)
        except _AuthRefused:
            pass
        # Sessions can be short and IP-bound: renew once, and only once.
        self._drop_token(token)
        token = self._current_token(deadline)
        try:
            return self._check(token, body, deadline)
        except _AuthRefused:
            raise GatewayAuthError("gateway refused a freshly issued token") from None

    def _check(self, token: TokenGrant, body: Mapping[str, str],
               deadline: float) -> dict[str, Any]:
        params = {"token": token.access_token, "id_token": token.id_token,
                  "username": self.username, "password": self._password_md5}
        data = self._post(CHECK_PATH, deadline, params=params, json_body=body)
        code = result_code(data)
        if code == "401":
            raise _AuthRefused()
        if interpret(code).transient:
            raise GatewayUnavailable(f"gateway result {code}")
        return data

    def send_checkin(self, xml: bytes, facility_code: str, province: str, *,
                     budget_s: float = 30.0) -> dict[str, Any]:
        """POST a check-in table (XML0); the answer's JSON (`maKetQua` "200" = taken).
        No breaker and no retries here: the sync daemon's outbox retries with backoff."""
        deadline = self.clock() + budget_s
        form = {"username": self.username, "loaiHoSo": "0", "maTinh": province,
                "maCSKCB": facility_code,
                "fileHSBase64": base64.b64encode(xml).decode("ascii")}
        for _ in range(2):  # a refused token is renewed once
            token = self._current_token(deadline)
            headers = {"accessToken": token.access_token, "tokenId": token.id_token,
                       "passwordHash": self._password_md5}
            try:
                data = self._post(CHECKIN_PATH, deadline, form=form, headers=headers)
            except _AuthRefused:
                data = {"maKetQua": "401"}
            if result_code(data) != "401":
                return data
            self._drop_token(token)
        raise GatewayAuthError("gateway refused a freshly issued token for the check-in")

    def verify_credentials(self, budget_s: float = 5.0) -> None:
        """Take a token now (self-test). Raises GatewayAuthError / GatewayUnavailable."""
        self._current_token(self.clock() + budget_s)

    def _current_token(self, deadline: float) -> TokenGrant:
        with self._token_lock:
            now = self.clock()
            if self._token is not None and now < self._token.expires_at:
                return self._token.grant
            self.token_requests += 1
            try:
                data = self._post(TOKEN_PATH, deadline, form={
                    "username": self.username, "password": self._password_md5})
            except _AuthRefused:
                raise GatewayAuthError("gateway refused the facility username/password") from None
            # Some gateway versions omit maKetQua on success: the APIKey object decides.
            if not isinstance(data.get("APIKey"), dict):
                code = result_code(data)
                if code == "401":
                    raise GatewayAuthError("gateway refused the facility username/password")
                raise GatewayUnavailable(f"token request answered {code}")
            grant = parse_token(data)
            lifetime = max(grant.expires_in_s - TOKEN_MARGIN_S, grant.expires_in_s / 2)
            self._token = _Token(grant, self.clock() + lifetime)
            return grant

    def _drop_token(self, token: TokenGrant) -> None:
        with self._token_lock:
            if self._token is not None and self._token.grant is token:
                self._token = None

    def _post(self, path: str, deadline: float, *, params: Mapping[str, str] | None = None,
              json_body: Mapping[str, str] | None = None,
              form: Mapping[str, str] | None = None,
              headers: Mapping[str, str] | None = None) -> dict[str, Any]:
        left = deadline - self.clock()
        if left < MIN_ATTEMPT_S:
            raise GatewayUnavailable("time budget spent")
        timeout = (min(self.connect_timeout_s, left), min(self.timeout_s, left))
        body_deadline = deadline_in(left)  # the whole answer, not each read (0103)
        try:
            response, content = bounded_request(
                self.session, "POST", self.base_url + path, limit=MAX_ANSWER_BYTES,
                deadline=body_deadline, params=params, json=json_body, data=form,
                headers=headers, timeout=timeout, verify=self.verify_tls)
        except AnswerRefused as exc:
            if exc.too_large:
                raise GatewayProtocolError(str(exc)) from None
            raise GatewayUnavailable(f"no complete answer within {left:.1f} s") from None
        except requests.exceptions.SSLError as exc:
            raise GatewayConfigError(f"TLS verification failed: {type(exc).__name__}") from None
        except requests.exceptions.Timeout:
            raise GatewayUnavailable(f"no answer within {timeout[1]:.1f} s") from None
        except requests.exceptions.RequestException as exc:
            raise GatewayUnavailable(f"connection failed to {host_of(self.base_url)}: "
                                     f"{network_reason(exc)}") from None
        status = response.status_code
        if status in (401, 403):
            raise _AuthRefused()
        if status == 429 or status >= 500:
            raise GatewayUnavailable(f"HTTP {status}")
        if status != 200:
            raise GatewayConfigError(f"HTTP {status} from {path}: check bhxh.url")
        # Lenient on Content-Type (some proxies say text/plain for JSON), strict on body.
        try:
            return decode_json_object(content)
        except GatewayProtocolError as exc:
            ctype = response.headers.get("Content-Type", "?").split(";")[0]
            raise GatewayProtocolError(f"{exc}; Content-Type {ctype}") from None
