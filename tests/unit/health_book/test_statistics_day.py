"""A scripted day of patients through the real journey and runner into a real SQLite
file; the counts the hospital reports (and the fleet telemetry reads) afterwards."""

import csv
import dataclasses
import datetime as dt
import io
import json
import re
import sqlite3
from pathlib import Path

import pytest

from drivers.printer import FilePrinter
from kiosk.config.loader import demo_config
from kiosk.domain.insurance import InsuranceCard, InsuranceResult
from kiosk.domain.qr_payload import parse_qr
from kiosk.journey import Journey, Step
from kiosk.journey import events as ev
from kiosk.journey.health_book import Answer as A
from kiosk.journey.health_book_content import load
from kiosk.journey.runner import Ports, Runner
from kiosk.services.health_book_handout import HandoutService
from kiosk.services.health_book_stats import RangeError, counts, csv_rows
from kiosk.services.printing import TicketPrinter
from kiosk.services.registration import RegistrationService
from kiosk.services.simulators import load_demo_patients
from kiosk.services.statistics import SqliteStatistics
from kiosk.store import connect
from tests.cli_helpers import run_kiosk

DAY1 = dt.datetime(2026, 11, 23, 2, 0, tzinfo=dt.UTC)  # 09:00 in Hà Nội
DAY2 = dt.datetime(2026, 11, 24, 2, 0, tzinfo=dt.UTC)
CHILD_QR = "001316012345||Trần Bảo Ngọc|05062016|Nữ|Hà Nội|10072022"
ADULT_QR = "001080054321||Vũ Văn Hải|01021980|Nam|Hà Nội|10072022"


class NoChip:
    """These patients show QR codes; the chip port is never asked."""

    def read_chip(self, key, on_photo=None):
        raise AssertionError("no chip read expected")


class InsuranceStandIn:
    """Answers like the BHXH gateway for the demo patients (card found by CCCD),
    "unavailable" for anyone else: only the card number matters to the guide."""

    def __init__(self, people, now):
        self.cards = {p.identity.id_number: p.identity.bhyt_card for p in people}
        self.now = now

    def check(self, identity):
        card = self.cards.get(identity.insurance_key)
        if not card:
            return InsuranceResult.not_checked(identity.insurance_key, "stand-in", self.now())
        return InsuranceResult("usable", "000", "vi", "en", "", InsuranceCard(card), self.now(),
                               "gateway", identity.insurance_key)


class Kiosk:
    def __init__(self, db, kiosk_id, tmp):
        self.patients = {p.key: p for p in load_demo_patients()}
        people = list(self.patients.values())
        self.now = DAY1
        self.stats = SqliteStatistics(db, kiosk_id, "Asia/Ho_Chi_Minh", now=lambda: self.now)
        config = dataclasses.replace(demo_config(tmp / "state"), kiosk_id=kiosk_id)
        ports = Ports(NoChip(), InsuranceStandIn(people, lambda: self.now),
                      RegistrationService(db, config, now=lambda: self.now),
                      TicketPrinter(FilePrinter(tmp / f"tickets-{kiosk_id}"),
                                    facility_name="BV", db=db), self.stats,
                      HandoutService(load(), url="https://bv.example.vn/sskdt",
                                     facility_name="BV", directory=tmp / f"tickets-{kiosk_id}"))
        self.t = 0.0
        self.journey = Journey()
        self.runner = Runner(self.journey, ports, clock=lambda: self.t)

    def send(self, *events, after=2.0):
        for event in events:
            self.t += after
            self.runner.dispatch(event)

    def to_offer(self, qr):
        self.send(ev.QrScanned(parse_qr(qr)), ev.IdentityConfirmed(), ev.Continue(),
                  ev.ServiceChosen("KB-NOI"), ev.RegistrationConfirmed())
        assert self.journey.session.step is Step.TICKET
        self.send(ev.Tick(), after=3.0)  # the number stays on screen a while
        self.send(ev.Continue())
        assert self.journey.session.step is Step.HEALTH_BOOK_OFFER

    def guide(self, qr, *answers):
        self.to_offer(qr)
        self.send(ev.HealthBookStarted())
        for a in answers:
            self.send(a if isinstance(a, ev.HandoutRequested) else ev.HealthBookAnswered(a))
        assert self.journey.session.step is Step.DONE, self.journey.session.health_book
        self.send(ev.Continue())

    def qr(self, key):
        return self.patients[key].qr_payload


