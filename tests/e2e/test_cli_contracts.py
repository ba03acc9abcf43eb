"""The foundation's CLI contracts, run as real subprocesses."""

import json

from tests.cli_helpers import run_json, run_kiosk

CCCD = "001185012345|012345678|Nguyễn Thị Hồng Nhung|14031985|Nữ|Hà Nội|02072021|"


def test_qr_parse_cccd_contract():
    data = run_json("qr", "parse", "--json", input=CCCD)
    assert data == {
        "kind": "cccd", "id_number": "001185012345", "old_id_number": "012345678",
        "full_name": "Nguyễn Thị Hồng Nhung", "date_of_birth": "1985-03-14", "sex": "Nữ",
        "residence": "Hà Nội", "issue_date": "2021-07-02", "extra_fields": [""],
    }


def test_qr_parse_bhyt_contract():
    payload = ("DN401AA31900313|4cc3aa205669e1bb87742048c6b06e67|04/09/1985|1|"
               + "Hà Nội".encode().hex()
               + "|01 - 043|01/07/2017|-|21/07/2017|01059710639215|-|4|01/07/2022|1f2f-7102|$")
    data = run_json("qr", "parse", "--json", input=payload)
    for key in ("card_number", "full_name", "date_of_birth", "sex", "address",
                "registered_facility", "valid_from", "valid_to", "five_year_date"):
        assert key in data
    assert data["kind"] == "bhyt" and data["valid_to"] is None and data["full_name"] == "Lê Việt Hưng"


def test_qr_parse_unknown_has_messages():
    data = run_json("qr", "parse", "--json", input="https://example.com/pay")
    assert data["kind"] == "unknown" and data["message_vi"] and data["message_en"]


def test_qr_parse_malformed_exits_2_with_one_line():
    proc = run_kiosk("qr", "parse", "--json", input=CCCD.replace("14031985", "30021985"))
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert len(proc.stderr.strip().splitlines()) == 1 and "date" in proc.stderr


def test_bhyt_parse_contract():
    data = run_json("bhyt", "parse", "--json", input="HS4010120878811")
    assert data == {"format": "bhyt15", "beneficiary_code": "HS", "benefit_level": 4,
                    "benefit_percent": 80, "province_code": "01", "bhxh_number": "0120878811"}
    assert run_json("bhyt", "parse", "--json", input="0120878811")["format"] == "bhxh10"
    assert run_json("bhyt", "parse", "--json", input="001185012345")["format"] == "cccd12"
    bad = run_kiosk("bhyt", "parse", "--json", input="XX0")
    assert bad.returncode == 2 and bad.stdout == ""


def test_config_check(tmp_path):
    ok = run_kiosk("config", "check", env={"KIOSK_CONFIG": ""})
    assert ok.returncode == 0 and ok.stdout.splitlines()[0] == "OK"
    assert "built-in demo" in ok.stdout  # says what it checked
    broken = tmp_path / "kiosk.toml"
    demo = run_kiosk("config", "demo").stdout
    broken.write_text(demo.replace('code = "01824"', 'code = "18"'), encoding="utf-8")
    bad = run_kiosk("config", "check", "--config", str(broken))
    assert bad.returncode == 6  # misconfigured, as in every other command (decision 0085)
    assert "facility.code: must be 5 characters" in bad.stderr
    before = run_kiosk("--config", str(broken), "config", "check")
    assert before.returncode == 6


def test_demo_headless_leaves_records(tmp_path):
    proc = run_kiosk("demo", "--headless", "--out", str(tmp_path / "out"), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "Bệnh nhân 1" in proc.stdout and "Xong: 6 lượt đăng ký" in proc.stdout
    records = sorted((tmp_path / "out" / "registrations").glob("*.json"))
    assert len(records) == 6
    data = [json.loads(p.read_text("utf-8")) for p in records]
    # The follow-up patient checked in for today's appointment: its own number and room.
    [follow_up] = [d for d in data if "appointment" in d]
    assert follow_up["queue_number"] == "H-001" and follow_up["room"] == "Phòng 305, tầng 3"
    assert "lúc" in proc.stdout and "Vào khám theo lịch hẹn" in proc.stdout
    outcomes = {d["insurance"]["outcome"] for d in data}
    assert {"usable", "unavailable", "not_usable"} <= outcomes
    assert any(not d["printed"] for d in data)  # the out-of-paper patient
    assert all("****" in d["patient"]["id_number"] for d in data)  # masked
    assert (tmp_path / "out" / "state" / "kiosk.sqlite3").exists()
    # Run again the same day: a fresh morning, not "already registered" for everyone.
    again = run_kiosk("demo", "--headless", "--out", str(tmp_path / "out"), cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "Xong: 6 lượt đăng ký" in again.stdout


def test_demo_never_removes_a_state_folder_it_did_not_make(tmp_path):
    mine = tmp_path / "out" / "state" / "kiosk.sqlite3"
    mine.parent.mkdir(parents=True)
    mine.write_bytes(b"not the demo's")
    proc = run_kiosk("demo", "--headless", "--out", str(tmp_path / "out"), cwd=tmp_path)
    assert proc.returncode == 2 and "was not made by `kiosk demo`" in proc.stderr
    assert mine.read_bytes() == b"not the demo's"
