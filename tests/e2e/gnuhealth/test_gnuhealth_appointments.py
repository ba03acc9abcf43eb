"""Follow-up appointments against a real GNU Health 5 server: `kiosk appointment find`
and `checkin` (the touchscreen's path) find the patient's confirmed appointment of
today by their PUID, and the sync daemon moves it to `checked_in`, once."""

import datetime as dt
import json

from kiosk.services.his.gnuhealth import GnuHealthAdapter
from kiosk.services.his.gnuhealth.rpc import datetime_utc
from tests.cli_helpers import run_kiosk
from tests.e2e.gnuhealth.test_gnuhealth_adapter import PATIENT
from tests.e2e.his_helpers import write_config

SERVICE = '''
[[services]]
code = "KB-NOITIET"
name = "Khám Nội tiết"
name_en = "Endocrinology"
room = "Phòng 305, tầng 3"
department = "ENDOCRINO"
prefix = "E"
'''


def test_cli_finds_and_checks_in_a_gnu_health_appointment(gnuhealth, gnuhealth_settings,
                                                         tmp_path):
    adapter = GnuHealthAdapter(gnuhealth_settings)
    patient_ref = int(adapter.find_or_create_patient(PATIENT))
    rpc = gnuhealth.rpc()
    [specialty] = rpc("model.gnuhealth.specialty.search", [["code", "=", "ENDOCRINO"]],
                      0, 1, None)
    [doctor] = rpc("model.gnuhealth.healthprofessional.search", [], 0, 1, None)
    now = dt.datetime.now(dt.UTC)

    def book(when, state="confirmed"):
        return rpc.create("gnuhealth.appointment", {
            "patient": patient_ref, "appointment_date": datetime_utc(when), "state": state,
            "speciality": specialty, "healthprof": doctor, "urgency": "a",
            "appointment_type": "outpatient", "visit_type": "followup"})

    mine = book(now)
    book(now - dt.timedelta(days=3))  # an old one
    config = write_config(tmp_path, "gnuhealth", gnuhealth_settings, extra=SERVICE)
    who = json.dumps({"full_name": PATIENT.full_name, "id_number": PATIENT.id_number,
                      "date_of_birth": "1985-03-14", "sex": "Nữ"}, ensure_ascii=False)
    found = run_kiosk("--config", str(config), "appointment", "find", "--json", input=who)
    assert found.returncode == 0, found.stderr
    [a] = json.loads(found.stdout)["appointments"]
    assert a["ref"] == str(mine) and a["department"] == "ENDOCRINO"
    assert a["room"] == "Phòng 305, tầng 3"  # GNU Health has no rooms: the configured one
    assert a["doctor"] == "Bác sĩ, Kiosk"
    checked = run_kiosk("--config", str(config), "appointment", "checkin", a["ref"], "--json",
                        input=who)
    assert checked.returncode == 0, checked.stderr
    ticket = json.loads(checked.stdout)
    assert ticket["queue_number"] == "H-001" and ticket["room"] == "Phòng 305, tầng 3"
    sync = run_kiosk("--config", str(config), "sync", "--once", "--json", timeout=60)
    assert sync.returncode == 0, sync.stderr
    [row] = rpc("model.gnuhealth.appointment.read", [mine], ["state", "comments"])
    assert row["state"] == "checked_in"
    assert row["comments"].count(f"kiosk-checkin:{ticket['registration_id']}") == 1
    assert "H-001" in row["comments"]
    assert rpc("model.gnuhealth.appointment.search_count", [["state", "=", "checked_in"]]) == 1
