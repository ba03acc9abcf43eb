"""The lobby client's budget and breaker against loopback sockets (no PostgreSQL needed
to refuse or to hang)."""

import socket
import time

import pytest

from kiosk.config.model import LobbyConfig
from kiosk.lobby.client import LobbyClient, LobbyUnavailable


def client(port: int, **kwargs) -> LobbyClient:
    return LobbyClient(LobbyConfig(url=f"postgresql://k@127.0.0.1:{port}/lobby"), "01824",
                       "k1", **kwargs)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_refused_is_decided_at_once_and_opens_the_breaker():
    lobby = client(closed_port())
    began = time.perf_counter()
    with pytest.raises(LobbyUnavailable):
        lobby.take_number("NOI", "2026-11-30", "a" * 32)
    assert time.perf_counter() - began < 0.3
    assert lobby.breaker.state == "open"
    began = time.perf_counter()
    with pytest.raises(LobbyUnavailable, match="offline"):
        lobby.take_number("NOI", "2026-11-30", "b" * 32)
    assert time.perf_counter() - began < 0.005


def test_a_silent_server_costs_the_budget_not_libpq_seconds():
    # a listening socket nobody accepts from: the handshake completes, nothing answers
    with socket.create_server(("127.0.0.1", 0), backlog=4) as silent:
        lobby = client(silent.getsockname()[1], budget_s=0.2, retry_after_s=0.3)
        began = time.perf_counter()
        with pytest.raises(LobbyUnavailable, match="no answer within 200 ms"):
            lobby.take_number("NOI", "2026-11-30", "a" * 32)
        assert 0.19 <= time.perf_counter() - began < 0.4
        assert lobby.breaker.state == "open"
        time.sleep(0.35)
        assert lobby.breaker.state == "half_open"  # the next patient probes again
