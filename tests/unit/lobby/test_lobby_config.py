"""`[lobby]` in the configuration: optional, small, validated."""

from pathlib import Path

import pytest

from kiosk.config import ConfigError, demo_config, load
from kiosk.config.loader import demo_config_text
from tests.config_helpers import demo_with_secrets, write_kiosk_config


def load_with(tmp_path: Path, lobby: str) -> object:
    text = demo_with_secrets().replace('id = "demo-kiosk-01"', 'id = "k1"')
    return load(write_kiosk_config(tmp_path / "kiosk.toml", text + "\n" + lobby))


def problems(tmp_path: Path, lobby: str) -> list[str]:
    with pytest.raises(ConfigError) as err:
        load_with(tmp_path, lobby)
    return err.value.problems


def test_no_lobby_section_means_local_numbering():
    assert demo_config().lobby is None


def test_loopback_lobby_with_password_from_the_secrets_file(tmp_path):
    config = load_with(tmp_path, '[lobby]\nurl = "postgresql://kiosk_k1@127.0.0.1:5432/lobby"\n'
                       'password = "pw"\n')
    lobby = config.lobby  # type: ignore[attr-defined]
    assert (lobby.url, lobby.password, lobby.sslmode, lobby.timeout_ms) == (
        "postgresql://kiosk_k1@127.0.0.1:5432/lobby", "pw", "prefer", 300)


def test_network_lobby_needs_verified_tls_with_a_ca_file(tmp_path):
    url = '[lobby]\nurl = "postgresql://kiosk_k1@db.benhvien.vn:5432/lobby"\n'
    assert problems(tmp_path, url) == [
        "lobby.sslrootcert: required with sslmode = 'verify-full' (the CA file that signed "
        "the server's certificate)"]
    found = problems(tmp_path, url + 'sslmode = "require"\n')
    assert found[0].startswith("lobby.sslmode: must be verify-full")
    config = load_with(tmp_path, url + 'sslrootcert = "ca.pem"\n')
    assert config.lobby.sslmode == "verify-full"  # type: ignore[attr-defined]
    assert config.lobby.sslrootcert == str(tmp_path / "ca.pem")  # type: ignore[attr-defined]


@pytest.mark.parametrize(("lobby", "message"), [
    ('url = "mysql://u@h/db"', "lobby.url: must look like postgresql://"),
    ('url = "postgresql://127.0.0.1/lobby"', "lobby.url: must name the user"),
    ('url = "postgresql://u:pw@127.0.0.1/lobby"', "lobby.url: no password in the url"),
    ('url = "postgresql://u@127.0.0.1/lobby?sslmode=disable"', "lobby.url: no options"),
    ('url = "postgresql://u@127.0.0.1/lobby"\ntimeout_ms = 5', "lobby.timeout_ms: must be"),
    ('url = "postgresql://u@127.0.0.1/lobby"\nsslmode = "maybe"', "lobby.sslmode: must be one"),
    ('url = "postgresql://u@127.0.0.1/lobby"\npool = 3', "lobby.pool: unknown key"),
    ('timeout_ms = 300', "lobby.url: required"),
])
def test_lobby_problems_name_their_key(tmp_path, lobby, message):
    assert any(p.startswith(message) for p in problems(tmp_path, "[lobby]\n" + lobby + "\n"))


def test_the_holding_key_is_a_secret_of_64_hex_digits(tmp_path):
    """Decision 0143: the key of the hashes the lobby's kiosks publish."""
    url = '[lobby]\nurl = "postgresql://kiosk_k1@127.0.0.1:5432/lobby"\n'
    config = load_with(tmp_path, url + f'password = "pw"\nholding_key = "{"AB" * 32}"\n')
    assert config.lobby.holding_key == "ab" * 32  # type: ignore[attr-defined]
    with pytest.raises(ConfigError) as err:
        load_with(tmp_path, url + 'holding_key = "00112233"\n')
    assert err.value.problems == ["lobby.holding_key: must be 64 hex digits (32 random "
                                  "bytes: `openssl rand -hex 32`), the same on every kiosk "
                                  "of the lobby"]
    main = tmp_path / "main.toml"  # never in the main file (written as is, decision 0106)
    main.write_text(demo_config_text() + url + f'holding_key = "{"ab" * 32}"\n')
    with pytest.raises(ConfigError) as err:
        load(main)
    assert err.value.problems[0].startswith("lobby.holding_key: a secret in"), err.value.problems
