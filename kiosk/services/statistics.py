"""Anonymous journey statistics in SQLite (per facility-local day, per kiosk)."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from zoneinfo import ZoneInfo

import sqlite_utils

from kiosk.store import bump_statistic


class SqliteStatistics:
    """Implements the journey's StatisticsPort. Metric names carry no personal data."""

    def __init__(
        self,
        db: sqlite_utils.Database,
        kiosk_id: str,
        timezone: str,
        now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self.db = db
        self.kiosk_id = kiosk_id
        self.zone = ZoneInfo(timezone)
        self.now = now
        self._lock = threading.Lock()  # one connection shared by worker threads

    def count(self, metric: str) -> None:
        day = self.now().astimezone(self.zone).date().isoformat()
        with self._lock:
            bump_statistic(self.db, day, self.kiosk_id, metric)

    def totals(self, day: str) -> dict[str, int]:
        rows = self.db.execute(
            "SELECT metric, value FROM statistics WHERE day = ? AND kiosk_id = ?",
            [day, self.kiosk_id],
        ).fetchall()
        return {metric: value for metric, value in rows}