def scripted_day(db, tmp):
    k = Kiosk(db, "kiosk-A", tmp)
    k.guide(k.qr("chip_insured"), A.YES, A.YES, A.YES, A.NO, A.NEXT, A.NEXT, A.YES)  # activate
    k.to_offer(k.qr("qr_insured"))
    k.send(ev.HealthBookSkipped(), ev.Continue())  # skipped
    k.guide(k.qr("uninsured"), A.YES, A.YES, A.NO, A.DONE)  # no BHYT card
    k.guide(k.qr("gateway_down"), A.NO, A.LATER, A.DONE)  # install, later
    k.guide(CHILD_QR, A.PARENT, A.YES, A.YES, A.YES, A.NO, A.NEXT, A.PENDING, A.DONE)
    k.guide(k.qr("chip_insured"), A.YES, A.NO, ev.HandoutRequested(), A.DONE)  # police
    k.guide(ADULT_QR, A.NO_SMARTPHONE, A.DONE)
    k.to_offer(k.qr("qr_insured"))
    k.send(ev.Tick(), after=1000)  # walked away on the offer
    assert k.journey.session.step is Step.IDLE
    k.now = DAY2
    k.guide(k.qr("chip_insured"), A.YES, A.YES, A.YES, A.YES, A.NEXT, A.YES)  # present
    other = Kiosk(db, "kiosk-B", tmp)
    other.now = DAY2
    other.to_offer(other.qr("qr_insured"))
    other.send(ev.HealthBookSkipped())
    return k


