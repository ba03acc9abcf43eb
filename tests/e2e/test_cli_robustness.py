"""Issue 17's contracts, run as real subprocesses: broken pipes, non-ASCII digits,
surrogates, strict configuration, doctor's JSON and the one error-object shape."""

import json
import subprocess
import sys

import pytest

from tests.cli_helpers import KIOSK, run_kiosk
from tests.config_helpers import write_kiosk_config

DEMO_ENV = {"KIOSK_CONFIG": ""}


def demo_text():
    return run_kiosk("config", "demo").stdout


def piped_into_head(args, tmp_path):
    """`kiosk ARGS | head -c1` through a real shell pipe."""
    (tmp_path / "card.txt").write_text("HS4010120878811\n")
    (tmp_path / "qr.txt").write_text("001185012345|012345678|Nguyễn Thị Hồng Nhung|14031985|"
                                     "Nữ|Hà Nội|02072021|")
    command = " ".join(f"'{a}'" for a in [KIOSK, *args]) + " | head -c1"
    proc = subprocess.run(["bash", "-o", "pipefail", "-c", command], capture_output=True,
                          text=True, cwd=tmp_path, timeout=120, check=False,
                          env={"KIOSK_CONFIG": "", "KIOSK_STATE_DIR": str(tmp_path / "state"),
                               "PATH": "/usr/bin:/bin"})
    return proc


@pytest.mark.parametrize("args", [
    ["services", "list", "--json"],
    ["doctor", "--demo", "--json", "--only", "disk"],
    ["bhyt", "parse", "card.txt", "--json"],
    ["qr", "parse", "qr.txt", "--json"],
    ["config", "check", "--json"],
    ["config", "demo"],
    ["outbox", "list", "--json"],
    ["--help"],
])
def test_json_into_head_has_no_traceback(args, tmp_path):
    proc = piped_into_head(args, tmp_path)
    assert "Traceback" not in proc.stderr and "Exception ignored" not in proc.stderr, proc.stderr
    assert len(proc.stdout) == 1
    assert proc.returncode in (0, 141)  # 141: our reader went away (README exit codes)


def test_large_output_into_closed_pipe_exits_141(tmp_path):
    """Output larger than the pipe buffer surely meets the closed pipe: exit 141, quietly."""
    reader = subprocess.Popen([KIOSK, "config", "demo"], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE)
    assert reader.stdout is not None
    reader.stdout.close()  # nobody reads: the first write fails with EPIPE
    _, err = reader.communicate(timeout=60)
    assert b"Traceback" not in err and b"Exception ignored" not in err, err
    assert reader.returncode in (0, 141)


@pytest.mark.parametrize("payload", [
    "00116²000001|012345678|Nguyễn Văn A|14031985|Nam|Hà Nội|02072021|",
    "٠٠١١٨٥٠١٢٣٤٥|012345678|Nguyễn Văn A|14031985|Nữ|Hà Nội|02072021|",
    "001185012345|012345678|Nguyễn Văn A|1403198٥|Nữ|Hà Nội|02072021|",
])
def test_qr_parse_non_ascii_digits_exit_2(payload):
    proc = run_kiosk("qr", "parse", "--json", input=payload)
    assert proc.returncode == 2 and proc.stdout == ""
    error = json.loads(proc.stderr)["error"]
    assert error["kind"] == "bad_input" and error["exit_code"] == 2


@pytest.mark.parametrize("card", ["01234567²9", "012345678٩", "HS4０10120878811",
                                  "００1185012345"])
def test_bhyt_parse_non_ascii_digits_exit_2(card):
    proc = run_kiosk("bhyt", "parse", "--json", input=card)
    assert proc.returncode == 2 and proc.stdout == "" and "Traceback" not in proc.stderr


def test_register_lone_surrogate_exits_2_and_stores_nothing(tmp_path):
    patient = tmp_path / "p.json"
    patient.write_text('{"full_name": "Tr\\ud800n V\\u0103n B", "sex": "Nam", '
                       '"date_of_birth": "1990-05-01"}', encoding="utf-8")
    env = {**DEMO_ENV, "KIOSK_STATE_DIR": str(tmp_path / "state")}
    proc = run_kiosk("register", "--patient", str(patient), "--service", "KB-NOI", "--json",
                     env=env, cwd=tmp_path)
    assert proc.returncode == 2 and proc.stdout == "" and "Traceback" not in proc.stderr
    assert "full_name" in proc.stderr
    listing = run_kiosk("outbox", "list", "--json", env=env, cwd=tmp_path)
    assert listing.returncode == 0 and json.loads(listing.stdout) == []


def test_undecodable_argument_exits_2(tmp_path):
    """Non-UTF-8 bytes on the command line arrive as surrogates: refused up front."""
    proc = subprocess.run([KIOSK.encode(), b"bhyt", b"parse", b"01234\xff6789", b"--json"],
                          capture_output=True, timeout=60, check=False)
    assert proc.returncode == 2 and b"Traceback" not in proc.stderr
    assert b"argument 3" in proc.stderr


