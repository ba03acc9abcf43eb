"""A kiosk serving patients: `kiosk config new` writes its file, and the demo's values
are refused one line each by provision, `config check --production` and every load of
a provisioned file (decision 0120); the main file's owner and mode rules (issue 23)."""

import os
import tomllib
from pathlib import Path

import pytest

from kiosk.config import ConfigError, load
from kiosk.config.loader import config_text, demo_config_text, load_provisioning
from kiosk.ops.provision import split_secrets
from tests.cli_helpers import run_kiosk
from tests.config_helpers import filled_new_config


def test_config_new_is_the_demo_free_provisioning_file(tmp_path):
    proc = run_kiosk("config", "new")
    assert proc.returncode == 0 and proc.stdout == config_text("new.toml")
    # As printed it names every value left to fill in, and nothing of the demo's.
    path = tmp_path / "lobby-01.toml"
    path.write_text(proc.stdout)
    check = run_kiosk("config", "check", "--production", "--config", str(path))
    assert check.returncode == 6
    keys = {line.split(":")[0] for line in check.stderr.splitlines()}
    assert keys == {"kiosk.id", "facility.code", "facility.name", "bhxh.username",
                    "bhxh.password", "bhxh.operator_name", "bhxh.operator_cccd",
                    "his.settings.url", "printer.target", "services[0].code",
                    "services[0].name", "services[0].name_en", "services[0].room",
                    "services[0].prefix", "fleet.public_keys"}, check.stderr
    path.write_text(filled_new_config())
    check = run_kiosk("config", "check", "--production", "--config", str(path))
    assert check.returncode == 0, check.stderr
    raw, config = load_provisioning(path)
    assert config.provisioned and raw["kiosk"]["secrets_file"] == "/etc/kiosk/secrets.toml"
    assert config.devices.trust_store == "/etc/kiosk/csca" and config.ui.fullscreen


def test_the_demo_is_refused_one_line_per_demo_value(tmp_path):
    path = tmp_path / "lobby-01.toml"
    path.write_text(demo_config_text())
    with pytest.raises(ConfigError) as err:
        load_provisioning(path)
    assert [p.key for p in err.value.details] == [
        "kiosk.state_dir", "printer.target", "devices.reader", "devices.camera",
        "devices.trust_store", "bhxh.url", "his.adapter", "printer.kind", "ui.fullscreen",
        "fleet.public_keys"]
    assert all(p.vi and p.vi != p.en for p in err.value.details)
    # The command prints the same lines (both languages) and exits 6.
    proc = run_kiosk("config", "check", "--production", "--config", str(path))
    assert proc.returncode == 6 and len(proc.stderr.splitlines()) == 10, proc.stderr
    assert proc.stderr.splitlines()[0].startswith(
        "kiosk.state_dir: 'demo-output/state' is a relative path")


@pytest.mark.parametrize(("old", "new", "key"), [
    ('reader = "auto"', 'reader = "virtual"', "devices.reader"),
    ('camera = "0"', 'camera = "virtual"', "devices.camera"),
    ('trust_store = "/etc/kiosk/csca"', "", "devices.trust_store"),
    ('trust_store = "/etc/kiosk/csca"', 'trust_store = "csca"', "devices.trust_store"),
    ('state_dir = "/var/lib/kiosk"', 'state_dir = "state"', "kiosk.state_dir"),
    ('adapter = "fhir"', 'adapter = "simulator"', "his.adapter"),
    ('url = "https://egw.baohiemxahoi.gov.vn"', 'url = "simulator"', "bhxh.url"),
    # (a file printer's "0416:5011" is a relative folder, too)
    ('kind = "usb"', 'kind = "file"', "printer.kind printer.target"),
    ('language = "vi"', 'language = "vi"\nfullscreen = false', "ui.fullscreen"),
    ('password = "s3cret-gateway"', 'password = "simulator-password"', "bhxh.password"),
])
def test_each_demo_value_is_one_line(tmp_path, old, new, key):
    path = tmp_path / "lobby-01.toml"
    path.write_text(filled_new_config(**{old: new}))
    with pytest.raises(ConfigError) as err:
        load_provisioning(path)
    assert [p.key for p in err.value.details] == key.split(), err.value.problems


def provisioned_file(tmp_path: Path, **extra: str) -> Path:
    """A file as `kiosk provision` writes it (main file and secrets file, 0640)."""
    path = tmp_path / "lobby-01.toml"
    path.write_text(filled_new_config(**extra))
    raw, _ = load_provisioning(path)
    main, secrets = split_secrets(raw)
    main["kiosk"]["secrets_file"] = "secrets.toml"
    from kiosk.ops.provision import _toml

    (tmp_path / "kiosk.toml").write_text(_toml(main))
    (tmp_path / "secrets.toml").write_text(_toml(secrets))
    for name in ("kiosk.toml", "secrets.toml"):
        os.chmod(tmp_path / name, 0o640)
    return tmp_path / "kiosk.toml"


