"""Fleet telemetry without personal data: hawkBit configData attributes and
Prometheus textfile metrics for node_exporter's textfile collector."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from pathlib import Path
from zoneinfo import ZoneInfo

import kiosk
from kiosk.config import Config
from kiosk.ops.install import current_version
from kiosk.ops.pin_attempts import failures_total
from kiosk.runtime.safe_paths import read_only_uri, write_in

DEFAULT_TEXTFILE = Path("/var/lib/node_exporter/textfile_collector/kiosk.prom")


def _query(config: Config, sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    if not config.database_path.exists():
        return []
    conn = sqlite3.connect(read_only_uri(config.database_path), uri=True, timeout=5)
    try:
        return list(conn.execute(sql, params))
    except sqlite3.Error:
        return []
    finally:
        conn.close()


def _today(config: Config) -> str:
    return dt.datetime.now(ZoneInfo(config.facility.timezone)).date().isoformat()


def device_attributes(config: Config, root: Path = Path("/")) -> dict[str, str]:
    """What the fleet server shows per kiosk (hawkBit configData: flat strings)."""
    depth = _query(config, "SELECT count(*) FROM outbox WHERE state = 'pending'")
    last_sync = _query(config, "SELECT max(synced_at) FROM registrations")
    rows = _query(config, "SELECT metric, value FROM statistics WHERE day = ? AND metric IN "
                  "('health_book.offered', 'health_book.started', 'health_book.completed')",
                  (_today(config),))
    hb: dict[object, object] = {row[0]: row[1] for row in rows}
    return {
        "version": current_version(root) or kiosk.__version__,
        "kiosk_id": config.kiosk_id,
        "facility": config.facility.code,
        "reader": config.devices.reader,
        "printer": config.printer.kind,
        "his_adapter": config.his.adapter,
        "outbox_depth": str(depth[0][0] if depth else 0),
        "last_sync": str(last_sync[0][0] or "") if last_sync else "",
        "health_book_offered_today": str(hb.get("health_book.offered", 0)),
        "health_book_started_today": str(hb.get("health_book.started", 0)),
        "health_book_completed_today": str(hb.get("health_book.completed", 0)),
    }


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ")


def prometheus_text(config: Config, now: dt.datetime | None = None) -> str:
    now = now or dt.datetime.now(dt.UTC)
    kid = _label(config.kiosk_id)
    lines = [
        "# HELP kiosk_journey_events_total Anonymous journey events today, by metric.",
        "# TYPE kiosk_journey_events_total gauge",
    ]
    for metric, value in _query(config, "SELECT metric, value FROM statistics WHERE day = ? "
                                        "AND kiosk_id = ? ORDER BY metric",
                                (_today(config), config.kiosk_id)):
        lines.append(f'kiosk_journey_events_total{{kiosk="{kid}",metric="{_label(str(metric))}"}}'
                     f" {value}")
    pending = _query(config, "SELECT count(*), min(created_at) FROM outbox WHERE state='pending'")
    dead = _query(config, "SELECT count(*) FROM outbox WHERE state = 'dead'")
    depth, oldest = pending[0] if pending else (0, None)
    age = (now - dt.datetime.fromisoformat(str(oldest))).total_seconds() if oldest else 0.0
    last = _query(config, "SELECT max(synced_at) FROM registrations")
    last_ts = (dt.datetime.fromisoformat(str(last[0][0])).timestamp()
               if last and last[0][0] else 0.0)
    regs = _query(config, "SELECT count(*) FROM registrations WHERE queue_day = ?",
                  (_today(config),))
    lines += [
        "# HELP kiosk_registrations_today Registrations made today.",
        "# TYPE kiosk_registrations_today gauge",
        f'kiosk_registrations_today{{kiosk="{kid}"}} {regs[0][0] if regs else 0}',
        "# HELP kiosk_outbox_depth Registrations waiting for the HIS.",
        "# TYPE kiosk_outbox_depth gauge",
        f'kiosk_outbox_depth{{kiosk="{kid}"}} {depth}',
        "# HELP kiosk_outbox_dead Registrations the HIS refused (dead letters).",
        "# TYPE kiosk_outbox_dead gauge",
        f'kiosk_outbox_dead{{kiosk="{kid}"}} {dead[0][0] if dead else 0}',
        "# HELP kiosk_outbox_oldest_age_seconds Age of the oldest waiting registration.",
        "# TYPE kiosk_outbox_oldest_age_seconds gauge",
        f'kiosk_outbox_oldest_age_seconds{{kiosk="{kid}"}} {age:.0f}',
        "# HELP kiosk_last_sync_timestamp_seconds Last registration confirmed by the HIS.",
        "# TYPE kiosk_last_sync_timestamp_seconds gauge",
        f'kiosk_last_sync_timestamp_seconds{{kiosk="{kid}"}} {last_ts:.0f}',
    ]
    pin_failures = failures_total(config.state_dir)
    if pin_failures is not None:
        lines += [
            "# HELP kiosk_staff_pin_failures_total Wrong staff PINs typed (anonymous count).",
            "# TYPE kiosk_staff_pin_failures_total counter",
            f'kiosk_staff_pin_failures_total{{kiosk="{kid}"}} {pin_failures}',
        ]
    update_file = config.state_dir / "last-update.json"
    if update_file.exists():
        update = json.loads(update_file.read_text())
        lines += [
            "# HELP kiosk_last_update_success 1 if the last fleet update succeeded.",
            "# TYPE kiosk_last_update_success gauge",
            f'kiosk_last_update_success{{kiosk="{kid}",version="{_label(update["version"])}"}} '
            f'{1 if update["outcome"] == "success" else 0}',
        ]
    return "\n".join(lines) + "\n"


def write_textfile(config: Config, path: Path = DEFAULT_TEXTFILE) -> Path:
    """Atomic write, as node_exporter's textfile collector requires (its folder is
    group-writable by the kiosk group: nothing there is followed)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_in(path.parent, path.name, prometheus_text(config).encode(), 0o644)
