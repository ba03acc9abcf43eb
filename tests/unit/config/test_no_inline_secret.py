"""A secret in the main configuration file is refused whatever else the file says
(issue 23 item 3, decision 0106): no secrets file named, not provisioned, the BHXH
simulator's own URL — still exit 6, naming the key and never echoing the value. Only a
provisioning file (`kiosk provision`'s input) may hold secrets: provision splits them."""

import json
from pathlib import Path

import pytest

from kiosk.config import ConfigError, load
from kiosk.config.loader import HIS_SECRET_KEYS, SECRET_KEYS, demo_config_text, secret_paths
from tests.cli_helpers import run_kiosk
from tests.config_helpers import filled_new_config, write_kiosk_config

VALUE = "Xq7-inline-value-93"  # found in no other file, so a leak cannot hide
# Where each secret goes in the demo file (table header it follows, or a new table).
SECRETS = {
    "bhxh.password": ("[bhxh]\n", "password"),
    "ui.staff_pin": ("[ui]\n", "staff_pin"),
    "fleet.token": ("[fleet]\n", "token"),
    "lobby.password": ("[lobby]\n", "password"),
    "lobby.holding_key": ("[lobby]\n", "holding_key"),
    **{f"his.settings.{key}": ("[his.settings]\n", key)
       for key in ("password", "token", "client_secret", "api_key")},
}


# Valid values where the key has a format: the refusal is for where it is, not what.
VALUES = {"ui.staff_pin": "975310", "lobby.holding_key": "9f3a" * 16}


def test_every_secret_key_is_tried() -> None:
    assert set(SECRETS) == {".".join(p) for p in secret_paths(
        {**{s: dict.fromkeys(keys, "") for s, keys in SECRET_KEYS.items()},
         "his": {"settings": dict.fromkeys(HIS_SECRET_KEYS, "")}})}


def demo_with(key: str, value: str | None = None) -> str:
    """The demo file (no secrets file, not provisioned) with `key` set inline."""
    value = value or VALUES.get(key, VALUE)
    header, name = SECRETS[key]
    text = demo_config_text()
    if header == "[his.settings]\n":  # GNU Health takes a password, FHIR a token
        his = ('adapter = "fhir"\n[his.settings]\nurl = "https://his.benhvien.vn/fhir"\n'
               if name != "password" else 'adapter = "gnuhealth"\n[his.settings]\n'
               'url = "https://his.benhvien.vn"\ndatabase = "health"\nusername = "kiosk"\n')
        text = text.replace('adapter = "simulator"\n', his)
    elif header == "[lobby]\n":
        text += '\n[lobby]\nurl = "postgresql://kiosk_k1@127.0.0.1:5432/lobby"\n'
    assert header in text
    return text.replace(header, f'{header}{name} = "{value}"\n', 1)


@pytest.mark.parametrize("key", SECRETS)
def test_each_secret_in_a_plain_main_file_is_refused_and_loads_from_the_secrets_file(
        tmp_path: Path, key: str) -> None:
    text = demo_with(key)
    assert "secrets_file" not in text and "provisioned" not in text
    path = tmp_path / "kiosk.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load(path)
    assert [p.key for p in err.value.details] == [key]
    assert VALUES.get(key, VALUE) not in str(err.value)
    # The same value from a secrets file (what write_kiosk_config writes) is accepted
    # (no adapter reads a client_secret or an api_key yet: reserved, and refused there).
    split = write_kiosk_config(tmp_path / "split.toml", text)
    assert "secrets_file" in split.read_text()
    assert VALUES.get(key, VALUE) not in split.read_text()
    if key.endswith(("client_secret", "api_key")):
        with pytest.raises(ConfigError, match=f"^{key}: unknown key$"):
            load(split)
    else:
        load(split)


def test_the_simulators_section_gets_no_exception(tmp_path: Path) -> None:
    """`url = "simulator"`: the simulator takes its own password; one written into the
    main file is refused like any other (no demo-password exception, decision 0106)."""
    path = tmp_path / "kiosk.toml"
    path.write_text(demo_with("bhxh.password", "simulator-password"), encoding="utf-8")
    with pytest.raises(ConfigError, match="bhxh.password: a secret in"):
        load(path)


def test_the_cli_refuses_an_inline_secret_with_exit_6(tmp_path: Path) -> None:
    """Through the real commands (`config check`, and `sync --once` as kiosk-sync.service
    runs it): exit 6, the key named on stderr (and in the JSON error), never the value."""
    text = demo_with("bhxh.password").replace(
        'state_dir = "demo-output/state"', f'state_dir = "{tmp_path / "state"}"')
    path = tmp_path / "kiosk.toml"
    path.write_text(text, encoding="utf-8")
    for args in (("config", "check"), ("sync", "--once")):
        proc = run_kiosk("--config", str(path), *args)
        assert proc.returncode == 6, (args, proc.stdout, proc.stderr)
        assert "bhxh.password: a secret in" in proc.stderr and "never in the main file" \
            in proc.stderr, proc.stderr
        assert VALUE not in proc.stdout + proc.stderr
    proc = run_kiosk("--config", str(path), "config", "check", "--json")
    error = json.loads(proc.stderr)["error"]
    assert (proc.returncode, error["kind"], [p["key"] for p in error["problems"]]) == (
        6, "misconfigured", ["bhxh.password"])
    assert VALUE not in proc.stdout + proc.stderr
    assert not (tmp_path / "state").exists()  # refused before anything was opened


def test_a_provisioning_file_may_hold_secrets_but_not_be_the_kiosks_file(
        tmp_path: Path) -> None:
    """`config check --production` reads a provisioning file as `kiosk provision` does
    (its secrets are split into the secrets file); the same file as the kiosk's own
    configuration is refused."""
    prov = tmp_path / "lobby-01.toml"
    prov.write_text(filled_new_config(), encoding="utf-8")
    ok = run_kiosk("config", "check", "--production", "--config", str(prov))
    assert ok.returncode == 0, ok.stderr
    refused = run_kiosk("config", "check", "--config", str(prov))
    assert refused.returncode == 6
    assert "bhxh.password: a secret in" in refused.stderr
    assert "ui.staff_pin: a secret in" in refused.stderr
    assert "s3cret-gateway" not in refused.stderr and "135791" not in refused.stderr


REST = '''adapter = "rest"
[his.settings]
url = "https://his.benhvien.vn"
{secret}
[his.settings.auth]
path = "/api/auth/token"
body = {{ username = "kiosk01", password = "{body}" }}
[his.settings.create_patient]
path = "/api/patients"
[his.settings.create_visit]
path = "/api/bookings"
'''


def test_a_rest_login_names_its_password_and_never_holds_it(tmp_path: Path) -> None:
    """The generic REST adapter's login body: `"{password}"`, filled from
    `his.settings.password` in the secrets file; a literal password there is a secret
    in the main file too, refused without echoing it."""
    demo = demo_config_text()
    literal = demo.replace('adapter = "simulator"\n', REST.format(secret="", body=VALUE))
    path = tmp_path / "kiosk.toml"
    path.write_text(literal, encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load(path)
    assert err.value.problems == [
        'his.settings.auth.body: password is a secret: write "{password}" and put '
        "his.settings.password in the secrets file (decision 0106)"]
    named = demo.replace('adapter = "simulator"\n', REST.format(
        secret=f'password = "{VALUE}"', body="{password}"))
    config = load(write_kiosk_config(tmp_path / "named.toml", named))
    assert config.his.settings["password"] == VALUE
    assert config.his.settings["auth"]["body"]["password"] == "{password}"
    assert VALUE not in (tmp_path / "named.toml").read_text()
