"""HIS simulator: a vendor-style REST/JSON hospital information system on 127.0.0.1.

Shaped like the proprietary APIs Vietnamese HIS vendors expose (token,
patients, bookings, services; Vietnamese field names). Its documented
contract, which the `simulator` adapter (a generic-REST mapping) relies on:

* `POST /api/auth/token {"username","password"}` → `{"access_token","expires_in"}`;
  other calls need `Authorization: Bearer <token>` (401 otherwise).
* `GET /api/patients?so_cccd=…` or `?so_the_bhyt=…` → `{"data": [patient…]}`.
* `POST /api/patients {ho_ten, ngay_sinh, gioi_tinh, so_cccd, so_the_bhyt, dia_chi}`
  → 201 `{"data": {"id"}}`; 409 if the CCCD/BHYT number already has a patient.
* `POST /api/bookings {benh_nhan_id, ma_dang_ky, ma_dich_vu, ten_dich_vu, khoa,
  phong, so_thu_tu, thoi_gian, so_the_bhyt, ket_qua_bhyt}` → 201 `{"data": {"id"}}`;
  idempotent by `ma_dang_ky` (a repeat answers 200 with the first booking).
* `GET /api/services` → `{"data": [{"ma","ten","khoa","phong","gia"}]}`.
* `GET /api/appointments?so_cccd=…&tu=ISO&den=ISO` (or `so_the_bhyt`) → `{"data":
  [{"id","thoi_gian","ten_dich_vu","khoa","phong","bac_si","stt","trang_thai"}]}`:
  the patient's follow-up appointments (lịch hẹn khám lại) from `tu` to `den` still
  `da_hen` (booked).
* `POST /api/appointments/{id}/checkin {ma_dang_ky, so_thu_tu, phong}` → 200
  `{"data": {"id"}}` and the appointment becomes `da_den`; a repeat (same
  `ma_dang_ky`) answers the same, another registration for it 409.

Data lives in SQLite (a file survives restarts of the kiosk processes).
"""

from __future__ import annotations

import datetime as dt
import secrets
import sqlite3
import threading
from pathlib import Path
from typing import Any

from kiosk.services.his.loopback import LoopbackServer, Reply, Request

USERNAME = "kiosk"
PASSWORD = "simulator-password"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS patients (
    id INTEGER PRIMARY KEY AUTOINCREMENT, so_cccd TEXT UNIQUE, so_the_bhyt TEXT UNIQUE,
    ho_ten TEXT NOT NULL, ngay_sinh TEXT, gioi_tinh TEXT, dia_chi TEXT);
CREATE TABLE IF NOT EXISTS bookings (
    id INTEGER PRIMARY KEY AUTOINCREMENT, ma_dang_ky TEXT NOT NULL UNIQUE,
    benh_nhan_id INTEGER NOT NULL REFERENCES patients(id), ma_dich_vu TEXT, ten_dich_vu TEXT,
    khoa TEXT, phong TEXT, so_thu_tu TEXT, thoi_gian TEXT, so_the_bhyt TEXT,
    ket_qua_bhyt TEXT, posts INTEGER NOT NULL DEFAULT 1);
CREATE TABLE IF NOT EXISTS appointments (
    id INTEGER PRIMARY KEY AUTOINCREMENT, ma_lich_hen TEXT NOT NULL UNIQUE,
    so_cccd TEXT, so_the_bhyt TEXT, thoi_gian TEXT NOT NULL, ten_dich_vu TEXT, khoa TEXT,
    phong TEXT, bac_si TEXT, stt TEXT, trang_thai TEXT NOT NULL DEFAULT 'da_hen',
    ma_dang_ky TEXT, checkins INTEGER NOT NULL DEFAULT 0);
