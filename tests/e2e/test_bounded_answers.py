"""Every server answer has a size cap and a deadline for the whole request (decision
0103), against real servers on 127.0.0.1 that misbehave on purpose:

* a HIS answering 400 MB (streamed from a 64 KiB block, never allocated): `kiosk sync
  --once` refuses it, its memory stays far below the answer (and under the unit's
  MemoryMax=256M), and the registration stays in the outbox;
* a DDI server trickling its answer a byte at a time: the update round gives up at its
  deadline, long before the server would have finished (`kiosk update` exit 5; the
  real command: tests/e2e/ops/test_trickling_ddi_cli.py).
"""

from __future__ import annotations

import json
import socket
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from kiosk.ops.hawkbit import DdiClient, DdiError
from kiosk.ops.updater import UpdateSettings, update_once
from kiosk.runtime.bounded_http import AnswerRefused, deadline_in, read_body
from kiosk.services.bhxh.client import BhxhClient
from kiosk.services.bhxh.errors import GatewayUnavailable
from kiosk.services.his.base import HisError, HisUnavailable
from kiosk.services.his.gnuhealth.rpc import TrytonRpc
from kiosk.services.his.http import JsonHttp
from tests.cli_helpers import KIOSK, run_kiosk
from tests.e2e.his_helpers import write_config

pytestmark = pytest.mark.e2e
HUGE = 400 * 1024 * 1024
BLOCK = b" " * 65536  # JSON whitespace: only its size is wrong


class MisbehavingServer:
    """Answers every request with `total` bytes, `piece` bytes every `pause_s`; counts
    what it managed to send before the client hung up."""

    def __init__(self, total: int, piece: bytes, pause_s: float = 0.0,
                 content_length: bool = False) -> None:
        self.sent = 0
        self.requests = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                outer.requests += 1
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                if content_length:
                    self.send_header("Content-Length", str(total))
                self.end_headers()
                try:
                    while outer.sent < total:
                        self.wfile.write(piece)
                        self.wfile.flush()
                        outer.sent += len(piece)
                        if pause_s:
                            time.sleep(pause_s)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            do_POST = do_PUT = do_GET = _answer

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.total = total

    def __enter__(self) -> MisbehavingServer:
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def high_water_kb(pid: int) -> int:
    """Peak resident memory since exec (wait4's ru_maxrss would count the pytest process
    it was forked from)."""
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def test_a_400_mb_his_answer_is_refused_and_sync_stays_small(tmp_path):
    with MisbehavingServer(HUGE, BLOCK) as his:
        config = write_config(tmp_path, "fhir", {"url": his.url, "timeout_s": 60.0})
        patient = tmp_path / "patient.json"
        patient.write_text(json.dumps({"full_name": "Trần Văn Bình", "sex": "Nam",
                                       "id_number": "079099000001",
                                       "date_of_birth": "1990-05-01"}), encoding="utf-8")
        registered = run_kiosk("--config", str(config), "register", "--patient", str(patient),
                               "--service", "KB-NOI", "--json")
        assert registered.returncode == 0, registered.stderr
        with (tmp_path / "sync.err").open("wb") as err:
            proc = subprocess.Popen([KIOSK, "--config", str(config), "sync", "--once", "--json"],
                                    stdout=subprocess.DEVNULL, stderr=err)
            peak_kb = 0
            while proc.poll() is None:  # VmHWM: this program's own high-water mark
                peak_kb = max(peak_kb, high_water_kb(proc.pid))
                time.sleep(0.02)
        stderr = (tmp_path / "sync.err").read_text()
        assert "Traceback" not in stderr, stderr
        assert his.requests >= 1 and his.sent < HUGE // 4  # it hung up early
    print(f"kiosk sync --once peak RSS {peak_kb / 1024:.0f} MB against a {HUGE >> 20} MB answer")
    assert 0 < peak_kb < 200 * 1024  # the answer alone is 400 MB; MemoryMax=256M in the unit
    pending = run_kiosk("--config", str(config), "outbox", "list", "--json")
    assert pending.returncode == 0 and "cap" in json.loads(pending.stdout)[0]["last_error"]


def test_a_declared_size_over_the_cap_is_refused_before_reading():
    with MisbehavingServer(HUGE, BLOCK, content_length=True) as his:
        http = JsonHttp(his.url, timeout_s=30)
        with pytest.raises(HisError, match="exceeds the"):
            http.request("GET", "/Patient")
        http.close()
        assert his.sent < HUGE // 4


def test_a_trickling_ddi_server_is_given_up_at_the_deadline(tmp_path):
    with MisbehavingServer(10_000, b" ", pause_s=0.01) as ddi:  # 100 s to send it all
        client = DdiClient(ddi.url, "DEFAULT", "kiosk-01", "token", answer_deadline_s=0.5,
                           sleep=lambda s: None)
        with pytest.raises(DdiError, match="deadline"):
            client.poll()
        settings = UpdateSettings(root=tmp_path / "root", state_dir=tmp_path / "state",
                                  public_keys=("00" * 32,))
        result = update_once(client, settings)
        client.close()
        assert result.outcome == "error" and "deadline" in result.detail
        assert result.unreachable  # exit 5: the fleet server did not answer
        assert ddi.sent < ddi.total // 2


def test_the_deadline_is_for_the_whole_request():
    """A deadline already passed refuses even a fast, small answer: it is checked while
    the body is read, not only while waiting for it."""
    with MisbehavingServer(10, b"{}") as server:
        response = requests.get(server.url, stream=True, timeout=10)
        with pytest.raises(AnswerRefused, match="deadline"):
            read_body(response, limit=1 << 20, deadline=deadline_in(-1))


class HeaderTrickle:
    """Answers every connection with a status line and then header lines one byte a
    second: every read is short, no answer ever starts (decision 0106)."""

    def __init__(self) -> None:
        self.stop = threading.Event()
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._drip, args=(conn,), daemon=True).start()

    def _drip(self, conn: socket.socket) -> None:
        with conn:
            conn.recv(65536)
            for byte in b"HTTP/1.1 200 OK\r\n" + b"X-Slow: 1\r\n" * 100:
                if self.stop.wait(0.5):
                    return
                try:
                    conn.sendall(bytes([byte]))
                except OSError:
                    return

    def __enter__(self) -> HeaderTrickle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.sock.close()


def test_headers_sent_a_byte_at_a_time_are_cut_at_the_deadline():
    """Each read is short, so per-read timeouts never fire: the request's deadline cuts
    the connection (HIS JSON, GNU Health RPC, BHXH gateway alike)."""
    with HeaderTrickle() as server:
        calls = {
            "his": lambda: JsonHttp(server.url, timeout_s=1.0).request("GET", "/Patient"),
            "gnuhealth": lambda: TrytonRpc(server.url, "health", "u", "p",
                                           timeout_s=1.0)._post("common.db.login", []),
            "bhxh": lambda: BhxhClient(server.url, "01824_BV", "x", "Trần Thị Lan",
                                       "001185000123", max_attempts=1).lookup(
                "HS4010120878811", "Nguyễn Văn A", 1985, budget_s=1.5),
        }
        for name, call in calls.items():
            started = time.monotonic()
            with pytest.raises((HisUnavailable, GatewayUnavailable), match="no complete answer"):
                call()
            assert time.monotonic() - started < 1.5 + 1.0, name  # the header lines: 50 s
