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
    if unsynced.purge_at:  # in the lobby's own time, as staff read clocks
        zone = ZoneInfo(assembly.config.facility.timezone)
        when = dt.datetime.fromisoformat(unsynced.purge_at)
        purge_at = when.astimezone(zone).strftime("%d/%m/%Y %H:%M")
    return StaffStatus(outbox_depth=int(depth), unsynced=unsynced.count,
                       unsynced_failed=unsynced.failed, unsynced_purge_at=purge_at)