@pytest.fixture(scope="module")
def day(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("day")
    path = tmp / "kiosk.sqlite3"
    db = connect(path)
    k = scripted_day(db, tmp)
    db.conn.close()
    return path, k


def test_counts_after_a_scripted_day_survive_a_restart(day):
    path, _ = day
    db = connect(path)  # a new process opening the same file
    report = counts(db, dt.date(2026, 11, 23), dt.date(2026, 11, 24))
    a, b = report["kiosks"]
    assert a["kiosk_id"] == "kiosk-A" and b["kiosk_id"] == "kiosk-B"
    d1, d2 = a["days"]
    assert d1 == {
        "date": "2026-11-23", "offered": 8, "started": 6, "completed": 1, "skipped": 1,
        "not_eligible": {"under_14": 1, "no_smartphone": 1, "no_level2": 1, "no_bhyt": 1},
        "branches": {"parent": 1, "install": 1, "police_level2": 1, "integrate_bhyt": 1,
                     "activate": 1, "present": 0},
    }
    assert (d2["offered"], d2["completed"], d2["branches"]["present"]) == (1, 1, 1)
    assert b["days"][0]["offered"] == 0 and b["days"][1]["skipped"] == 1
    t = report["totals"]
    assert (t["offered"], t["started"], t["completed"], t["skipped"]) == (10, 7, 2, 2)
    assert sum(t["not_eligible"].values()) == 4
    # Finer metrics stay in the table for telemetry.
    extra = dict(db.execute("SELECT metric, SUM(value) FROM statistics WHERE metric LIKE "
                            "'health_book.%' GROUP BY metric").fetchall())
    assert extra["health_book.integration_status.pending"] == 1
    assert extra["health_book.parent_flow"] == 1
    assert extra["health_book.not_completed"] == 5
    assert extra["health_book.handout.printed"] == 1
    assert len(list(path.parent.glob("tickets-kiosk-A/handout-*-police.png"))) == 1
    db.conn.close()


def test_one_kiosk_and_ranges(day):
    path, _ = day
    db = connect(path)
    only = counts(db, dt.date(2026, 11, 24), dt.date(2026, 11, 24), "kiosk-B")
    assert [k["kiosk_id"] for k in only["kiosks"]] == ["kiosk-B"]
    assert counts(db, dt.date(2025, 1, 1), dt.date(2025, 1, 7))["kiosks"] == []
    with pytest.raises(RangeError):
        counts(db, dt.date(2026, 11, 24), dt.date(2026, 11, 23))
    with pytest.raises(RangeError):
        counts(db, dt.date(2000, 1, 1), dt.date(2026, 1, 1))
    db.conn.close()


def test_no_personal_data_in_the_statistics_table(day):
    path, k = day
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT day, kiosk_id, metric, value FROM statistics").fetchall()
    assert len(rows) > 20
    secrets = ["Trần Bảo Ngọc", "Vũ Văn Hải", "001316012345", "001080054321", "2016", "1980"]
    for p in k.patients.values():
        idn = p.identity
        secrets += [idn.full_name, idn.id_number, idn.bhyt_card, idn.residence,
                    idn.date_of_birth.isoformat()]
    text = json.dumps(rows, ensure_ascii=False)
    assert [s for s in secrets if s and s in text] == []
    for day_, kiosk, metric, value in rows:
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", day_) and kiosk.startswith("kiosk-")
        assert re.fullmatch(r"[a-z0-9_]+(\.[a-z0-9_]+)+", metric) and isinstance(value, int)


def test_report_cli_json_matches_counts(day):
    path, _ = day
    proc = run_kiosk("report", "health-book", "--from", "2026-11-23", "--to", "2026-11-24",
                     "--format", "json", "--database", str(path))
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert list(data) == ["from", "to", "kiosks", "totals"]
    assert (data["from"], data["to"]) == ("2026-11-23", "2026-11-24")
    assert list(data["kiosks"][0]) == ["kiosk_id", "days"]
    assert list(data["kiosks"][0]["days"][0]) == [
        "date", "offered", "started", "completed", "skipped", "not_eligible", "branches"]
    db = connect(path)
    assert data == counts(db, dt.date(2026, 11, 23), dt.date(2026, 11, 24))
    db.conn.close()


def test_report_cli_csv_one_row_per_kiosk_day(day):
    path, _ = day
    proc = run_kiosk("report", "health-book", "--from", "2026-11-23", "--to", "2026-11-24",
                     "--format", "csv", "--database", str(path))
    assert proc.returncode == 0, proc.stderr
    rows = list(csv.DictReader(io.StringIO(proc.stdout)))
    assert [(r["kiosk_id"], r["date"]) for r in rows] == [
        ("kiosk-A", "2026-11-23"), ("kiosk-A", "2026-11-24"),
        ("kiosk-B", "2026-11-23"), ("kiosk-B", "2026-11-24")]
    first = rows[0]
    assert (first["offered"], first["not_eligible.under_14"], first["branch.activate"]) == (
        "8", "1", "1")


@pytest.mark.parametrize(("args", "code", "words"), [
    (["--from", "2026-11-24", "--to", "2026-11-23"], 2, "before"),
    (["--from", "2026-13-01", "--to", "2026-11-23"], 2, "not a date"),
    (["--from", "2026-11-01", "--to", "2026-11-23", "--format", "xml"], 2, "invalid choice"),
])
def test_report_cli_bad_input(day, args, code, words):
    path, _ = day
    proc = run_kiosk("report", "health-book", *args, "--database", str(path))
    assert proc.returncode == code and words in proc.stderr


def test_report_cli_missing_database(tmp_path: Path):
    proc = run_kiosk("report", "health-book", "--from", "2026-11-01", "--to", "2026-11-07",
                     "--database", str(tmp_path / "none.sqlite3"))
    assert proc.returncode == 5 and "no kiosk database" in proc.stderr
    assert not (tmp_path / "none.sqlite3").exists()


def test_report_cli_prints_a_table_unless_json(day):
    path, _ = day
    proc = run_kiosk("report", "health-book", "--from", "2026-11-23", "--to", "2026-11-24",
                     "--database", str(path))
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == "Sổ sức khỏe điện tử / health book, 2026-11-23 – 2026-11-24"
    assert lines[1].split() == ["date", "kiosk_id", "offered", "started", "completed",
                                "skipped"]
    assert lines[2].split()[:3] == ["2026-11-23", "kiosk-A", "8"]
    assert lines[-1].split()[0] == "total" and len(lines) == 7


def test_csv_rows_keep_unknown_reasons():
    report = {"kiosks": [{"kiosk_id": "k", "days": [
        {"date": "2026-01-01", "offered": 1, "started": 0, "completed": 0, "skipped": 0,
         "not_eligible": {"under_14": 0, "other": 2}, "branches": {}}]}],
        "totals": {"not_eligible": {"under_14": 0, "other": 2}, "branches": {}}}
    header, rows = csv_rows(report)
    assert header[-2:] == ["not_eligible.other", "not_eligible.under_14"] and rows[0][-2] == 2
