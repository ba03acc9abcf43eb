"""Fixtures for the lobby tests: one PostgreSQL server per test run, a fresh lobby
database per test, and kiosk configuration files pointed at it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.e2e.lobby.pg import KIOSK_PASSWORD, OWNER, OWNER_PASSWORD, PgCluster
from tests.e2e.lobby.proxy import BlackholeProxy  # noqa: F401  (re-exported for tests)


@pytest.fixture(scope="session")
def pg() -> Iterator[PgCluster]:
    cluster = PgCluster()
    try:
        cluster.init()
        cluster.start()
        cluster.setup_roles()
        yield cluster
    finally:
        cluster.remove()


@dataclass
class Lobby:
    pg: PgCluster
    db: str

    def url(self, user: str) -> str:
        return self.pg.url(user, self.db)

    def sql(self, statement: str) -> list[tuple[object, ...]]:
        return self.pg.sql(statement, db=self.db)

    def add_kiosk(self, kiosk_id: str, login: str, *, facility: str = "01824",
                  max_per_minute: int = 6000, timezone: str = "Asia/Ho_Chi_Minh") -> None:
        """What `kiosk lobby add-kiosk` does (tested in test_provisioning), in one step."""
        self.sql(f"INSERT INTO lobby.facilities VALUES ('{facility}', '{timezone}') "
                 "ON CONFLICT DO NOTHING; "
                 "INSERT INTO lobby.kiosks (facility, kiosk_id, db_role, max_per_minute) "
                 f"VALUES ('{facility}', '{kiosk_id}', '{login}', {max_per_minute})")


@pytest.fixture
def bare_lobby(pg: PgCluster) -> Lobby:
    """A new, initialised lobby database (what `kiosk lobby init` does as its owner, in
    this process: the command itself is tested in test_lobby_cli), no kiosks."""
    from kiosk.config.model import LobbyConfig
    from kiosk.lobby.admin import init

    db = pg.new_database()
    assert init(LobbyConfig(url=pg.url(OWNER, db), password=OWNER_PASSWORD)).changed
    return Lobby(pg, db)


@pytest.fixture
def lobby(bare_lobby: Lobby) -> Lobby:
    """The lobby with kiosks k1…k4 of 01824 provisioned for logins kiosk_k1…kiosk_k4
    (with a rate limit no test reaches) and `tls` for kiosk_tls."""
    for n in range(1, 5):
        bare_lobby.add_kiosk(f"k{n}", f"kiosk_k{n}")
    bare_lobby.add_kiosk("tls", "kiosk_tls")
    return bare_lobby


def kiosk_config(directory: Path, kiosk_id: str, lobby_url: str | None, *,
                 facility: str = "01824", password: str = KIOSK_PASSWORD,
                 lobby_extra: str = "", timezone: str = "Asia/Ho_Chi_Minh",
                 holding_key: str | None = None) -> Path:
    """The demo configuration as kiosk `kiosk_id` of `facility`, its own state directory,
    and `[lobby]` with the password (and the lobby's `holding_key`, when given) in a
    0600 secrets file (no lobby when url is None)."""
    from tests.config_helpers import demo_with_secrets, write_kiosk_config

    directory.mkdir(parents=True, exist_ok=True)
    text = demo_with_secrets().replace('id = "demo-kiosk-01"', f'id = "{kiosk_id}"')
    text = text.replace('code = "01824"', f'code = "{facility}"', 1)
    text = text.replace('timezone = "Asia/Ho_Chi_Minh"', f'timezone = "{timezone}"', 1)
    text = text.replace('state_dir = "demo-output/state"', f'state_dir = "{directory / "state"}"')
    text = text.replace('target = "demo-output/tickets"', f'target = "{directory / "tickets"}"')
    if lobby_url is not None:
        text += f'\n[lobby]\nurl = "{lobby_url}"\npassword = "{password}"\n'
        if holding_key is not None:
            text += f'holding_key = "{holding_key}"\n'
        text += lobby_extra
    return write_kiosk_config(directory / "kiosk.toml", text)
