import os
from pathlib import Path

import pytest

from kiosk.config import ConfigError, demo_config, load
from kiosk.config.loader import demo_config_text

GOOD_SECRETS = """
[bhxh]
password = "s3cret"
[ui]
staff_pin = "135791"
"""


def write_config(tmp_path: Path, text: str, secrets: str | None = GOOD_SECRETS,
                 mode: int = 0o600) -> Path:
    config = tmp_path / "kiosk.toml"
    config.write_text(text, encoding="utf-8")
    if secrets is not None:
        secret_path = tmp_path / "secrets.toml"
        secret_path.write_text(secrets, encoding="utf-8")
        os.chmod(secret_path, mode)
    return config


def production_text(**overrides: str) -> str:
    text = demo_config_text()
    text = text.replace('state_dir = "demo-output/state"',
                        'state_dir = "state"\nsecrets_file = "secrets.toml"')
    text = text.replace('url = "simulator"', 'url = "https://egw.baohiemxahoi.gov.vn"')
    for old, new in overrides.items():
        assert old in text, old
        text = text.replace(old, new)
    return text


def test_demo_configuration_is_valid_and_builtin():
    config = demo_config()
    assert config.demo
    assert config.facility.timezone == "Asia/Ho_Chi_Minh"
    assert config.bhxh.url == "simulator"
    assert len(config.services) >= 4


def test_production_file_with_secrets(tmp_path):
    config = load(write_config(tmp_path, production_text()))
    assert config.bhxh.password == "s3cret"
    assert config.ui.staff_pin == "135791"
    assert config.state_dir == tmp_path / "state"
    assert config.database_path.parent == tmp_path / "state"
    assert not config.demo


def test_secrets_file_readable_by_owner_and_group_only(tmp_path):
    for mode in (0o644, 0o604, 0o660, 0o650):
        path = write_config(tmp_path, production_text(), mode=mode)
        with pytest.raises(ConfigError) as err:
            load(path)
        assert "must be 0640 root:kiosk" in err.value.problems[0]
        assert "kiosk.secrets_file" in err.value.problems[0]
    for mode in (0o640, 0o600):  # root:kiosk 0640 is what provisioning writes
        assert load(write_config(tmp_path, production_text(), mode=mode)).bhxh.password


def test_secrets_file_of_another_user_is_refused(tmp_path):
    path = write_config(tmp_path, production_text())
    os.chown(tmp_path / "secrets.toml", 4321, 4321)  # the tests run as root
    with pytest.raises(ConfigError, match="must belong to root"):
        load(path)


def test_secrets_file_holds_only_known_secrets(tmp_path):
    extra = GOOD_SECRETS + '[fleet]\ntoken = "t"\npublic_keys = ["' + "ab" * 32 + '"]\n'
    extra += '[his.settings]\nurl = "https://evil.example"\npassword = "p"\n'
    with pytest.raises(ConfigError) as err:
        load(write_config(tmp_path, production_text(), secrets=extra))
    assert [p.split(" is")[0] for p in err.value.problems] == [
        "kiosk.secrets_file: fleet.public_keys", "kiosk.secrets_file: his.settings.url"]


def test_secrets_in_the_main_file_are_refused(tmp_path):
    text = production_text(**{'tenant = "DEFAULT"': 'tenant = "DEFAULT"\ntoken = "abc"'})
    with pytest.raises(ConfigError) as err:
        load(write_config(tmp_path, text))
    assert err.value.problems == [
        f"fleet.token: a secret in {tmp_path / 'kiosk.toml'}: put it in the secrets file "
        "named by kiosk.secrets_file (0640 root:kiosk), never in the main file"]


def test_missing_secrets_file_is_named(tmp_path):
    path = write_config(tmp_path, production_text(), secrets=None)
    with pytest.raises(ConfigError, match="secrets.toml not found"):
        load(path)


