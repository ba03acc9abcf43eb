"""kill -9 the registering process and the sync daemon at random moments against a
real GNU Health server: nothing lost, nothing duplicated in the HIS, queue numbers
unique and gap-free.

Rounds: $KIOSK_GNUHEALTH_CRASH_ITERATIONS (default 40, each about 1–2 s on 2 cores) and
at most $KIOSK_GNUHEALTH_CRASH_SECONDS of them (default 90): no new round starts after
that, so a loaded machine runs fewer rounds instead of hitting the 300 s timeout (200
rounds took 365 s on a fresh 2-core machine). Soak runs raise both."""

import os
import random
import re
import time
from collections import Counter

import pytest

from kiosk.config.loader import load_file
from kiosk.services import outbox
from kiosk.services.his.gnuhealth import GnuHealthAdapter
from kiosk.services.his.gnuhealth.adapter import MARK
from kiosk.services.registration import RegistrationService
from kiosk.store import connect
from tests.e2e.his_helpers import write_config
from tests.e2e.test_crash_safety import _seqs, drain_until_empty, kill9, spawn_sync_and_register
from tests.unit.registration.helpers import insured, patient

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
ITERATIONS = int(os.environ.get("KIOSK_GNUHEALTH_CRASH_ITERATIONS", "40"))
BUDGET_S = float(os.environ.get("KIOSK_GNUHEALTH_CRASH_SECONDS", "90"))
MIN_ROUNDS = 5  # below this the test would prove little: a budget this tight is an error


def test_kill_minus_nine_against_gnuhealth(tmp_path, gnuhealth, gnuhealth_settings):
    rng = random.Random(int(os.environ.get("KIOSK_CRASH_SEED", "20261124")))
    config_path = write_config(tmp_path, "gnuhealth", {**gnuhealth_settings, "timeout_s": 5.0},
                               sync={"base_delay_s": 0.05, "unavailable_max_delay_s": 0.3,
                                     "idle_poll_s": 0.05})
    config = load_file(config_path)
    db = connect(config.database_path)
    local = RegistrationService(db, config)
    n = 0
    started = time.monotonic()
    for i in range(ITERATIONS):
        if i >= MIN_ROUNDS and time.monotonic() - started > BUDGET_S:
            break
        sync, reg = spawn_sync_and_register(config_path, tmp_path, i, rng)
        for _ in range(2):  # returning patients too
            n += 1
            local.register(patient(n if n % 3 else n // 3 + 1), insured(),
                           rng.choice(["KB-NOI", "KB-NGOAI"]), f"local-{n}")
        time.sleep(rng.uniform(0.3, 1.5))
        for proc in rng.sample([sync, reg], 2):
            kill9(proc)
            time.sleep(rng.uniform(0, 0.05))

    adapter = GnuHealthAdapter(gnuhealth_settings)
    drain_until_empty(db, config, adapter, rounds=200)
    adapter.close()

    ids = {r[0] for r in db.execute("SELECT id FROM registrations")}
    assert outbox.counts(db) == {"pending": 0, "done": len(ids), "dead": 0}
    rpc = gnuhealth.rpc()
    rows = rpc("model.gnuhealth.appointment.search_read", [], 0, None, None, ["comments"])
    sent = Counter(m.group(1) for r in rows
                   if (m := re.search(re.escape(MARK) + r"(\S+)", r["comments"] or "")))
    assert set(sent) == ids, "lost or foreign registrations in GNU Health"
    assert set(sent.values()) == {1}, "a registration reached GNU Health twice"
    puids = Counter(p["puid"] for p in rpc("model.gnuhealth.patient.search_read", [], 0, None,
                                           None, ["puid"]))
    assert set(puids.values()) == {1}, "a patient was created twice"
    for dept, seqs in _seqs(db).items():
        assert seqs == list(range(1, len(seqs) + 1)), f"gap or repeat in {dept}"
