"""Follow-up counts for `kiosk report follow-ups`: per day and department, the
check-in counted once in its own transaction, lookups that could not answer."""

import datetime as dt
import json

from kiosk.domain.appointment import Appointment
from kiosk.services.appointment_stats import counts, csv_rows
from kiosk.services.registration import RegistrationService
from kiosk.services.statistics import SqliteStatistics
from kiosk.store import connect
from tests.cli_helpers import run_kiosk
from tests.unit.registration.helpers import NOW, insured, patient

ENDO = Appointment("a1", NOW, "Khám Nội tiết", "NOITIET", "Phòng 305")


def test_check_ins_per_department_and_lookups_not_answered(config):
    db = connect(config.database_path)
    svc = RegistrationService(db, config, now=lambda: NOW)
    first = svc.check_in(patient(1), insured(), ENDO)
    assert svc.check_in(patient(1), insured(), ENDO) == first  # checked in twice: counted once
    svc.check_in(patient(2), insured(), Appointment("a2", NOW, "Khám Mắt", "MAT"))
    stats = SqliteStatistics(db, config.kiosk_id, config.facility.timezone, now=lambda: NOW)
    for metric in ("appointment.lookup.unavailable", "appointment.lookup.none",
                   "appointment.declined"):
        stats.count(metric)
    day = NOW.date()
    report = counts(db, day, day)
    assert report["totals"] == {"checked_in": 2, "offered": 0, "declined": 1, "found": 0,
                                "none": 1, "not_found": 1,
                                "by_department": {"noitiet": 1, "mat": 1}}
    header, rows = csv_rows(counts(db, day - dt.timedelta(days=1), day))
    assert header[-2:] == ["checked_in.mat", "checked_in.noitiet"] and len(rows) == 2
    assert rows[0][1:] == [0] * (len(header) - 1)  # a quiet day is zeros, not missing
    db.conn.close()
    out = run_kiosk("report", "follow-ups", "--database", str(config.database_path),
                    "--from", day.isoformat(), "--to", day.isoformat(), "--json")
    assert out.returncode == 0 and json.loads(out.stdout)["totals"]["checked_in"] == 2
    text = run_kiosk("report", "follow-ups", "--database", str(config.database_path),
                     "--from", day.isoformat(), "--to", day.isoformat()).stdout.splitlines()
    assert text[0].startswith("Khám lại theo lịch hẹn / follow-up check-ins")
    assert text[1].split()[:2] == ["date", "checked_in"] and text[-1].split()[:2] == ["total", "2"]
