"""Tryton JSON-RPC with a login session (GNUHEALTH.md): `common.db.login` once, then
`Authorization: Session base64(user:id:session)`; the session is renewed once when
the server says it expired."""

from __future__ import annotations

import base64
import datetime as dt
import itertools
import json
from typing import Any

import requests

from kiosk.runtime.bounded_http import AnswerRefused, bounded_request, deadline_in, read_timeout
from kiosk.runtime.hard_deadline import watched
from kiosk.runtime.system_ca import tls_verify
from kiosk.services.his.base import HisError, HisUnavailable
from kiosk.services.his.http import MAX_ANSWER_BYTES


def date(value: dt.date) -> dict[str, Any]:
    return {"__class__": "date", "year": value.year, "month": value.month, "day": value.day}


def datetime_utc(value: dt.datetime) -> dict[str, Any]:
    """Tryton stores naive UTC datetimes; every field is required, microsecond included."""
    v = value.astimezone(dt.UTC)
    return {"__class__": "datetime", "year": v.year, "month": v.month, "day": v.day,
            "hour": v.hour, "minute": v.minute, "second": v.second, "microsecond": 0}


class TrytonRpc:
    def __init__(self, url: str, database: str, username: str, password: str, *,
                 timeout_s: float = 15.0) -> None:
        self.endpoint = f"{url.rstrip('/')}/{database}/"
        self.username = username
        self.password = password
        self.timeout_s = timeout_s
        self.session = watched(requests.Session())  # a request's deadline cuts it (0106)
        self.session.trust_env = False
        self.session.verify = tls_verify()
        self.context: dict[str, Any] | None = None
        self._ids = itertools.count(1)

    def close(self) -> None:
        self.session.close()

    def _post(self, method: str, params: list[Any]) -> Any:
        body = {"method": method, "params": params, "id": next(self._ids)}
        deadline = deadline_in(self.timeout_s)  # the whole request (0103)
        try:
            response, content = bounded_request(
                self.session, "POST", self.endpoint, limit=MAX_ANSWER_BYTES, deadline=deadline,
                json=body, timeout=read_timeout(deadline, self.timeout_s))
        except AnswerRefused as exc:
            if exc.too_large:
                raise HisError(f"{method}: {exc}", transient=True) from None
            raise HisUnavailable(f"{method}: no complete answer within {self.timeout_s:g} s") \
                from None
        except requests.Timeout:
            raise HisUnavailable(f"{method}: no answer within {self.timeout_s:g} s") from None
        except requests.ConnectionError:
            raise HisUnavailable(f"{method}: cannot connect") from None
        if response.status_code in (502, 503, 504):
            raise HisUnavailable(f"{method}: HTTP {response.status_code}")
        if response.status_code == 401 or response.status_code == 403:
            raise _SessionExpired()
        if response.status_code >= 500:
            raise HisError(f"{method}: HTTP {response.status_code}", transient=True)
        if response.status_code >= 400:
            raise HisError(f"{method}: HTTP {response.status_code}", transient=False)
        try:
            data = json.loads(content)
        except (ValueError, RecursionError):  # RecursionError: hostile deep nesting
            raise HisError(f"{method}: answer is not JSON", transient=True) from None
        error = data.get("error") if isinstance(data, dict) else None
        if error:
            kind = error[0] if isinstance(error, list) and error else str(error)
            if kind in ("403", "401", "NotLogged", "LoginException"):
                raise _SessionExpired()
            # Business rule (UserError, AccessError…): retrying sends the same data again.
            # The error's text may echo a patient's data, so only its kind is kept.
            raise HisError(f"{method}: server refused ({kind})", transient=False)
        return data.get("result") if isinstance(data, dict) else None

    def login(self) -> None:
        self.session.headers.pop("Authorization", None)
        try:
            result = self._post("common.db.login",
                                [self.username, {"password": self.password}, "en"])
        except _SessionExpired:
            result = None
        if not isinstance(result, list) or len(result) != 2:
            # Not the registration's fault: hold the whole queue (no dead letters) until
            # IT fixes the account; `kiosk doctor` reports it.
            raise HisUnavailable("GNU Health refused the kiosk's username/password "
                                 "(his.settings.username / password)")
        user_id, key = result
        token = base64.b64encode(f"{self.username}:{user_id}:{key}".encode()).decode()
        self.session.headers["Authorization"] = f"Session {token}"
        self.context = self._post("model.res.user.get_preferences", [True, {}])

    def call(self, model_method: str, *args: Any) -> Any:
        """`model.<model>.<method>` with the user's context appended; re-login once."""
        for attempt in (1, 2):
            if self.context is None:
                self.login()
            try:
                return self._post(model_method, [*args, self.context])
            except _SessionExpired:
                self.context = None
                if attempt == 2:
                    raise HisUnavailable(f"{model_method}: session refused after a new "
                                         "login") from None
        raise AssertionError("unreachable")  # pragma: no cover


class _SessionExpired(Exception):
    pass
