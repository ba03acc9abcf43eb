"""HIS and BHXH answers that are JSON only in name: deep nesting and numbers beyond
Python's 4300-digit conversion limit become the clients' own errors, served by a real
HTTP server on 127.0.0.1 for the HIS."""

import contextlib
import datetime as dt
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from kiosk.services.bhxh.errors import GatewayProtocolError
from kiosk.services.bhxh.protocol import decode_json_object
from kiosk.services.his.base import HisError, HisPatient, HisVisit
from kiosk.services.his.fhir import FhirAdapter
from kiosk.services.his.gnuhealth import GnuHealthAdapter
from kiosk.services.his.http import JsonHttp
from kiosk.services.his.rest import RestAdapter
from kiosk.services.his.simulator import mapping

DEEP = b"[" * 100_000 + b"]" * 100_000
HUGE = b'{"maKetQua": "000", "n": ' + b"7" * 5000 + b"}"


@pytest.fixture(scope="module")
def server():
    bodies = {"/deep": DEEP, "/huge": HUGE, "/deep-object": b'{"a":' * 60_000 + b"1"
              + b"}" * 60_000}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            body = bodies.get(self.path, bodies["any"])
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_POST = do_PATCH = do_GET

        def log_message(self, *args):
            pass

    bodies["any"] = b"{}"
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", bodies
    httpd.shutdown()
    httpd.server_close()


@pytest.mark.parametrize("path", ["/deep", "/huge", "/deep-object"])
def test_his_answer_is_a_his_error(server, path):
    http = JsonHttp(server[0], timeout_s=10)
    try:
        with pytest.raises(HisError, match="not JSON"):
            http.request("GET", path)
    finally:
        http.close()


@pytest.mark.parametrize("body, words", [(DEEP, "nests too deeply"), (HUGE, "absurd number")])
def test_bhxh_answer_is_a_protocol_error(body, words):
    with pytest.raises(GatewayProtocolError, match=words):
        decode_json_object(body)


PATIENT = HisPatient("079099000001", "Trần Văn Bình", dt.date(1990, 5, 1), "Nam", "Hà Nội",
                     None)
VISIT = HisVisit("r1", "KB-NOI", "Khám Nội", "NOI", "101", "A-001",
                 dt.datetime(2026, 11, 30, 8, 0, tzinfo=dt.UTC), "usable", None)
ANSWERS = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=4),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
        st.sampled_from(["data", "id", "access_token", "ma", "ten", "phong", "khoa", "gia"]),
        inner, max_size=4),
    max_leaves=10)


def _every_call_is_a_result_or_a_his_error(
        adapter: RestAdapter | FhirAdapter | GnuHealthAdapter) -> None:
    """Each adapter call returns or raises HisError (anything else fails the test)."""
    try:
        for call in (lambda: adapter.find_or_create_patient(PATIENT),
                     lambda: adapter.create_visit("1", VISIT),
                     lambda: adapter.update_insurance("1", VISIT), adapter.catalogue):
            with contextlib.suppress(HisError):
                call()
    finally:
        adapter.close()


@settings(max_examples=80, deadline=None)  # real HTTP: a loaded machine is slow
@given(answer=ANSWERS)
@example(answer={"access_token": "Bearer ✓ 😀", "data": []})
def test_any_answer_shape_is_a_result_or_a_his_error(server, answer):
    """The generic REST adapter (simulator mapping) against a server answering every call
    with the same JSON: each call returns or raises HisError, nothing else (a token with
    emoji once reached http.client as UnicodeEncodeError)."""
    url, bodies = server
    bodies["any"] = json.dumps(answer).encode()
    adapter = RestAdapter(mapping(url))
    _every_call_is_a_result_or_a_his_error(adapter)


FHIR_ANSWERS = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=4)
    | st.sampled_from(["Patient", "Bundle", "Encounter", "Coverage", "OperationOutcome"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
        st.sampled_from(["resourceType", "id", "entry", "resource", "type", "coding", "code",
                         "name", "location", "display", "meta", "versionId", "identifier",
                         "result", "error", "providedBy"]), inner, max_size=4),
    max_leaves=12)


@pytest.mark.parametrize("kind", ["fhir", "gnuhealth"])
@settings(max_examples=60, deadline=None)  # real HTTP: a loaded machine is slow
@given(answer=FHIR_ANSWERS)
@example(answer={"entry": None})  # FHIR's catalogue iterated None
def test_fhir_and_gnuhealth_answers_are_results_or_his_errors(server, kind, answer):
    url, bodies = server
    bodies["any"] = json.dumps(answer).encode()
    adapter = (FhirAdapter({"url": url + "/fhir"}) if kind == "fhir" else GnuHealthAdapter(
        {"url": url, "database": "health", "username": "u", "password": "p"}))
    _every_call_is_a_result_or_a_his_error(adapter)