def test_config_typos_are_named_with_a_suggestion(tmp_path):
    text = demo_text()
    config = tmp_path / "kiosk.toml"
    config.write_text(text.replace("budget_s = 6.0", "budegt_s = 6.0")
                      .replace("idle_timeout_s = 45", "idle_timeout_s = 45\nopening_hour = "
                               '"07:00-16:30"')
                      .replace('[his]\nadapter = "simulator"\n',
                               '[his]\nadapter = "simulator"\n[his.setting]\nurl = "x"\n'),
                      encoding="utf-8")
    proc = run_kiosk("config", "check", "--config", str(config))
    assert proc.returncode == 6 and proc.stdout == ""
    assert "bhxh.budegt_s: unknown key; did you mean 'budget_s'?" in proc.stderr
    assert "ui.opening_hour: unknown key; did you mean 'opening_hours'?" in proc.stderr
    assert "his.setting: unknown key; did you mean 'settings'?" in proc.stderr
    assert "khóa không hợp lệ" in proc.stderr  # Vietnamese too
    as_json = run_kiosk("config", "check", "--json", "--config", str(config))
    error = json.loads(as_json.stderr)["error"]
    assert error["kind"] == "misconfigured" and error["exit_code"] == 6
    assert {"key": "bhxh.budegt_s", "message_en": "unknown key; did you mean 'budget_s'?",
            "message_vi": "khóa không hợp lệ; có phải là 'budget_s'?"} in error["problems"]


@pytest.mark.parametrize("edit, key", [
    (('icon = "internal"', 'icon = "internal"\nhours = "07:00-24:59"'), "services[0].hours"),
    (('icon = "surgery"', 'icon = "surgery"\nhours = "24:00-25:00"'), "services[1].hours"),
    (("fullscreen = false", 'fullscreen = false\nopening_hours = "7:00-16:00"'),
     "ui.opening_hours"),
    (('adapter = "simulator"', 'adapter = "fhir"'), "his.settings.url"),
    (('adapter = "simulator"', 'adapter = "simulator"\n[his.settings]\nurl = "ftp://x"'),
     "his.settings.url"),
    (('adapter = "simulator"', 'adapter = "simulator"\n[his.settings]\nuse_his_catalogue = true'),
     "his.settings.use_his_catalogue"),
    (('adapter = "simulator"', 'adapter = "simulator"\n[his.settings.create_visit]\n'
      'path = "/v"\nbody = { x = "{queue_numbr}" }'), "his.settings.create_visit.body"),
    (('tenant = "DEFAULT"', 'tenant = "DEFAULT"\nhawkbit_url = "http://fleet.example"'),
     "fleet.hawkbit_url"),
    (('kind = "file"', 'kind = "network"'), "printer.target"),
    (("[fleet]", "[fleet]\npublic_keys = 5"), "fleet.public_keys"),
    (("[kiosk]", "[kiosk]\nsecrets_file = 7"), "kiosk.secrets_file"),
])
def test_config_values_checked_at_load(tmp_path, edit, key):
    text = demo_text()
    old, new = edit
    assert old in text
    config = tmp_path / "kiosk.toml"
    config.write_text(text.replace(old, new, 1), encoding="utf-8")
    proc = run_kiosk("config", "check", "--config", str(config))
    assert proc.returncode == 6 and f"{key}:" in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr
    # and the commands that crashed on them before now refuse them the same way
    listing = run_kiosk("--config", str(config), "services", "list", "--json")
    assert listing.returncode == 6 and "Traceback" not in listing.stderr


def test_use_his_catalogue_is_read_where_documented(tmp_path):
    text = demo_text().replace('adapter = "simulator"',
                               'adapter = "simulator"\nuse_his_catalogue = true')
    config = tmp_path / "kiosk.toml"
    config.write_text(text, encoding="utf-8")
    code = ("from kiosk.config import load_file; import sys; "
            "print(load_file(__import__('pathlib').Path(sys.argv[1])).his.use_his_catalogue)")
    proc = subprocess.run([sys.executable, "-c", code, str(config)], capture_output=True,
                          text=True, timeout=60, check=False)
    assert proc.stdout.strip() == "True", proc.stderr


@pytest.mark.parametrize("content", ["[bhxh\n", "not toml at all = = =", "\xff", ""])
def test_doctor_json_with_broken_config_prints_json(tmp_path, content):
    config = tmp_path / "broken.toml"
    config.write_bytes(content.encode("utf-8", "surrogateescape") if content != "\xff"
                       else b"\xff\xfe\x00")
    proc = run_kiosk("doctor", "--json", "--config", str(config))
    data = json.loads(proc.stdout)
    assert proc.returncode == 6 and data["ok"] is False
    assert data["checks"][0]["name"] == "config" and data["checks"][0]["status"] == "fail"
    assert data["config"] == str(config) and data["demo"] is False
    assert {"kiosk_id", "version", "checked_at"} <= set(data)


def test_doctor_json_missing_config_prints_json(tmp_path):
    proc = run_kiosk("doctor", "--json", "--config", str(tmp_path / "nope.toml"))
    assert proc.returncode == 6 and json.loads(proc.stdout)["ok"] is False