def test_every_problem_names_its_key(tmp_path):
    text = production_text(**{
        'code = "01824"': 'code = "1824"',
        'operator_cccd = "001185000123"': 'operator_cccd = "12ab"',
        'timezone = "Asia/Ho_Chi_Minh"': 'timezone = "Mars/Olympus"',
        'adapter = "simulator"': 'adapter = "oracle"',
        'paper_mm = 80': 'paper_mm = 70',
        'idle_timeout_s = 45': 'idle_timeout_s = "soon"',
        'username = "01824_BV"\n': '',
    })
    with pytest.raises(ConfigError) as err:
        load(write_config(tmp_path, text))
    problems = err.value.problems
    assert "facility.code: must be 5 characters (the BHXH MA_CSKCB, e.g. 01824)" in problems
    assert "bhxh.username: required" in problems
    assert any(p.startswith("bhxh.operator_cccd:") for p in problems)
    assert any(p.startswith("facility.timezone:") for p in problems)
    assert any(p.startswith("his.adapter: must be one of") for p in problems)
    assert any(p.startswith("printer.paper_mm:") for p in problems)
    assert "ui.idle_timeout_s: must be an integer" in problems


def test_plain_http_only_for_loopback(tmp_path):
    bad = production_text(**{'url = "https://egw.baohiemxahoi.gov.vn"': 'url = "http://egw.example"'})
    with pytest.raises(ConfigError, match="bhxh.url: plain http"):
        load(write_config(tmp_path, bad))
    ok = production_text(**{'url = "https://egw.baohiemxahoi.gov.vn"': 'url = "http://127.0.0.1:8080"'})
    assert load(write_config(tmp_path, ok)).bhxh.url == "http://127.0.0.1:8080"


def test_invalid_toml_and_unknown_sections(tmp_path):
    path = write_config(tmp_path, "kiosk = [", secrets=None)
    with pytest.raises(ConfigError, match="not valid TOML"):
        load(path)
    with pytest.raises(ConfigError, match="printerz: unknown section"):
        load(write_config(tmp_path, production_text() + "\n[printerz]\nx = 1\n"))


def test_environment_variable_selects_the_file(tmp_path, monkeypatch):
    path = write_config(tmp_path, production_text())
    monkeypatch.setenv("KIOSK_CONFIG", str(path))
    assert load().source == str(path)


def test_duplicate_service_codes_and_bad_hours(tmp_path):
    text = production_text(**{'code = "KB-NGOAI"': 'code = "KB-NOI"'})
    text = text.replace('prefix = "C"', 'prefix = "C"\nhours = "7h-17h"')
    with pytest.raises(ConfigError) as err:
        load(write_config(tmp_path, text))
    assert any("duplicate service code" in p for p in err.value.problems)
    assert any(p.startswith("services[2].hours:") for p in err.value.problems)


def test_bhxh_checkin_is_off_by_default_and_province_is_checked(tmp_path):
    assert load(write_config(tmp_path, production_text())).bhxh.checkin is False
    on = production_text(**{'username = "01824_BV"\n':
                            'username = "01824_BV"\ncheckin = true\nprovince_code = "01"\n'})
    config = load(write_config(tmp_path, on))
    assert (config.bhxh.checkin, config.bhxh.province_code) == (True, "01")
    bad = production_text(**{'username = "01824_BV"\n':
                             'username = "01824_BV"\nprovince_code = "Hà Nội"\n'})
    with pytest.raises(ConfigError) as err:
        load(write_config(tmp_path, bad))
    assert "bhxh.province_code: must be the 2-digit province code (maTinh)" in err.value.problems


def test_file_printer_only_with_simulated_servers(tmp_path):
    real = production_text(**{'adapter = "simulator"': 'adapter = "fhir"\n[his.settings]\n'
                                                        'url = "https://his.benhvien.vn/fhir"'})
    with pytest.raises(ConfigError) as err:
        load(write_config(tmp_path, real))
    assert [p for p in err.value.problems if p.startswith("printer.")] == [
        "printer.kind: file keeps patients' tickets as images on disk: only for the demo and "
        "tests (simulated BHXH or HIS); use usb, serial, network or none"]
    usb = real.replace('kind = "file"\ntarget = "demo-output/tickets"',
                       'kind = "usb"\ntarget = "04b8:0e15"')
    assert load(write_config(tmp_path, usb)).printer.kind == "usb"
    unset = real.replace('kind = "file"\ntarget = "demo-output/tickets"\n', "")
    assert load(write_config(tmp_path, unset)).printer.kind == "none"  # the default
