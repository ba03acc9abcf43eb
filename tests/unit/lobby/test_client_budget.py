"""The lobby client's budget and breaker against loopback sockets (no PostgreSQL needed
to refuse or to hang)."""

import socket
import time

import pytest

from kiosk.config.model import LobbyConfig
from kiosk.lobby.client import FAILURES_TO_OPEN, LobbyClient, LobbyUnavailable


def client(port: int, **kwargs) -> LobbyClient:
    return LobbyClient(LobbyConfig(url=f"postgresql://k@127.0.0.1:{port}/lobby"), "01824",
                       "k1", **kwargs)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_refused_is_decided_at_once_and_opens_the_breaker_after_three():
    lobby = client(closed_port())
    for n in range(FAILURES_TO_OPEN):
        assert lobby.breaker.state == "closed"  # one failure is not an outage
        began = time.perf_counter()
        with pytest.raises(LobbyUnavailable):
            lobby.take_number("NOI", f"{n:032x}")
        assert time.perf_counter() - began < 0.3
    assert lobby.breaker.state == "open"
    began = time.perf_counter()
    with pytest.raises(LobbyUnavailable, match="offline"):
        lobby.take_number("NOI", "b" * 32)
    assert time.perf_counter() - began < 0.005


def test_a_silent_server_costs_the_budget_not_libpq_seconds():
    # a listening socket nobody accepts from: the handshake completes, nothing answers
    with socket.create_server(("127.0.0.1", 0), backlog=4) as silent:
        lobby = client(silent.getsockname()[1], budget_s=0.2, retry_after_s=0.3)
        began = time.perf_counter()
        with pytest.raises(LobbyUnavailable, match="no answer within 200 ms"):
            lobby.take_number("NOI", "a" * 32)
        assert 0.19 <= time.perf_counter() - began < 0.4
        # the unanswered request is still in flight: the next patient does not queue
        # behind it (nor wait): one late request at most, however long the silence
        began = time.perf_counter()
        with pytest.raises(LobbyUnavailable, match="still unanswered"):
            lobby.take_number("NOI", "b" * 32)
        assert time.perf_counter() - began < 0.01
        assert lobby.breaker.state == "closed"  # one slow answer opens nothing


def test_the_breaker_probes_on_its_own_before_closing():
    lobby = client(closed_port(), retry_after_s=0.05)
    for n in range(FAILURES_TO_OPEN):
        with pytest.raises(LobbyUnavailable):
            lobby.take_number("NOI", f"{n:032x}")
    time.sleep(0.06)
    # half-open: this patient is not the probe; a SELECT 1 goes out in the background
    with pytest.raises(LobbyUnavailable, match="probing"):
        lobby.take_number("NOI", "c" * 32)
    assert lobby._inflight is not None
    lobby._inflight.exception(timeout=5)  # refused again: the probe re-opens it
    deadline = time.monotonic() + 5  # its done-callback runs just after the waiters wake
    while lobby.breaker.state != "open":
        assert time.monotonic() < deadline
        time.sleep(0.01)
