"""Follow-up visit counts per day (no personal data), from the `statistics` table.

Counters (also the names the lobby database receives, as every counter is published):

* `appointment.checked_in.<department>`: check-ins, per department (the registration's
  own transaction counts it, so a check-in is counted once however often it is retried);
* `appointment.lookup.found` / `.none` / `.unavailable`: what the lookup after identity
  answered; `.unavailable` (the HIS down or slower than the budget) is a patient who
  came without the kiosk finding their appointment;
* `appointment.offered`, `appointment.declined` ("a different service");
* `appointment.slip_scanned`, `appointment.slip_not_found` (a slip's QR naming no
  appointment of this patient today: counted as not found too).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

import sqlite_utils

from kiosk.services.health_book_stats import days_between, stored_rows
from kiosk.services.registration import APPOINTMENT_METRIC

PREFIX = "appointment."
FIELDS = ("checked_in", "offered", "declined", "found", "none", "not_found")
_SIMPLE = {"appointment.offered": "offered", "appointment.declined": "declined",
           "appointment.lookup.found": "found", "appointment.lookup.none": "none",
           "appointment.lookup.unavailable": "not_found",
           "appointment.slip_not_found": "not_found"}


def _empty() -> dict[str, Any]:
    return {**dict.fromkeys(FIELDS, 0), "by_department": {}}


def _add(into: dict[str, Any], metric: str, value: int) -> None:
    if metric.startswith(APPOINTMENT_METRIC + "."):
        department = metric.removeprefix(APPOINTMENT_METRIC + ".")
        into["checked_in"] += value
        into["by_department"][department] = into["by_department"].get(department, 0) + value
    elif metric in _SIMPLE:
        into[_SIMPLE[metric]] += value


def shape(rows: Iterable[tuple[Any, ...]], day_from: dt.date, day_to: dt.date
          ) -> dict[str, Any]:
    """(kiosk_id, day, metric, value) rows → every day of the range, all kiosks summed."""
    per = {d.isoformat(): _empty() for d in days_between(day_from, day_to)}
    totals = _empty()
    for _kiosk, day, metric, value in rows:
        if day in per and str(metric).startswith(PREFIX):
            _add(per[day], str(metric), int(value))
            _add(totals, str(metric), int(value))
    return {"from": day_from.isoformat(), "to": day_to.isoformat(),
            "days": [{"date": day, **values} for day, values in per.items()],
            "totals": totals}


def counts(db: sqlite_utils.Database, day_from: dt.date, day_to: dt.date,
           kiosk_id: str | None = None) -> dict[str, Any]:
    return shape(stored_rows(db, day_from, day_to, PREFIX, kiosk_id), day_from, day_to)


def lobby_counts(client: Any, day_from: dt.date, day_to: dt.date,
                 kiosk_id: str | None = None) -> dict[str, Any]:
    days_between(day_from, day_to)
    rows = client.statistics(day_from.isoformat(), day_to.isoformat(), PREFIX + "%", kiosk_id)
    return shape(rows, day_from, day_to)


def csv_rows(report: dict[str, Any]) -> tuple[list[str], list[list[Any]]]:
    departments = sorted(report["totals"]["by_department"])
    header = ["date", *FIELDS, *(f"checked_in.{d}" for d in departments)]
    rows = [[day["date"], *(day[f] for f in FIELDS),
             *(day["by_department"].get(d, 0) for d in departments)]
            for day in report["days"]]
    return header, rows
