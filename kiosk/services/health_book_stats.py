"""Health-book activation counts per kiosk and day, read from the `statistics` table.

The journey counts anonymous events (`health_book.offered`, `.branch.activate`,
`.not_eligible.under_14`, …) through the StatisticsPort into SQLite, one row
per (facility-local day, kiosk, metric), so they survive restarts and hold no
personal data. This module shapes them for the hospital's weekly report
(`kiosk report health-book`) and for the fleet telemetry, which should call
`counts()` so both always agree.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

import sqlite_utils

from kiosk.journey.health_book import Branch, Reason

PREFIX = "health_book."
FIELDS = ("offered", "started", "completed", "skipped")
MAX_DAYS = 731  # two years: a longer range is a typo, not a report


class RangeError(ValueError):
    pass


def _empty_day() -> dict[str, Any]:
    day: dict[str, Any] = dict.fromkeys(FIELDS, 0)
    day["not_eligible"] = {r.value: 0 for r in Reason}
    day["branches"] = {b.value: 0 for b in Branch}
    return day


def _add(into: dict[str, Any], metric: str, value: int) -> None:
    name = metric.removeprefix(PREFIX)
    if name in FIELDS:
        into[name] += value
    elif name.startswith("not_eligible."):
        key = name.removeprefix("not_eligible.")
        into["not_eligible"][key] = into["not_eligible"].get(key, 0) + value
    elif name.startswith("branch."):
        key = name.removeprefix("branch.")
        into["branches"][key] = into["branches"].get(key, 0) + value


def days_between(day_from: dt.date, day_to: dt.date) -> list[dt.date]:
    if day_to < day_from:
        raise RangeError(f"--to {day_to} is before --from {day_from}")
    span = (day_to - day_from).days + 1
    if span > MAX_DAYS:
        raise RangeError(f"{span} days asked; at most {MAX_DAYS}")
    return [day_from + dt.timedelta(days=i) for i in range(span)]


def counts(db: sqlite_utils.Database, day_from: dt.date, day_to: dt.date,
           kiosk_id: str | None = None) -> dict[str, Any]:
    """`{"from", "to", "kiosks": [{"kiosk_id", "days": [...]}], "totals": {...}}`.

    Every day of the range is listed for each kiosk that counted anything about
    the health book in it (quiet days as zeros, so weekly charts have no holes).
    """
    return shape(stored_rows(db, day_from, day_to, PREFIX, kiosk_id), day_from, day_to)


def stored_rows(db: sqlite_utils.Database, day_from: dt.date, day_to: dt.date, prefix: str,
                kiosk_id: str | None = None) -> list[tuple[Any, ...]]:
    """`(kiosk_id, day, metric, value)` of the metrics named `prefix…` over the range
    (checked first: `days_between`), from the kiosk's own statistics table."""
    days_between(day_from, day_to)
    escaped = prefix.replace("\\", "\\\\").replace("_", "\\_").replace("%", "\\%")
    sql = ("SELECT kiosk_id, day, metric, value FROM statistics "
           "WHERE day BETWEEN ? AND ? AND metric LIKE ? ESCAPE '\\'")
    params: list[Any] = [day_from.isoformat(), day_to.isoformat(), escaped + "%"]
    if kiosk_id is not None:
        sql += " AND kiosk_id = ?"
        params.append(kiosk_id)
    return db.execute(sql, params).fetchall()


def lobby_counts(client: Any, day_from: dt.date, day_to: dt.date,
                 kiosk_id: str | None = None) -> dict[str, Any]:
    """The same report over every kiosk of the facility, from the lobby database
    (`kiosk.lobby.client.LobbyClient`); raises its LobbyError when it is away."""
    days_between(day_from, day_to)
    rows = client.statistics(day_from.isoformat(), day_to.isoformat(), PREFIX + "%", kiosk_id)
    return shape(rows, day_from, day_to)


def shape(rows: Iterable[tuple[Any, ...]], day_from: dt.date, day_to: dt.date
          ) -> dict[str, Any]:
    """(kiosk_id, day, metric, value) rows → the report."""
    days = days_between(day_from, day_to)
    per: dict[str, dict[str, dict[str, Any]]] = {}
    totals = _empty_day()
    for kiosk, day, metric, value in rows:
        if not str(metric).startswith(PREFIX):
            continue
        table = per.setdefault(kiosk, {d.isoformat(): _empty_day() for d in days})
        if day in table:  # defensively ignore malformed day strings
            _add(table[day], metric, int(value))
            _add(totals, metric, int(value))
    kiosks = [
        {"kiosk_id": kiosk,
         "days": [{"date": day, **values} for day, values in sorted(per[kiosk].items())]}
        for kiosk in sorted(per)
    ]
    return {"from": day_from.isoformat(), "to": day_to.isoformat(), "kiosks": kiosks,
            "totals": totals}


def csv_rows(report: dict[str, Any]) -> tuple[list[str], list[list[Any]]]:
    """One row per kiosk-day: date, kiosk, the four counts, then one column per
    not-eligible reason and per branch (all reasons/branches seen, sorted)."""
    reasons: set[str] = set(report["totals"]["not_eligible"])
    branches: set[str] = set(report["totals"]["branches"])
    header = ["date", "kiosk_id", *FIELDS,
              *(f"not_eligible.{r}" for r in sorted(reasons)),
              *(f"branch.{b}" for b in sorted(branches))]
    rows = []
    for kiosk in report["kiosks"]:
        for day in kiosk["days"]:
            rows.append([day["date"], kiosk["kiosk_id"], *(day[f] for f in FIELDS),
                         *(day["not_eligible"].get(r, 0) for r in sorted(reasons)),
                         *(day["branches"].get(b, 0) for b in sorted(branches))])
    return header, rows
