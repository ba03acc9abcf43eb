"""`[fleet]` settings the root-run updater relies on are checked at load: a plain-http
fleet server and malformed release keys are configuration errors."""

import pytest

from kiosk.config import ConfigError, load
from kiosk.config.loader import demo_config_text
from kiosk.ops.release import generate_key
from tests.cli_helpers import run_kiosk
from tests.config_helpers import write_kiosk_config

GOOD_KEY = "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c"


def fleet_config(tmp_path, url: str | None, keys: list[str]):
    lines = ['tenant = "DEFAULT"', 'token = "t0ken"', 'controller_id = "kiosk-01"']
    if url is not None:
        lines.append(f'hawkbit_url = "{url}"')
    lines.append("public_keys = [" + ", ".join(f'"""{k}"""' for k in keys) + "]")
    return write_kiosk_config(tmp_path / "kiosk.toml",
                              demo_config_text().replace('tenant = "DEFAULT"', "\n".join(lines)))


def problems(path) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load(path)
    return info.value.problems


@pytest.mark.parametrize("url", ["https://fleet.example.vn", "http://127.0.0.1:8080",
                                 "http://localhost:8080/", "http://[::1]:8080"])
def test_https_and_loopback_http_are_accepted(tmp_path, url):
    config = load(fleet_config(tmp_path, url, [GOOD_KEY]))
    assert config.fleet.hawkbit_url == url.rstrip("/")  # one spelling of the base URL
    assert config.fleet.public_keys == (GOOD_KEY,)


@pytest.mark.parametrize("url", ["http://fleet.example.vn", "http://10.0.0.5:8080",
                                 "http://127.0.0.1.evil.vn", "ftp://fleet.example.vn",
                                 "https://user:pw@fleet.example.vn", "fleet.example.vn"])
def test_plain_http_and_odd_urls_are_refused(tmp_path, url):
    found = problems(fleet_config(tmp_path, url, [GOOD_KEY]))
    assert any(p.startswith("fleet.hawkbit_url:") for p in found), found


def test_every_key_is_checked_and_named(tmp_path):
    found = problems(fleet_config(tmp_path, "https://fleet.example.vn",
                                  [GOOD_KEY, "00", "zz" * 32]))
    named = {p.split(":")[0] for p in found}
    assert named == {"fleet.public_keys[1]", "fleet.public_keys[2]"}, found
    # 63 characters: the length is wrong, not the hex.
    found = problems(fleet_config(tmp_path, None, [GOOD_KEY[:-1]]))
    assert found == ["fleet.public_keys[0]: expected 64 hex characters (a raw Ed25519 key), "
                     "got 63"]


def test_pem_public_keys_are_accepted(tmp_path):
    from cryptography.hazmat.primitives import serialization

    from kiosk.ops.release import load_private_key

    generate_key(tmp_path / "release.pem")
    pem = load_private_key(tmp_path / "release.pem").public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    config = load(fleet_config(tmp_path, None, [pem]))
    assert "BEGIN PUBLIC KEY" in config.fleet.public_keys[0]


def test_config_check_names_the_insecure_settings(tmp_path):
    path = fleet_config(tmp_path, "http://fleet.example.vn", ["00"])
    proc = run_kiosk("--config", str(path), "config", "check")
    assert proc.returncode != 0
    assert "fleet.hawkbit_url" in proc.stderr and "fleet.public_keys[0]" in proc.stderr


def test_plain_http_is_one_line(tmp_path):
    found = problems(fleet_config(tmp_path, "http://fleet.example.vn", [GOOD_KEY]))
    assert len([p for p in found if p.startswith("fleet.hawkbit_url:")]) == 1, found
