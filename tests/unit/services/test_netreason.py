"""Network failures in a technician's words, from real sockets on 127.0.0.1."""

import socket

import pytest
import requests

from kiosk.services.netreason import host_of, network_reason


def closed_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_refused_connection_through_requests():
    port = closed_port()
    with pytest.raises(requests.RequestException) as info:
        requests.get(f"http://127.0.0.1:{port}/x?cccd=001185012345", timeout=5)
    assert network_reason(info.value) == "connection refused"


def test_timeout_through_requests():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)  # accepts, never answers
        port = server.getsockname()[1]
        with pytest.raises(requests.RequestException) as info:
            requests.get(f"http://127.0.0.1:{port}/", timeout=0.3)
    assert network_reason(info.value) == "timed out"


def test_unknown_errors_give_their_name_only():
    assert network_reason(RuntimeError("patient Nguyễn Văn A")) == "RuntimeError"


@pytest.mark.parametrize("url, host", [
    ("https://user:pw@egw.example.vn:8443/api?cccd=001185012345", "egw.example.vn:8443"),
    ("http://127.0.0.1/fhir", "127.0.0.1"), ("not a url", "?"), ("http://[::1", "?"),
])
def test_host_of_keeps_host_and_port_only(url, host):
    assert host_of(url) == host
