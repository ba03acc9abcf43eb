"""The HIS simulator (vendor-style REST on 127.0.0.1) and its adapter.

`[his] adapter = "simulator"`: with `settings.url` the adapter talks to a
running simulator (`HisSimulator`); without it, `build()` starts one inside
the calling process, storing its data in `<state_dir>/his-simulator.sqlite3`
so bookings survive restarts, and stops it on `close()`. It holds today's
follow-up appointments for the demo patients that have one. The adapter is the
generic REST adapter with the simulator's mapping: the demo exercises the
same code a real vendor configuration does.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from kiosk.services.his.rest import RestAdapter
from kiosk.services.his.simulator.server import PASSWORD, USERNAME, HisSimulator

if TYPE_CHECKING:
    from kiosk.config import Config

__all__ = ["MAPPING", "HisSimulator", "SimulatorAdapter", "build", "mapping",
           "seed_demo_appointments"]

MAPPING: dict[str, Any] = {
    # The simulator's own demo password; a real HIS's comes from the secrets file.
    "password": PASSWORD,
    "auth": {"path": "/api/auth/token", "body": {"username": USERNAME, "password": "{password}"},
             "token": "access_token"},
    "find_patient": [
        {"path": "/api/patients", "params": {"so_cccd": "{id_number}"}, "results": "data"},
        {"path": "/api/patients", "params": {"so_the_bhyt": "{bhyt_card}"}, "results": "data"},
    ],
    "create_patient": {
        "path": "/api/patients", "id": "data.id",
        "body": {"ho_ten": "{full_name}", "ngay_sinh": "{date_of_birth}", "gioi_tinh": "{sex}",
                 "so_cccd": "{id_number}", "so_the_bhyt": "{bhyt_card}",
                 "dia_chi": "{residence}"},
    },
    "create_visit": {
        "path": "/api/bookings", "id": "data.id",
        "body": {"benh_nhan_id": "{patient_ref}", "ma_dang_ky": "{registration_id}",
                 "ma_dich_vu": "{service_code}", "ten_dich_vu": "{service_name}",
                 "khoa": "{department}", "phong": "{room}", "so_thu_tu": "{queue_number}",
                 "thoi_gian": "{created_at}", "so_the_bhyt": "{bhyt_card}",
                 "ket_qua_bhyt": "{insurance_outcome}"},
    },
    "update_insurance": {
        "method": "PATCH", "path": "/api/bookings/{visit_ref}", "id": "data.id",
        "body": {"ket_qua_bhyt": "{insurance_outcome}"},
    },
    "find_appointments": [
        {"path": "/api/appointments", "results": "data",
         "params": {"so_cccd": "{id_number}", "tu": "{window_start}", "den": "{window_end}"},
         "fields": {"ref": "id", "start": "thoi_gian", "service_name": "ten_dich_vu",
                    "department": "khoa", "room": "phong", "doctor": "bac_si",
                    "order_number": "stt", "status": "trang_thai"}},
        {"path": "/api/appointments", "results": "data",
         "params": {"so_the_bhyt": "{bhyt_card}", "tu": "{window_start}",
                    "den": "{window_end}"},
         "fields": {"ref": "id", "start": "thoi_gian", "service_name": "ten_dich_vu",
                    "department": "khoa", "room": "phong", "doctor": "bac_si",
                    "order_number": "stt", "status": "trang_thai"}},
    ],
    "check_in": {
        "path": "/api/appointments/{appointment_ref}/checkin", "id": "data.id",
        "body": {"ma_dang_ky": "{registration_id}", "so_thu_tu": "{queue_number}",
                 "phong": "{room}", "ket_qua_bhyt": "{insurance_outcome}"},
    },
    "catalogue": {"path": "/api/services", "results": "data",
                  "fields": {"code": "ma", "name": "ten", "room": "phong", "department": "khoa",
                             "fee": "gia"}},
}


def mapping(url: str, **extra: Any) -> dict[str, Any]:
    """Generic-REST settings for a simulator at `url` (also a worked example)."""
    return {"url": url, **MAPPING, **extra}


class SimulatorAdapter(RestAdapter):
    name = "simulator"

    def __init__(self, settings: dict[str, Any], server: HisSimulator | None = None) -> None:
        super().__init__(settings)
        self.server = server

    def close(self) -> None:
        super().close()
        if self.server is not None:
            self.server.stop()
            self.server = None


def seed_demo_appointments(server: HisSimulator, timezone: str,
                           now: dt.datetime | None = None) -> None:
    """Today's follow-up appointment for each demo patient who has one (the demo's
    giấy hẹn khám lại), at the last quarter hour: always inside today's window."""
    from kiosk.services.simulators import load_demo_patients

    local = (now or dt.datetime.now(dt.UTC)).astimezone(ZoneInfo(timezone))
    start = local.replace(minute=local.minute - local.minute % 15, second=0, microsecond=0)
    for patient in load_demo_patients():
        booked = patient.card_json.get("appointment")
        if not booked:
            continue
        server.add_appointment(f"{patient.key}:{start.date()}", start,
                               so_cccd=patient.identity.id_number,
                               so_the_bhyt=patient.identity.bhyt_card,
                               ten_dich_vu=booked["service_name"], khoa=booked["department"],
                               phong=booked["room"], bac_si=booked.get("doctor"))


def build(config: Config) -> SimulatorAdapter:
    settings = dict(config.his.settings)
    server = None
    if not settings.get("url"):
        server = HisSimulator(config.state_dir / "his-simulator.sqlite3", services=[
            {"ma": s.code, "ten": s.name, "khoa": s.department, "phong": s.room, "gia": s.fee}
            for s in config.services])
        seed_demo_appointments(server, config.facility.timezone)
        settings["url"] = server.start()
    return SimulatorAdapter({**mapping(settings["url"]), **settings}, server)
