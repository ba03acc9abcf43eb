"""Follow-up appointments benchmark (issue 28): lookup and check-in times.

Everything real on 127.0.0.1: the FHIR test server holding `--patients` patients with
one appointment each for today (plus a cancelled and a yesterday's one), the HIS
simulator through the generic REST adapter, SQLite with synchronous=FULL.

1. Lookup after identity (`AppointmentDesk.find`, what the journey waits for):
   FHIR chained search vs the vendor-style REST simulator, median and p95.
2. Time to the walk-in decision when the HIS hangs (answers after `--hang` s): the
   kiosk's budget (1.5 s) vs the adapter's own timeout alone (what a lookup without
   a budget would cost the patient).
3. Check-in until the ticket can print: durable-first (local SQLite + outbox row, the
   HIS later) vs a direct synchronous HIS check-in (versioned PUT + Encounter create);
   then the outbox delivery time per check-in (what the sync daemon spends).

Usage: python benchmarks/appointments.py [--patients N] [--lookups N] [--hang S]
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import statistics
import sys
import tempfile
import time
from pathlib import Path

import requests

from kiosk.config.loader import demo_config
from kiosk.domain.identity import Identity
from kiosk.domain.insurance import InsuranceResult
from kiosk.journey.ports import AppointmentsUnavailable
from kiosk.services.appointments import AppointmentDesk
from kiosk.services.his.base import HisVisit
from kiosk.services.his.fhir import FhirAdapter
from kiosk.services.his.fhir.server import FhirTestServer
from kiosk.services.his.simulator import HisSimulator, SimulatorAdapter, mapping
from kiosk.services.registration import RegistrationService
from kiosk.services.sync import SyncDaemon, SyncSettings
from kiosk.store import connect

CCCD = "http://fhir.hl7.org.vn/core/sid/cccd"
HANOI = dt.timezone(dt.timedelta(hours=7))


def person(i: int) -> Identity:
    return Identity(f"Bệnh nhân {i}", dt.date(1950, 1, 1), "Nam", "chip", "chip_verified",
                    id_number=f"0010500{i:05d}")


def seed_fhir(server: FhirTestServer, n: int, at: dt.datetime) -> None:
    s = requests.Session()
    for i in range(n):
        pid = s.post(f"{server.url}/Patient", json={
            "resourceType": "Patient",
            "identifier": [{"system": CCCD, "value": person(i).id_number}]}).json()["id"]
        for start, status in ((at, "booked"), (at, "cancelled"), (at - dt.timedelta(days=1),
                                                                  "booked")):
            s.post(f"{server.url}/Appointment", json={
                "resourceType": "Appointment", "status": status,
                "serviceType": [{"text": "Khám Nội tiết"}],
                "specialty": [{"coding": [{"code": "NOITIET"}]}],
                "start": start.isoformat(), "participant": [
                    {"actor": {"reference": f"Patient/{pid}"}, "status": "accepted"},
                    {"actor": {"reference": "Location/1", "display": "Phòng 305"},
                     "status": "accepted"}]})


def ms(values: list[float]) -> str:
    q = statistics.quantiles(values, n=20) if len(values) > 1 else values
    return f"median {statistics.median(values):7.2f} ms  p95 {q[-1]:7.2f} ms  (n={len(values)})"


def desk(config, adapter_factory, budget: float) -> AppointmentDesk:  # type: ignore[no-untyped-def]
    config = dataclasses.replace(config, appointments=dataclasses.replace(
        config.appointments, lookup_budget_s=budget))
    db = connect(config.database_path)
    return AppointmentDesk(config, RegistrationService(db, config), adapter_factory)


def lookups(d: AppointmentDesk, n: int, patients: int) -> list[float]:
    d.find(person(0))  # connection and adapter made once, as in the kiosk
    out = []
    for i in range(n):
        began = time.perf_counter()
        found = d.find(person(i % patients))
        out.append((time.perf_counter() - began) * 1000)
        assert len(found) == 1, found
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--patients", type=int, default=300)
    ap.add_argument("--lookups", type=int, default=200)
    ap.add_argument("--hang", type=float, default=4.0)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-appointments-"))
    config = demo_config(work / "state")
    at = dt.datetime.now(HANOI).replace(hour=12, minute=0, second=0, microsecond=0)

    fhir = FhirTestServer()
    fhir.start()
    sim = HisSimulator(work / "his.sqlite3")
    sim.start()
    try:
        seed_fhir(fhir, args.patients, at)
        for i in range(args.patients):
            sim.add_appointment(f"k{i}", at, so_cccd=person(i).id_number,
                                ten_dich_vu="Khám Nội tiết", khoa="NOITIET", phong="Phòng 305")
        print(f"{args.patients} patients, 3 appointments each in FHIR (1 findable today)")

        print("\n1. lookup after identity (AppointmentDesk.find, budget 1.5 s)")
        fd = desk(config, lambda: FhirAdapter({"url": fhir.url, "timeout_s": 1.5}), 1.5)
        print(f"   FHIR chained search      {ms(lookups(fd, args.lookups, args.patients))}")
        sd = desk(config, lambda: SimulatorAdapter(mapping(sim.url, timeout_s=1.5)), 1.5)
        print(f"   REST (HIS simulator)     {ms(lookups(sd, args.lookups, args.patients))}")
        sd.stop()

        print(f"\n2. time to the walk-in decision, HIS answering after {args.hang:g} s")
        fhir.set_faults(mode="slow", delay_s=args.hang, paths=("/Appointment",))
        for label, budget in (("with the 1.5 s budget", 1.5),
                              ("adapter timeout only (10 s)", 10.0)):
            d = desk(config, lambda: FhirAdapter({"url": fhir.url, "timeout_s": 10.0}),
                     budget)
            began = time.perf_counter()
            try:
                d.find(person(1))
                outcome = "answered"
            except AppointmentsUnavailable:
                outcome = "walk-in"
            print(f"   {label:28s} {time.perf_counter() - began:6.2f} s  ({outcome})")
            d.stop()
        fhir.set_faults()

        print("\n3. check-in until the ticket can print")
        found = [fd.find(person(i))[0] for i in range(min(100, args.patients))]
        insurance = InsuranceResult.not_checked(None, "benchmark", dt.datetime.now(dt.UTC))
        local = []
        for i, a in enumerate(found):
            began = time.perf_counter()
            fd.check_in(person(i), insurance, a)
            local.append((time.perf_counter() - began) * 1000)
        print(f"   durable first (SQLite+outbox) {ms(local)}")
        direct_adapter = FhirAdapter({"url": fhir.url, "timeout_s": 5.0})
        direct = []
        for i in range(args.patients - len(found), args.patients):
            a = fd.find(person(i))[0]
            visit = HisVisit(f"direct-{i}", "HEN", a.service_name, a.department, a.room,
                             "H-999", dt.datetime.now(HANOI), "not_checked", None)
            began = time.perf_counter()
            direct_adapter.check_in(a, visit)
            direct.append((time.perf_counter() - began) * 1000)
        print(f"   direct to the HIS (FHIR)      {ms(direct)}")
        db = fd.registrations.db
        daemon = SyncDaemon(db, fd.config, direct_adapter, settings=SyncSettings(),
                            recheck=False, purge=False)
        began = time.perf_counter()
        report = daemon.drain()
        took = (time.perf_counter() - began) * 1000
        print(f"   outbox delivery afterwards    {took / max(1, report.sent):7.2f} ms per "
              f"check-in ({report.sent} sent, arrived + Encounter each)")
        fd.stop()
    finally:
        fhir.stop()
        sim.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