def test_a_provisioned_file_keeps_the_rules_on_every_load(tmp_path):
    path = provisioned_file(tmp_path)
    assert load(path).provisioned
    path.write_text(path.read_text().replace('reader = "auto"', 'reader = "virtual"'))
    with pytest.raises(ConfigError) as err:
        load(path)
    assert err.value.problems == [
        "devices.reader: 'virtual' is the demo's simulated card: use \"auto\" or the card "
        "reader's name"]
    proc = run_kiosk("--config", str(path), "doctor", "--json", "--only", "disk")
    assert proc.returncode == 6 and "devices.reader" in proc.stdout


def test_a_secret_in_a_provisioned_main_file_is_refused(tmp_path):
    path = provisioned_file(tmp_path)
    path.write_text(path.read_text().replace("[bhxh]", '[bhxh]\npassword = "inline"'))
    os.chmod(path, 0o640)
    with pytest.raises(ConfigError) as err:
        load(path)
    assert err.value.problems[0].startswith(f"bhxh.password: a secret in {path}")


def test_relative_paths_have_one_base_the_files_folder(tmp_path, monkeypatch):
    monkeypatch.chdir("/")
    monkeypatch.delenv("KIOSK_STATE_DIR", raising=False)
    text = demo_config_text().replace('reader = "virtual"',
                                      'reader = "virtual"\ntrust_store = "csca"')
    text = text.replace('timezone = "Asia/Ho_Chi_Minh"',
                        'timezone = "Asia/Ho_Chi_Minh"\nlogo = "logo.png"')
    text += '\n[lobby]\nurl = "postgresql://k@127.0.0.1/lobby"\nsslrootcert = "ca.pem"\n'
    path = tmp_path / "kiosk.toml"
    path.write_text(text)
    config = load(path)
    assert config.state_dir == tmp_path / "demo-output/state"
    assert config.printer.target == str(tmp_path / "demo-output/tickets")
    assert config.devices.trust_store == str(tmp_path / "csca")
    assert config.facility.logo == str(tmp_path / "logo.png")
    assert config.lobby is not None and config.lobby.sslrootcert == str(tmp_path / "ca.pem")


@pytest.mark.parametrize("mode", [0o664, 0o646, 0o666])
def test_a_main_file_others_can_write_is_refused(tmp_path, mode):
    path = tmp_path / "kiosk.toml"
    path.write_text(demo_config_text())
    os.chmod(path, mode)
    with pytest.raises(ConfigError) as err:
        load(path)
    assert err.value.problems == [
        f"config: {path} has mode {mode:04o}; root-run commands (the updater) trust it: it "
        f"must be 0640 root:kiosk (chown root:kiosk {path}; chmod 0640 {path})"]


def test_a_main_file_owned_by_another_user_is_refused(tmp_path):
    path = tmp_path / "kiosk.toml"
    path.write_text(demo_config_text())
    os.chown(path, 65534, 65534)
    with pytest.raises(ConfigError) as err:
        load(path)
    assert err.value.problems[0].startswith(f"config: {path} belongs to uid 65534")


def test_the_demo_files_hold_no_secret():
    for name in ("demo.toml", "new.toml"):
        raw = tomllib.loads(config_text(name))
        _, secrets = split_secrets(raw)
        assert all(v == "" for table in secrets.values() for v in table.values()), name


def test_a_lobby_needs_its_holding_key_which_provision_keeps_secret(tmp_path):
    lobby = ('\n[lobby]\nurl = "postgresql://kiosk_k1@lobby.benhvien.local:5432/lobby"\n'
             'sslrootcert = "/etc/kiosk/lobby-ca.pem"\npassword = "pw"\n')
    path = tmp_path / "lobby-01.toml"
    path.write_text(filled_new_config() + lobby)
    with pytest.raises(ConfigError) as err:
        load_provisioning(path)
    assert [p.key for p in err.value.details] == ["lobby.holding_key"]
    path.write_text(filled_new_config() + lobby + f'holding_key = "{"ab" * 32}"\n')
    raw, config = load_provisioning(path)
    assert config.lobby is not None and config.lobby.holding_key == "ab" * 32
    main, secrets = split_secrets(raw)
    assert "holding_key" not in main["lobby"] and secrets["lobby"]["holding_key"] == "ab" * 32
