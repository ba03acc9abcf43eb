"""What the staff screen shows about the kiosk's own database, for `kiosk run`
and the demo alike (beside the device status of kiosk.ui.devices)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from kiosk.ui.staff import StaffStatus

if TYPE_CHECKING:
    from kiosk.services.wiring import Assembly


def staff_status(assembly: Assembly) -> StaffStatus:
    """What the staff screen shows about the kiosk's own database (off the UI thread)."""
    from kiosk.store.retention import unsynced_summary

    depth = assembly.db.execute(
        "SELECT count(*) FROM outbox WHERE state = 'pending'").fetchone()[0]
    unsynced = unsynced_summary(assembly.db, assembly.config)
    purge_at = None
    zone = ZoneInfo(assembly.config.facility.timezone)
    if unsynced.purge_at:  # in the lobby's own time, as staff read clocks
        when = dt.datetime.fromisoformat(unsynced.purge_at)
        purge_at = when.astimezone(zone).strftime("%d/%m/%Y %H:%M")
    today = dt.datetime.now(zone).date().isoformat()  # as SqliteStatistics counts days
    refused = assembly.db.execute(
        "SELECT coalesce(sum(value), 0) FROM statistics WHERE day = ? AND metric = ?",
        [today, "chip.refused"]).fetchone()[0]
    face: dict[str, int] = {}
    if assembly.config.biometric.face_match != "off":
        face = {metric.removeprefix("face."): int(value) for metric, value in assembly.db.execute(
            "SELECT metric, value FROM statistics WHERE day = ? AND kiosk_id = ? AND metric IN "
            "('face.verified', 'face.not_verified', 'face.declined')",
            [today, assembly.config.kiosk_id]).fetchall()}
        face = {"verified": 0, "not_verified": 0, "declined": 0, **face}
    return StaffStatus(outbox_depth=int(depth), unsynced=unsynced.count,
                       unsynced_failed=unsynced.failed, unsynced_purge_at=purge_at,
                       chip_refused=int(refused), face_counts=face)
