"""kill -9 the registering process and the sync daemon at random moments, again and
again, against the FHIR test server: afterwards no registration is lost, none is
duplicated in the HIS, and queue numbers are unique and gap-free.

Iterations: $KIOSK_CRASH_ITERATIONS (default 40, about a minute on 2 cores)."""

import json
import os
import random
import signal
import subprocess
import time
from collections import Counter

import pytest

from kiosk.config.loader import load_file
from kiosk.services import outbox
from kiosk.services.his.fhir import FhirAdapter
from kiosk.services.his.fhir.server import FhirTestServer
from kiosk.services.registration import RegistrationService
from kiosk.services.sync import SyncDaemon, SyncSettings
from kiosk.store import connect
from tests.cli_helpers import KIOSK
from tests.e2e.his_helpers import fhir_validate, write_config
from tests.unit.registration.helpers import insured, patient

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
ITERATIONS = int(os.environ.get("KIOSK_CRASH_ITERATIONS", "40"))
REG_SYSTEM = "urn:vn-kiosk:registration-id"
CCCD_SYSTEM = "http://fhir.hl7.org.vn/core/sid/cccd"


def spawn(*args):
    return subprocess.Popen([KIOSK, *args], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)


def spawn_sync_and_register(config_path, tmp_path, i, rng):
    """Round `i`: `kiosk sync` and a `kiosk register` of a new patient, both started."""
    file = tmp_path / f"p{i}.json"
    file.write_text(json.dumps({
        "full_name": "Trần Văn Bình", "id_number": f"0790990{i:05d}",
        "date_of_birth": "1990-05-01", "sex": "Nam"}, ensure_ascii=False))
    sync = spawn("--config", str(config_path), "sync")
    reg = spawn("--config", str(config_path), "register", "--patient", str(file),
                "--service", rng.choice(["KB-NOI", "KB-NGOAI"]),
                "--idempotency-key", f"cli-{i}", "--json")
    return sync, reg


def kill9(proc):
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(10)


def test_kill_minus_nine_loses_and_duplicates_nothing(tmp_path):
    server = FhirTestServer(validator=fhir_validate)
    server.start()
    rng = random.Random(int(os.environ.get("KIOSK_CRASH_SEED", "20261123")))
    config_path = write_config(tmp_path, "fhir", {"url": server.url, "timeout_s": 2.0},
                               sync={"base_delay_s": 0.05, "unavailable_max_delay_s": 0.3,
                                     "idle_poll_s": 0.05})
    config = load_file(config_path)
    db = connect(config.database_path)
    local = RegistrationService(db, config)
    n = 0

    def register_locally(count):
        nonlocal n
        for _ in range(count):
            n += 1
            # returning patients too: some CCCDs come back for a second department
            who = patient(n if n % 4 else n // 4 + 1)
            local.register(who, insured(), rng.choice(["KB-NOI", "KB-NGOAI"]), f"local-{n}")

    register_locally(30)
    try:
        for i in range(ITERATIONS):
            sync, reg = spawn_sync_and_register(config_path, tmp_path, i, rng)
            if i % 2 == 0:  # the HIS writes, but its answer is lost
                server.set_faults(mode="drop", count=1,
                                  paths=("/Encounter",) if i % 4 == 0 else ("/Patient",))
            register_locally(3)
            time.sleep(rng.uniform(0.15, 1.2))
            for proc in rng.sample([sync, reg], 2):
                kill9(proc)
                time.sleep(rng.uniform(0, 0.05))
            server.set_faults()

        # a final daemon (in-process) drains whatever the killed ones left behind
        adapter = FhirAdapter({"url": server.url, "timeout_s": 2.0})
        drain_until_empty(db, config, adapter, rounds=50)
        adapter.close()

        ids = {r[0] for r in db.execute("SELECT id FROM registrations")}
        assert outbox.counts(db) == {"pending": 0, "done": len(ids), "dead": 0}
        sent = Counter(i["value"] for e in server.resources("Encounter")
                       for i in e["identifier"] if i["system"] == REG_SYSTEM)
        assert set(sent) == ids, "lost or foreign registrations at the HIS"
        assert set(sent.values()) == {1}, "a registration reached the HIS twice"
        patients = Counter(i["value"] for p in server.resources("Patient")
                           for i in p["identifier"] if i["system"] == CCCD_SYSTEM)
        assert set(patients.values()) == {1}, "a patient was created twice"
        for dept, seqs in _seqs(db).items():
            assert seqs == list(range(1, len(seqs) + 1)), f"gap or repeat in {dept}"
        cli = db.execute("SELECT count(*) FROM registrations WHERE idempotency_key LIKE 'cli-%'"
                         ).fetchone()[0]
        assert cli > 0  # some registering processes got to commit before the kill
    finally:
        server.stop()


def drain_until_empty(db, config, adapter, rounds: int) -> None:
    """What a restarted sync daemon does with what the killed ones left behind."""
    daemon = SyncDaemon(db, config, adapter, settings=SyncSettings(base_delay_s=0.01),
                        recheck=False, purge=False)
    for _ in range(rounds):
        daemon.tick()
        if outbox.counts(db)["pending"] == 0:
            return
        time.sleep(0.05)


def _seqs(db):
    out: dict[str, list[int]] = {}
    for dept, seq in db.execute("SELECT department, queue_seq FROM registrations "
                                "ORDER BY department, queue_seq"):
        out.setdefault(dept, []).append(seq)
    return out
