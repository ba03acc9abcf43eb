"""A hostile or broken hawkBit server (real HTTP on 127.0.0.1): every answer the updater
cannot use becomes a DdiError and an "error" result, never an exception."""

import contextlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.ops.hawkbit import DdiClient, DdiError, parse_sleep
from kiosk.ops.updater import UpdateSettings, update_once


class Server:
    """Answers every GET with `self.body` (bytes)."""

    def __init__(self):
        owner = self
        self.body = b"{}"

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Type", "application/hal+json")
                self.send_header("Content-Length", str(len(owner.body)))
                self.end_headers()
                self.wfile.write(owner.body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def server():
    s = Server()
    yield s
    s.stop()


def _client(server):
    return DdiClient(server.url, "DEFAULT", "k1", "token", sleep=lambda s: None)


HOSTILE = [
    b"<html>proxy error</html>", b"", b"[1, 2]", b'"text"', b"[" * 50_000 + b"]" * 50_000,
    b'{"config": {"polling": {"sleep": "' + b"9" * 5000 + b':00:00"}}}',
    b'{"config": [], "_links": {}}', b'{"_links": {"deploymentBase": "x"}}',
    b'{"_links": {"deploymentBase": {"href": 5}}}', b'{"_links": []}',
    b'{"id": ' + b"9" * 5000 + b"}",
]


@pytest.mark.parametrize("body", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_poll_answers_are_ddi_errors(server, body, tmp_path):
    server.body = body
    client = _client(server)
    try:
        try:
            data = client.poll()
        except DdiError:
            data = None
        if data is not None:  # an object of any shape: the sleep value must still parse
            config = data.get("config")
            polling = config.get("polling") if isinstance(config, dict) else None
            sleep = polling.get("sleep") if isinstance(polling, dict) else None
            assert parse_sleep(sleep) > 0
        result = update_once(client, UpdateSettings(root=tmp_path, state_dir=tmp_path,
                                                    public_keys=()))
    finally:
        client.close()
    if data is None:
        assert result.outcome == "error" and "poll" in result.detail


@pytest.mark.parametrize("body", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_cancel_answers_are_ddi_errors(server, body):
    server.body = body
    with contextlib.closing(_client(server)) as client, pytest.raises(DdiError):
        client.cancel_action(f"{server.url}/x")


@pytest.mark.parametrize("body", [
    *HOSTILE,
    b'{"id": "1", "deployment": []}',
    b'{"id": "1", "deployment": {"chunks": [{"artifacts": [{"filename": "a"}]}]}}',
    # (The DDI's own "size" is never read: sizes come from the signed manifest.)
    b'{"deployment": {}}',
], ids=range(len(HOSTILE) + 3))
def test_hostile_deployment_answers_are_ddi_errors(server, body):
    server.body = body
    with contextlib.closing(_client(server)) as client, pytest.raises(DdiError):
        client.deployment(f"{server.url}/x")


@settings(max_examples=60, deadline=None)  # real HTTP: a loaded machine is slow
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=5),
                    lambda inner: st.lists(inner, max_size=3)
                    | st.dictionaries(st.sampled_from(["id", "deployment", "chunks", "artifacts",
                                                       "_links", "href", "size", "filename",
                                                       "download-http", "config", "polling",
                                                       "sleep"]), inner, max_size=4),
                    max_leaves=12))
def test_any_json_shape_is_a_result_or_a_ddi_error(server, value):
    server.body = json.dumps(value).encode()
    with contextlib.closing(_client(server)) as client:
        for call in (client.poll, lambda: client.deployment(f"{server.url}/d"),
                     lambda: client.cancel_action(f"{server.url}/c")):
            with contextlib.suppress(DdiError):
                call()