def test_doctor_unknown_check_exits_2():
    proc = run_kiosk("doctor", "--only", "hsi")
    assert proc.returncode == 2 and "'his'" in proc.stderr and "Traceback" not in proc.stderr
    as_json = run_kiosk("doctor", "--only", "hsi", "--json")
    assert as_json.returncode == 2 and as_json.stdout == ""
    assert json.loads(as_json.stderr)["error"]["kind"] == "bad_input"


def test_doctor_text_says_demo(tmp_path):
    proc = run_kiosk("doctor", "--demo", "--only", "disk", env={**DEMO_ENV,
                                                       "KIOSK_STATE_DIR": str(tmp_path)})
    assert proc.returncode == 0 and "DEMO" in proc.stdout.splitlines()[0]


def test_doctor_network_failure_names_host_and_reason(tmp_path):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    text = demo_text().replace('url = "simulator"', f'url = "http://127.0.0.1:{port}"\n'
                               'password = "simulator-password"')
    text = text.replace('adapter = "simulator"',
                        f'adapter = "fhir"\n[his.settings]\nurl = "http://127.0.0.1:{port}/fhir"')
    config = write_kiosk_config(tmp_path / "kiosk.toml", text.replace(
        'state_dir = "demo-output/state"', f'state_dir = "{tmp_path / "state"}"'))
    proc = run_kiosk("doctor", "--json", "--only", "bhxh", "--only", "his", "--config",
                     str(config))
    checks = {c["name"]: c for c in json.loads(proc.stdout)["checks"]}
    assert proc.returncode == 1
    for name in ("bhxh", "his"):
        assert f"127.0.0.1:{port}" in checks[name]["detail"], checks[name]
        assert "connection refused" in checks[name]["detail"], checks[name]


HOSTILE_HIS = [
    b'{"data": {"id": [1, 2]}, "access_token": ["x"]}',
    b'{"data": [{"id": {"a": 1}}], "access_token": 5}',
    b'{"data": "text"}',
    b'[' * 60_000 + b']' * 60_000,
    b'{"data": [{"id": ' + b"9" * 5000 + b'}]}',
    b"<html>gateway</html>",
    '{"access_token": "Bearer ✓ 😀", "data": []}'.encode(),
]


@pytest.mark.parametrize("body", HOSTILE_HIS, ids=range(len(HOSTILE_HIS)))
def test_sync_against_a_hostile_his_prints_no_traceback_and_keeps_the_registration(
        tmp_path, body):
    """A real server on 127.0.0.1 answering every call of the generic REST adapter with
    nonsense (auth, search, create): the registration stays in the outbox and nothing prints a traceback."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from tests.e2e.his_helpers import write_config

    class Handler(BaseHTTPRequestHandler):
        def _answer(self):
            length = int(self.headers.get("Content-Length") or 0)
            self.rfile.read(length)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_PATCH = _answer

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        # the simulator adapter is the generic REST adapter with the simulator's mapping
        config = write_config(tmp_path, "simulator",
                              {"url": f"http://127.0.0.1:{httpd.server_address[1]}"},
                              sync={"max_attempts": 3})
        assert run_kiosk("config", "check", "--config", str(config)).returncode == 0
        patient = tmp_path / "p.json"
        patient.write_text('{"full_name": "Trần Văn Bình", "id_number": "079099000001", '
                           '"date_of_birth": "1990-05-01", "sex": "Nam"}', encoding="utf-8")
        reg = run_kiosk("--config", str(config), "register", "--patient", str(patient),
                        "--service", "KB-NOI", "--json")
        assert reg.returncode == 0, reg.stderr
        sync = run_kiosk("--config", str(config), "sync", "--once", "--json")
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert "Traceback" not in sync.stderr, sync.stderr[-3000:]
    assert sync.returncode in (0, 5), sync.stderr
    assert json.loads(sync.stdout)["sent"] == 0
    listing = json.loads(run_kiosk("--config", str(config), "outbox", "list", "--json").stdout)
    assert len(listing) == 1 and listing[0]["state"] in ("pending", "dead")


def test_config_check_json_says_what_it_checked(tmp_path):
    demo = run_kiosk("config", "check", "--json", env=DEMO_ENV, cwd=tmp_path)
    assert demo.returncode == 0
    assert json.loads(demo.stdout) == {"ok": True, "config": "built-in demo", "demo": True,
                                       "kiosk_id": "demo-kiosk-01"}
    config = tmp_path / "kiosk.toml"
    config.write_text(demo_text(), encoding="utf-8")
    real = run_kiosk("config", "check", "--json", "--config", str(config))
    assert json.loads(real.stdout)["config"] == str(config)
    assert json.loads(real.stdout)["demo"] is False
    text = run_kiosk("config", "check", "--config", str(config)).stdout.splitlines()
    assert text[0] == "OK" and str(config) in text[1]


def test_help_lists_the_exit_codes():
    out = run_kiosk("--help").stdout
    assert "6 misconfigured" in out and "141 output" in out