"""
_PATIENT_FIELDS = ("ho_ten", "ngay_sinh", "gioi_tinh", "so_cccd", "so_the_bhyt", "dia_chi")
_BOOKING_FIELDS = ("ma_dang_ky", "benh_nhan_id", "ma_dich_vu", "ten_dich_vu", "khoa", "phong",
                   "so_thu_tu", "thoi_gian", "so_the_bhyt", "ket_qua_bhyt")


class HisSimulator(LoopbackServer):
    def __init__(self, path: Path | str = ":memory:", *, port: int = 0,
                 services: list[dict[str, Any]] | None = None) -> None:
        super().__init__(self._route, port=port, name="his-simulator")
        if isinstance(path, Path):
            path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self.db.executescript(_SCHEMA)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.services = services or []
        self.tokens: set[str] = set()
        self.db_lock = threading.Lock()

    # -- inspection for tests and the demo -----------------------------------------
    def bookings(self) -> list[dict[str, Any]]:
        with self.db_lock:
            cur = self.db.execute("SELECT * FROM bookings ORDER BY id")
            names = [c[0] for c in cur.description]
            return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    def add_appointment(self, key: str, start: dt.datetime, *, so_cccd: str | None,
                        so_the_bhyt: str | None = None, ten_dich_vu: str, khoa: str,
                        phong: str, bac_si: str | None = None, stt: str | None = None) -> None:
        """Book a follow-up (once per `key`: seeding again on restart changes nothing)."""
        with self.db_lock:
            self.db.execute(
                "INSERT OR IGNORE INTO appointments (ma_lich_hen, so_cccd, so_the_bhyt, "
                "thoi_gian, ten_dich_vu, khoa, phong, bac_si, stt) VALUES "
                "(?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [key, so_cccd, so_the_bhyt, start.isoformat(timespec="seconds"), ten_dich_vu,
                 khoa, phong, bac_si, stt])

    def appointments(self) -> list[dict[str, Any]]:
        with self.db_lock:
            cur = self.db.execute("SELECT * FROM appointments ORDER BY id")
            names = [c[0] for c in cur.description]
            return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    def patient_count(self) -> int:
        with self.db_lock:
            return int(self.db.execute("SELECT count(*) FROM patients").fetchone()[0])

    # -- routes ---------------------------------------------------------------------
    def _route(self, req: Request) -> Reply:
        if (req.method, req.path) == ("POST", "/api/auth/token"):
            return self._token(req)
        auth = req.headers.get("authorization", "")
        if not auth.startswith("Bearer ") or auth[7:] not in self.tokens:
            return Reply(401, {"error": "unauthorized"})
        with self.db_lock:
            if (req.method, req.path) == ("GET", "/api/patients"):
                return self._find(req)
            if (req.method, req.path) == ("POST", "/api/patients"):
                return self._create_patient(req.body)
            if (req.method, req.path) == ("POST", "/api/bookings"):
                return self._book(req.body)
            if req.method == "PATCH" and req.path.startswith("/api/bookings/"):
                return self._update_booking(req.path.rsplit("/", 1)[1], req.body)
            if (req.method, req.path) == ("GET", "/api/services"):
                return Reply(200, {"data": self.services})
            if (req.method, req.path) == ("GET", "/api/appointments"):
                return self._appointments(req)
            parts = req.path.split("/")
            if req.method == "POST" and len(parts) == 5 and parts[1:3] == ["api", "appointments"] \
                    and parts[4] == "checkin":
                return self._check_in(parts[3], req.body)
        return Reply(404, {"error": "not found"})

    def _token(self, req: Request) -> Reply:
        body = req.body if isinstance(req.body, dict) else {}
        if (body.get("username"), body.get("password")) != (USERNAME, PASSWORD):
            return Reply(401, {"error": "bad credentials"})
        token = secrets.token_hex(16)
        self.tokens.add(token)
        return Reply(200, {"access_token": token, "expires_in": 3600})

    def _find(self, req: Request) -> Reply:
        for key in ("so_cccd", "so_the_bhyt"):
            value = req.param(key)
            if value:
                cur = self.db.execute(f"SELECT id, {', '.join(_PATIENT_FIELDS)} FROM patients "
                                      f"WHERE {key} = ?", [value])
                names = [c[0] for c in cur.description]
                return Reply(200, {"data": [dict(zip(names, r, strict=True))
                                            for r in cur.fetchall()]})
        return Reply(400, {"error": "so_cccd or so_the_bhyt required"})

    def _create_patient(self, body: Any) -> Reply:
        if not isinstance(body, dict) or not isinstance(body.get("ho_ten"), str) \
                or not body["ho_ten"].strip():
            return Reply(400, {"error": "ho_ten required"})
        if not (body.get("so_cccd") or body.get("so_the_bhyt")):
            return Reply(400, {"error": "so_cccd or so_the_bhyt required"})
        try:
            cur = self.db.execute(
                f"INSERT INTO patients ({', '.join(_PATIENT_FIELDS)}) VALUES (?, ?, ?, ?, ?, ?)",
                [_text(body.get(f)) for f in _PATIENT_FIELDS])
        except sqlite3.IntegrityError:
            return Reply(409, {"error": "patient exists"})
        return Reply(201, {"data": {"id": cur.lastrowid}})

    def _book(self, body: Any) -> Reply:
        if not isinstance(body, dict) or not body.get("ma_dang_ky") or not body.get(
                "ma_dich_vu"):
            return Reply(400, {"error": "ma_dang_ky and ma_dich_vu required"})
        found = self.db.execute("SELECT id FROM bookings WHERE ma_dang_ky = ?",
                                [str(body["ma_dang_ky"])]).fetchone()
        if found:
            self.db.execute("UPDATE bookings SET posts = posts + 1 WHERE id = ?", [found[0]])
            return Reply(200, {"data": {"id": found[0]}})
        try:
            patient = int(body["benh_nhan_id"])
        except (KeyError, TypeError, ValueError):
            return Reply(400, {"error": "benh_nhan_id must be a patient id"})
        if not self.db.execute("SELECT 1 FROM patients WHERE id = ?", [patient]).fetchone():
            return Reply(422, {"error": "unknown patient"})
        values: list[Any] = [_text(body.get(f)) for f in _BOOKING_FIELDS]
        values[1] = patient
        cur = self.db.execute(
            f"INSERT INTO bookings ({', '.join(_BOOKING_FIELDS)}) VALUES "
            f"({', '.join('?' * len(_BOOKING_FIELDS))})", values)
        return Reply(201, {"data": {"id": cur.lastrowid}})


    def _appointments(self, req: Request) -> Reply:
        since, until = req.param("tu"), req.param("den")
        if not since or not until:
            return Reply(400, {"error": "tu and den required"})
        try:
            start, end = dt.datetime.fromisoformat(since), dt.datetime.fromisoformat(until)
        except ValueError:
            return Reply(400, {"error": "tu/den must be ISO date-times"})
        for key in ("so_cccd", "so_the_bhyt"):
            value = req.param(key)
            if value:
                cur = self.db.execute(
                    "SELECT id, thoi_gian, ten_dich_vu, khoa, phong, bac_si, stt, trang_thai "
                    f"FROM appointments WHERE {key} = ? AND trang_thai = 'da_hen'", [value])
                names = [c[0] for c in cur.description]
                rows = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
                return Reply(200, {"data": [r for r in rows if start <= dt.datetime.fromisoformat(
                    r["thoi_gian"]) < end]})
        return Reply(400, {"error": "so_cccd or so_the_bhyt required"})

    def _check_in(self, appointment: str, body: Any) -> Reply:
        if not isinstance(body, dict) or not body.get("ma_dang_ky"):
            return Reply(400, {"error": "ma_dang_ky required"})
        row = self.db.execute("SELECT id, trang_thai, ma_dang_ky FROM appointments "
                              "WHERE id = ?", [appointment]).fetchone()
        if row is None:
            return Reply(404, {"error": "no such appointment"})
        if row[1] == "da_den":
            if row[2] != str(body["ma_dang_ky"]):
                return Reply(409, {"error": "already checked in"})
            self.db.execute("UPDATE appointments SET checkins = checkins + 1 WHERE id = ?",
                            [row[0]])
            return Reply(200, {"data": {"id": row[0]}})
        self.db.execute("UPDATE appointments SET trang_thai = 'da_den', ma_dang_ky = ?, "
                        "stt = coalesce(stt, ?), phong = coalesce(nullif(phong, ''), ?), "
                        "checkins = checkins + 1 WHERE id = ?",
                        [str(body["ma_dang_ky"]), _text(body.get("so_thu_tu")),
                         _text(body.get("phong")), row[0]])
        return Reply(200, {"data": {"id": row[0]}})

    def _update_booking(self, booking: str, body: Any) -> Reply:
        if not isinstance(body, dict) or not isinstance(body.get("ket_qua_bhyt"), str):
            return Reply(400, {"error": "ket_qua_bhyt required"})
        cur = self.db.execute("UPDATE bookings SET ket_qua_bhyt = ? WHERE id = ?",
                              [body["ket_qua_bhyt"], booking])
        if cur.rowcount == 0:
            return Reply(404, {"error": "no such booking"})
        return Reply(200, {"data": {"id": int(booking)}})


def _text(value: Any) -> str | None:
    return None if value is None else str(value)
