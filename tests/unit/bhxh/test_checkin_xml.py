"""The QĐ 130 check-in table (XML0) built from a registration."""

import datetime as dt
import unicodedata
from xml.etree import ElementTree

from hypothesis import given
from hypothesis import strategies as st

from kiosk.services.bhxh.checkin import FIELDS, checkin_xml, needs_checkin, province_code
from kiosk.services.his.base import HisPatient, HisVisit

HANOI = dt.timezone(dt.timedelta(hours=7))
PATIENT = HisPatient("001185012345", "Nguyễn Thị Hồng Nhung", dt.date(1985, 3, 14), "Nữ",
                     "Hà Nội", "GD4010123456789", dt.date(2026, 1, 1), dt.date(2026, 12, 31),
                     "01824")
VISIT = HisVisit("3f2a9c", "KB-NOI", "Khám Nội <tổng quát> & tư vấn", "NOI", "P.101",
                 "A-007", dt.datetime(2026, 11, 23, 7, 5, tzinfo=HANOI), "usable",
                 "GD4010123456789")


def rows(xml: bytes) -> list[dict[str, str]]:
    root = ElementTree.fromstring(xml)
    assert root.tag == "CHI_TIEU_TRANG_THAI_KCB" and root.find("CHUKYDONVI") is not None
    return [{c.tag: c.text or "" for c in row}
            for row in root.findall("./DSACH_TRANG_THAI_KCB/TRANG_THAI_KCB")]


def test_fields_in_the_documented_order_and_formats():
    xml = checkin_xml(PATIENT, VISIT, "01824")
    assert xml.startswith(b"<?xml version='1.0' encoding='utf-8'?>")
    [row] = rows(xml)
    assert list(row) == list(FIELDS)
    assert row["MA_LK"] == "3f2a9c" and row["STT"] == "1"
    assert row["HO_TEN"] == "Nguyễn Thị Hồng Nhung"
    assert unicodedata.is_normalized("NFC", row["HO_TEN"])
    assert (row["NGAY_SINH"], row["GIOI_TINH"]) == ("198503140000", "2")
    assert (row["GT_THE_TU"], row["GT_THE_DEN"]) == ("20260101", "20261231")
    assert row["NGAY_VAO"] == row["NGAY_YL"] == "202611230705"  # facility local time
    assert (row["MA_LOAI_KCB"], row["MA_CSKCB"], row["MA_DOITUONG_KCB"]) == ("01", "01824",
                                                                             "1.1")
    assert row["TEN_DICH_VU"] == "Khám Nội <tổng quát> & tư vấn"  # escaped, then read back
    assert row["NGAY_VAO_NOI_TRU"] == row["MA_THUOC"] == ""


def test_year_only_birth_unknown_sex_and_another_facility():
    other = HisPatient(None, "Lò Văn Pằn", 1950, None, None, "HT2380123498765",
                       bhyt_facility="14001")
    [row] = rows(checkin_xml(other, VISIT, "01824"))
    assert (row["NGAY_SINH"], row["GIOI_TINH"]) == ("195000000000", "3")
    assert row["MA_BN"] == "3f2a9c" and row["SO_CCCD"] == ""
    assert row["MA_DOITUONG_KCB"] == ""  # not registered here: the HIS decides


def test_only_insured_visits_and_only_when_enabled():
    assert needs_checkin(True, "usable") and needs_checkin(True, "warning")
    assert not needs_checkin(True, "unavailable") and not needs_checkin(True, "not_usable")
    assert not needs_checkin(False, "usable")
    assert province_code("", "01824") == "01" and province_code("79", "01824") == "79"


@given(st.text(min_size=1, max_size=60).filter(lambda s: s.strip()))
def test_any_name_survives_the_round_trip(name):
    clean = "".join(c for c in name if c.isprintable())  # XML 1.0 has no control characters
    patient = HisPatient(PATIENT.id_number, clean or "A", PATIENT.date_of_birth, "Nam",
                         None, PATIENT.bhyt_card)
    [row] = rows(checkin_xml(patient, VISIT, "01824"))
    assert row["HO_TEN"] == (clean or "A")
