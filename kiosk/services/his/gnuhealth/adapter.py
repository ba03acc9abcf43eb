"""GNU Health as the hospital's HIS (GNUHEALTH.md).

* Patient: `party.party` with the CCCD as `ref` (the PUID, unique), created with
  is_person + is_patient + create_target so the server makes the
  `gnuhealth.patient`; found again by `gnuhealth.patient.puid`.
* BHYT: `gnuhealth.insurance` (number, insurer party, validity) on the party.
* Visit: `gnuhealth.appointment` then its `check_in` button. Idempotency: the
  registration id is written into the appointment's comments as
  `kiosk-registration:<id>` and searched before creating, so a retried delivery
  finds the first appointment.
* Follow-up appointments: the patient's `confirmed` `gnuhealth.appointment`s of
  today (found by the PUID); check-in writes `kiosk-checkin:<id>` and the queue
  number into its comments, then presses its `check_in` button (state
  `checked_in`). An appointment already checked in is not checked in again.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from kiosk.domain.appointment import Appointment
from kiosk.services.his.base import HisError, HisPatient, HisService, HisUnavailable, HisVisit
from kiosk.services.his.gnuhealth.rpc import TrytonRpc, date, datetime_utc
from kiosk.services.his.http import check_base_url

MARK = "kiosk-registration:"
CHECKIN_MARK = "kiosk-checkin:"
_APPOINTMENT_FIELDS = ["appointment_date", "state", "patient", "speciality.code",
                       "speciality.name", "healthprof.rec_name", "institution.rec_name"]
BHYT_LINE = "BHYT check: "
FACE_LINE = "face check: "  # the kiosk's face check outcome (issue 29)
INSURER_NAME = "Bảo hiểm xã hội Việt Nam"
COUNTRY = "VNM"  # fed_country takes the 3-letter code (the federation account prefix)


def _split_name(full_name: str) -> tuple[str, str]:
    """Vietnamese order: family (and middle) names first, given name last."""
    parts = full_name.split()
    if len(parts) < 2:
        return full_name, ""
    return parts[-1], " ".join(parts[:-1])


class GnuHealthAdapter:
    name = "gnuhealth"

    def __init__(self, settings: dict[str, Any]) -> None:
        missing = [k for k in ("url", "database", "username", "password") if not settings.get(k)]
        if missing:
            raise ValueError(f"his.settings.{missing[0]}: required for the gnuhealth adapter")
        url = check_base_url(str(settings["url"]), allow_http=bool(settings.get("allow_http")))
        self.rpc = TrytonRpc(url, str(settings["database"]), str(settings["username"]),
                             str(settings["password"]),
                             timeout_s=float(settings.get("timeout_s", 15.0)))
        self.institution_code = settings.get("institution_code")
        self.insurer_name = str(settings.get("insurer_name", INSURER_NAME))
        self._ids: dict[str, int | None] = {}

    def close(self) -> None:
        self.rpc.close()

    def warm(self) -> None:
        """Log in now (a follow-up lookup must fit its budget; the login is the slow part)."""
        if self.rpc.context is None:
            self.rpc.login()

    # -- lookups cached for the adapter's life ---------------------------------------
    def _first(self, model: str, domain: list[Any]) -> int | None:
        ids = self.rpc.call(f"model.{model}.search", domain, 0, 1, None)
        return int(ids[0]) if ids else None

    def _cached(self, key: str, model: str, domain: list[Any]) -> int | None:
        if key not in self._ids:
            self._ids[key] = self._first(model, domain)
        return self._ids[key]

    def _insurer(self) -> int:
        """The BHXH party, by its configured name (a hospital also has private insurers)."""
        found = self._cached("insurer", "party.party", [["is_insurance_company", "=", True],
                                                        ["name", "=", self.insurer_name]])
        if found is None:
            raise HisUnavailable(f"GNU Health has no insurance company named "
                                 f"{self.insurer_name!r} (his.settings.insurer_name)")
        return found

    # -- HisAdapter ------------------------------------------------------------------
    def find_or_create_patient(self, patient: HisPatient) -> str:
        if not patient.id_number:
            raise HisError("GNU Health needs the CCCD as the patient's PUID; register this "
                           "patient at the counter", transient=False)
        found = self._first("gnuhealth.patient", [["puid", "=", patient.id_number]])
        if found is None:
            # A party made at the counter (same CCCD, not yet a patient) is reused:
            # creating another would break the unique PUID.
            party_id = self._first("party.party", [["ref", "=", patient.id_number]])
            if party_id is not None:
                self.rpc.call("model.party.party.write", [party_id],
                              {"is_person": True, "is_patient": True})
                found = self._first("gnuhealth.patient", [["party", "=", party_id]])
                if found is None:
                    found = int(self.rpc.call("model.gnuhealth.patient.create",
                                              [{"party": party_id}])[0])
        if found is None:
            given, family = _split_name(patient.full_name)
            values: dict[str, Any] = {
                "name": given, "lastname": family, "ref": patient.id_number,
                "is_person": True, "is_patient": True, "create_target": True,
                "fed_country": COUNTRY,
                "gender": {"Nam": "m", "Nữ": "f"}.get(patient.sex or "", "u"),
            }
            if isinstance(patient.date_of_birth, dt.date):
                values["dob"] = date(patient.date_of_birth)
            party = self.rpc.call("model.party.party.create", [values])[0]
            found = self._first("gnuhealth.patient", [["party", "=", party]])
            if found is None:
                raise HisError("GNU Health made the party but no patient record",
                               transient=True)
        if patient.bhyt_card:
            self._ensure_insurance(found, patient)
        return str(found)

    def _ensure_insurance(self, patient_id: int, patient: HisPatient) -> int:
        party = self.rpc.call("model.gnuhealth.patient.read", [patient_id], ["party"])[0]["party"]
        insurer = self._insurer()
        existing = self._first("gnuhealth.insurance", [["number", "=", patient.bhyt_card],
                                                       ["company", "=", insurer]])
        if existing is not None:
            return existing
        values: dict[str, Any] = {"party": party, "company": insurer,
                                  "number": patient.bhyt_card, "insurance_type": "state"}
        if patient.bhyt_valid_from:
            values["member_since"] = date(patient.bhyt_valid_from)
        if patient.bhyt_valid_to:
            values["member_exp"] = date(patient.bhyt_valid_to)
        return int(self.rpc.call("model.gnuhealth.insurance.create", [values])[0])

    def create_visit(self, patient_ref: str, visit: HisVisit) -> str:
        marker = f"{MARK}{visit.registration_id}"
        # Narrowed to the patient so the text search never scans the whole table.
        existing = self._first("gnuhealth.appointment", [["patient", "=", int(patient_ref)],
                                                         ["comments", "ilike", f"%{marker}%"]])
        if existing is not None:
            return str(existing)  # a retried delivery: the first write stands
        values: dict[str, Any] = {
            "patient": int(patient_ref),
            "appointment_date": datetime_utc(visit.created_at),
            "state": "confirmed", "urgency": "a", "appointment_type": "outpatient",
            "visit_type": "new",
            "comments": f"{marker}\nqueue {visit.queue_number} · {visit.service_code} "
                        f"{visit.service_name} · {visit.room}\n"
                        f"{BHYT_LINE}{visit.insurance_outcome}"
                        + (f"\n{FACE_LINE}{visit.biometric}" if visit.biometric else ""),
        }
        institution = self._cached("institution", "gnuhealth.institution",
                                   [["code", "=", self.institution_code]]
                                   if self.institution_code else [])
        if institution is not None:
            values["institution"] = institution
        if visit.bhyt_card:
            insurance = self._first("gnuhealth.insurance", [["number", "=", visit.bhyt_card]])
            if insurance is not None:
                values["insurance"] = insurance
        appointment = int(self.rpc.call("model.gnuhealth.appointment.create", [values])[0])
        self.rpc.call("model.gnuhealth.appointment.check_in", [appointment])
        return str(appointment)

    def update_insurance(self, visit_ref: str, visit: HisVisit) -> str:
        # The appointment has no field for a BHYT check: its comments carry one line.
        rows = self.rpc.call("model.gnuhealth.appointment.read", [int(visit_ref)], ["comments"])
        if not rows:
            raise HisError(f"appointment {visit_ref} is gone", transient=False)
        lines = [line for line in str(rows[0].get("comments") or "").splitlines()
                 if not line.startswith(BHYT_LINE)]
        comments = "\n".join([*lines, f"{BHYT_LINE}{visit.insurance_outcome}"])
        if comments != rows[0].get("comments"):
            self.rpc.call("model.gnuhealth.appointment.write", [int(visit_ref)],
                          {"comments": comments})
        return visit_ref

    def find_appointments(self, patient: HisPatient, start: dt.datetime, end: dt.datetime
                          ) -> list[Appointment]:
        if not patient.id_number:
            return []
        found = self._first("gnuhealth.patient", [["puid", "=", patient.id_number]])
        if found is None:
            return []
        rows = self.rpc.call("model.gnuhealth.appointment.search_read", [
            ["patient", "=", found], ["state", "=", "confirmed"],
            ["appointment_date", ">=", datetime_utc(start)],
            ["appointment_date", "<", datetime_utc(end)]], 0, 20, None, _APPOINTMENT_FIELDS)
        return [a for a in map(_appointment, rows if isinstance(rows, list) else [])
                if a is not None]

    def check_in(self, appointment: Appointment, visit: HisVisit) -> str:
        ref = int(appointment.ref)
        rows = self.rpc.call("model.gnuhealth.appointment.read", [ref], ["state", "comments"])
        if not rows:
            raise HisError(f"appointment {ref} is gone", transient=False)
        state = rows[0].get("state")
        if state == "checked_in":
            return str(ref)  # ours, answered but lost; or the counter was quicker
        if state != "confirmed":
            raise HisError(f"appointment is {str(state)[:20]}: check in at the counter",
                           transient=False)
        comments = str(rows[0].get("comments") or "")
        mark = f"{CHECKIN_MARK}{visit.registration_id}"
        if mark not in comments:
            line = f"{mark}\nqueue {visit.queue_number} · {visit.room}\n" \
                   f"{BHYT_LINE}{visit.insurance_outcome}"
            self.rpc.call("model.gnuhealth.appointment.write", [ref],
                          {"comments": f"{comments}\n{line}" if comments else line})
        self.rpc.call("model.gnuhealth.appointment.check_in", [ref])
        return str(ref)

    def catalogue(self) -> list[HisService]:
        rows = self.rpc.call("model.gnuhealth.specialty.search_read", [], 0, 200, None,
                             ["code", "name"])
        return [HisService(code=str(r["code"]), name=str(r["name"]), room="",
                           department=str(r["code"])) for r in rows]


def _appointment(row: Any) -> Appointment | None:
    """A `search_read` row as the kiosk's appointment (the date is naive UTC)."""
    try:
        when = row["appointment_date"]
        start = dt.datetime(when["year"], when["month"], when["day"], when["hour"],
                            when["minute"], tzinfo=dt.UTC)
        code = row.get("speciality.") or {}
        speciality = code if isinstance(code, dict) else {}
        doctor = (row.get("healthprof.") or {}).get("rec_name")
        return Appointment(ref=str(int(row["id"])), start=start,
                           service_name=str(speciality.get("name") or "")[:120],
                           department=str(speciality.get("code") or "")[:40],
                           doctor=str(doctor)[:80] if doctor else None,
                           patient_ref=str(row.get("patient") or "") or None,
                           status="booked")
    except (KeyError, TypeError, ValueError, AttributeError):
        return None
