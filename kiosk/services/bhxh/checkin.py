"""The QĐ 130 check-in table ("bảng check-in", XML0) for an insured visit (DOMAIN.md §7).

Off by default (`bhxh.checkin`): the HIS usually sends it once the visit has its
first chargeable item; a hospital whose HIS does not can let the kiosk send it for
the exam it registered. The sync daemon sends it from the outbox, so a gateway
outage loses nothing. `CHUKYDONVI` (the facility's XML signature) stays empty: a
gateway that insists on it needs the facility's signing certificate, which the
kiosk does not hold.
"""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET

from kiosk.services.his.base import HisPatient, HisVisit

CHECKIN_PATH = "/api/qd130/checkInKcbQd4750"
SUCCESS = "200"
FIELDS = ("MA_LK", "STT", "MA_BN", "HO_TEN", "SO_CCCD", "NGAY_SINH", "GIOI_TINH", "MA_THE_BHYT",
          "MA_DKBD", "GT_THE_TU", "GT_THE_DEN", "MA_DOITUONG_KCB", "NGAY_VAO",
          "NGAY_VAO_NOI_TRU", "LY_DO_VNT", "MA_LY_DO_VNT", "MA_LOAI_KCB", "MA_CSKCB",
          "MA_DICH_VU", "TEN_DICH_VU", "MA_THUOC", "TEN_THUOC", "MA_VAT_TU", "TEN_VAT_TU",
          "NGAY_YL", "DU_PHONG")
OUTPATIENT_EXAM = "01"  # MA_LOAI_KCB: khám bệnh
REGISTERED_HERE = "1.1"  # MA_DOITUONG_KCB: at the facility of initial registration
INSURED_OUTCOMES = ("usable", "warning")


class CheckinRejected(Exception):
    """The gateway read the table and refused it (a retry will not change that)."""


def needs_checkin(enabled: bool, insurance_outcome: str) -> bool:
    return enabled and insurance_outcome in INSURED_OUTCOMES


def _birth(value: dt.date | int | None) -> str:
    if isinstance(value, dt.date):
        return value.strftime("%Y%m%d") + "0000"
    if isinstance(value, int):
        return f"{value:04d}00000000"  # year only
    return ""


def _day(value: dt.date | None) -> str:
    return value.strftime("%Y%m%d") if value else ""


def checkin_values(patient: HisPatient, visit: HisVisit, facility_code: str
                   ) -> dict[str, str]:
    """One TRANG_THAI_KCB row: the registered exam, in the facility's local time."""
    arrived = visit.created_at.strftime("%Y%m%d%H%M")
    values = dict.fromkeys(FIELDS, "")
    values.update({
        "MA_LK": visit.registration_id, "STT": "1",
        "MA_BN": patient.id_number or visit.registration_id,
        "HO_TEN": patient.full_name, "SO_CCCD": patient.id_number or "",
        "NGAY_SINH": _birth(patient.date_of_birth),
        "GIOI_TINH": {"Nam": "1", "Nữ": "2"}.get(patient.sex or "", "3"),
        "MA_THE_BHYT": patient.bhyt_card or visit.bhyt_card or "",
        "MA_DKBD": patient.bhyt_facility or "",
        "GT_THE_TU": _day(patient.bhyt_valid_from), "GT_THE_DEN": _day(patient.bhyt_valid_to),
        # Any other category (referral, emergency, other facility) is the HIS's call.
        "MA_DOITUONG_KCB": REGISTERED_HERE if patient.bhyt_facility == facility_code else "",
        "NGAY_VAO": arrived, "MA_LOAI_KCB": OUTPATIENT_EXAM, "MA_CSKCB": facility_code,
        "MA_DICH_VU": visit.service_code, "TEN_DICH_VU": visit.service_name,
        "NGAY_YL": arrived,
    })
    return values


def checkin_xml(patient: HisPatient, visit: HisVisit, facility_code: str) -> bytes:
    root = ET.Element("CHI_TIEU_TRANG_THAI_KCB")
    row = ET.SubElement(ET.SubElement(root, "DSACH_TRANG_THAI_KCB"), "TRANG_THAI_KCB")
    for name, value in checkin_values(patient, visit, facility_code).items():
        ET.SubElement(row, name).text = value
    ET.SubElement(root, "CHUKYDONVI")
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def province_code(configured: str, facility_code: str) -> str:
    """maTinh: configured, else the province part of the 5-character facility code."""
    return configured or facility_code[:2]
