"""`kiosk report lobby`: the facility's day(s) across kiosks, from what they publish.

Per kiosk: registrations per department, how many of them carried an offline
number (and the share), the shared numbers voided, and the health-book offers
and completions; then the facility's totals. Every figure but voids comes from
the counters each kiosk keeps in its own store and publishes (decision 0073),
so the report agrees with the sum of the kiosks' own stores once they have
published (`build` over local rows gives the same shape: the tests compare
them). Other published metrics are kept under `other` (room for later reports).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

REGISTRATION = "registration.department."
OFFLINE = "lobby.offline_number"
HEALTH_BOOK = {"health_book.offered": "offered", "health_book.completed": "completed"}
MAX_DAYS = 366


def _empty() -> dict[str, Any]:
    return {"registrations": {}, "registrations_total": 0, "offline": 0, "offline_share": 0.0,
            "voids": 0, "health_book": {"offered": 0, "completed": 0}, "other": {}}


def _add(into: dict[str, Any], metric: str, value: int) -> None:
    if metric.startswith(REGISTRATION):
        dept = metric.removeprefix(REGISTRATION)
        into["registrations"][dept] = into["registrations"].get(dept, 0) + value
        into["registrations_total"] += value
    elif metric == OFFLINE:
        into["offline"] += value
    elif metric in HEALTH_BOOK:
        into["health_book"][HEALTH_BOOK[metric]] += value
    else:
        into["other"][metric] = into["other"].get(metric, 0) + value


def build(rows: Iterable[tuple[str, str, int]], voids: Iterable[tuple[str, int]],
          day_from: dt.date, day_to: dt.date) -> dict[str, Any]:
    """(kiosk_id, metric, value) counter rows and (kiosk_id, voids) rows → the report."""
    if day_to < day_from or (day_to - day_from).days >= MAX_DAYS:
        raise ValueError(f"--from must not be after --to, and at most {MAX_DAYS} days")
    kiosks: dict[str, dict[str, Any]] = {}
    totals = _empty()
    for kiosk, metric, value in rows:
        _add(kiosks.setdefault(kiosk, _empty()), metric, int(value))
        _add(totals, metric, int(value))
    for kiosk, n in voids:
        kiosks.setdefault(kiosk, _empty())["voids"] += int(n)
        totals["voids"] += int(n)
    for part in (*kiosks.values(), totals):
        if part["registrations_total"]:
            part["offline_share"] = round(part["offline"] / part["registrations_total"], 4)
    return {"from": day_from.isoformat(), "to": day_to.isoformat(),
            "kiosks": [{"kiosk_id": k, **kiosks[k]} for k in sorted(kiosks)],
            "totals": totals}


def from_lobby(client: Any, day_from: dt.date, day_to: dt.date) -> dict[str, Any]:
    """The report from the lobby database (`LobbyClient`); its LobbyError when away."""
    def query(conn: Any) -> tuple[list[tuple[str, str, int]], list[tuple[str, int]]]:
        span = [client.facility, day_from, day_to]
        rows = conn.execute("SELECT kiosk_id, metric, sum(value) FROM lobby.statistics "
                            "WHERE facility = %s AND day BETWEEN %s AND %s "
                            "GROUP BY 1, 2 ORDER BY 1, 2", span).fetchall()
        voids = conn.execute("SELECT kiosk_id, count(*) FROM lobby.queue_numbers "
                             "WHERE facility = %s AND day BETWEEN %s AND %s "
                             "AND state = 'void' GROUP BY 1", span).fetchall()
        return rows, voids
    rows, voids = client.call(query)
    return build(rows, voids, day_from, day_to)


def from_store(db: Any, day_from: dt.date, day_to: dt.date) -> dict[str, Any]:
    """The same report from one kiosk's own SQLite store (voids are the lobby's: 0)."""
    rows = db.execute("SELECT kiosk_id, metric, sum(value) FROM statistics "
                      "WHERE day BETWEEN ? AND ? GROUP BY 1, 2",
                      [day_from.isoformat(), day_to.isoformat()]).fetchall()
    return build(rows, [], day_from, day_to)


def to_html(report: dict[str, Any]) -> str:
    """A printable page for the hospital's daily meeting (A4, large type, no scripts)."""
    from html import escape

    def row(name: str, part: dict[str, Any], bold: bool = False) -> str:
        depts = ", ".join(f"{escape(d)}: {n}" for d, n in sorted(part["registrations"].items()))
        cells = [escape(name), str(part["registrations_total"]), depts or "–",
                 f"{part['offline']} ({part['offline_share']:.0%})", str(part["voids"]),
                 str(part["health_book"]["offered"]), str(part["health_book"]["completed"])]
        tag = "th" if bold else "td"
        return "<tr>" + "".join(f"<{tag}>{c}</{tag}>" for c in cells) + "</tr>"

    span = (report["from"] if report["from"] == report["to"]
            else f"{report['from']} – {report['to']}")
    head = ("<tr><th>Ki-ốt / Kiosk</th><th>Đăng ký / Registrations</th>"
            "<th>Theo khoa / Per department</th><th>Số riêng / Offline</th>"
            "<th>Số hủy / Voids</th><th>Mời SKĐT / Health book offered</th>"
            "<th>Hoàn tất / Completed</th></tr>")
    rows = "".join(row(k["kiosk_id"], k) for k in report["kiosks"])
    return ("<!doctype html><html lang=\"vi\"><head><meta charset=\"utf-8\">"
            f"<title>Báo cáo sảnh {escape(str(report.get('facility', '')))} {span}</title>"
            "<style>body{font:14pt sans-serif;margin:1.5cm}table{border-collapse:collapse;"
            "width:100%}td,th{border:1px solid #444;padding:.3em .5em;text-align:left}"
            "@page{size:A4 landscape}</style></head><body>"
            f"<h1>Báo cáo sảnh / Lobby report — {escape(str(report.get('facility', '')))}"
            f"</h1><p>{span}</p><table>{head}{rows}"
            f"{row('Tổng / Total', report['totals'], bold=True)}</table></body></html>\n")
