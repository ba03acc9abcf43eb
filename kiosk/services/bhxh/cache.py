"""Recent gateway answers in SQLite (`bhxh_cache`), keyed by a hash.

A patient registering for a second service, or coming back the same day,
needs no second lookup; when the portal is down, a recent answer is better
than none. The key is a hash of card key, folded name and birth date, so
the table cannot be searched by ID; rows hold the answer's card fields
(personal data) and are purged with the registrations (retention).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import threading
from collections.abc import Callable
from typing import Any

import sqlite_utils

from kiosk.domain.dates import to_dmy
from kiosk.domain.text import fold


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class BhxhCache:
    def __init__(self, db: sqlite_utils.Database, *, fresh_s: float = 6 * 3600,
                 stale_s: float = 24 * 3600,
                 now: Callable[[], dt.datetime] = _utc_now) -> None:
        self.db = db
        self.fresh_s = fresh_s
        self.stale_s = stale_s
        self.now = now
        self._lock = threading.Lock()

    @staticmethod
    def key(card_key: str, full_name: str, date_of_birth: dt.date | int) -> str:
        material = "|".join(["bhxh-cache-v1", card_key.strip().upper(), fold(full_name),
                             to_dmy(date_of_birth)])
        return hashlib.sha256(material.encode("utf-8")).hexdigest()

    def get(self, key: str, max_age_s: float) -> tuple[dt.datetime, dict[str, Any]] | None:
        with self._lock:
            row = self.db.execute(
                "SELECT checked_at, response_json FROM bhxh_cache WHERE key_hash = ?", [key]
            ).fetchone()
        if row is None:
            return None
        try:
            checked_at = dt.datetime.fromisoformat(row[0])
            data = json.loads(row[1])
        except (ValueError, TypeError):
            return None
        if not isinstance(data, dict):
            return None
        age = (self.now() - checked_at).total_seconds()
        if age < 0 or age > max_age_s:
            return None
        return checked_at, data

    def put(self, key: str, checked_at: dt.datetime, data: dict[str, Any]) -> None:
        with self._lock:
            self.db.execute(
                "INSERT INTO bhxh_cache (key_hash, checked_at, response_json) VALUES (?, ?, ?) "
                "ON CONFLICT (key_hash) DO UPDATE SET checked_at = excluded.checked_at, "
                "response_json = excluded.response_json",
                [key, checked_at.isoformat(timespec="milliseconds"),
                 json.dumps(data, ensure_ascii=False)],
            )

    def purge(self, older_than_s: float | None = None) -> int:
        """Drop answers older than `older_than_s` (default: the stale window)."""
        age = self.stale_s if older_than_s is None else older_than_s
        limit = self.now() - dt.timedelta(seconds=age)
        with self._lock:
            cur = self.db.execute("DELETE FROM bhxh_cache WHERE checked_at < ?",
                                  [limit.isoformat(timespec="milliseconds")])
        return int(cur.rowcount)
