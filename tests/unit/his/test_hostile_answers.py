"""HIS and BHXH answers that are JSON only in name: deep nesting and numbers beyond
Python's 4300-digit conversion limit become the clients' own errors, served by a real
HTTP server on 127.0.0.1 for the HIS."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from kiosk.services.bhxh.errors import GatewayProtocolError
from kiosk.services.bhxh.protocol import decode_json_object
from kiosk.services.his.base import HisError
from kiosk.services.his.http import JsonHttp

DEEP = b"[" * 100_000 + b"]" * 100_000
HUGE = b'{"maKetQua": "000", "n": ' + b"7" * 5000 + b"}"


@pytest.fixture(scope="module")
def server():
    bodies = {"/deep": DEEP, "/huge": HUGE, "/deep-object": b'{"a":' * 60_000 + b"1"
              + b"}" * 60_000}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            body = bodies[self.path]
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.mark.parametrize("path", ["/deep", "/huge", "/deep-object"])
def test_his_answer_is_a_his_error(server, path):
    http = JsonHttp(server, timeout_s=10)
    try:
        with pytest.raises(HisError, match="not JSON"):
            http.request("GET", path)
    finally:
        http.close()


@pytest.mark.parametrize("body, words", [(DEEP, "nests too deeply"), (HUGE, "absurd number")])
def test_bhxh_answer_is_a_protocol_error(body, words):
    with pytest.raises(GatewayProtocolError, match=words):
        decode_json_object(body)
