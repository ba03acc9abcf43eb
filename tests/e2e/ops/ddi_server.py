"""A hawkBit DDI test server on 127.0.0.1, written from the published DDI API:
controller base (ETag, polling sleep, links), deploymentBase, artifact download with
Range, feedback, cancelAction, configData; plus the faults and hostile answers the
tests inject (a spoofed or compromised server is what the updater must survive)."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from kiosk.ops.release import artifact_paths, manifest_artifact_names


@dataclass
class DdiState:
    tenant: str = "DEFAULT"
    controller: str = "kiosk-01"
    token: str = "secret-target-token"
    action_id: str | None = None
    files: dict[str, bytes] = field(default_factory=dict)  # served at /artifacts/<name>
    offered: list[str] | None = None  # names in the deployment (default: all files)
    links: dict[str, str] = field(default_factory=dict)  # name -> download href override
    update: str = "attempt"
    maintenance_window: str | None = None
    cancel_id: str | None = None
    status: dict[str, int] = field(default_factory=dict)  # name -> error status, e.g. 404
    drop: dict[str, int] = field(default_factory=dict)  # name -> close after N bytes, once
    gzip: set[str] = field(default_factory=set)  # served with Content-Encoding: gzip
    no_length: set[str] = field(default_factory=set)  # no Content-Length header
    patch_deployment: Callable[[dict[str, Any]], None] | None = None
    patch_base: Callable[[dict[str, Any]], None] | None = None
    raw_base: bytes | None = None  # served as the controller base instead of JSON
    poll_429: int = 0  # answer 429 to this many polls first
    # Answers sent one byte a second after prompt headers: "base" (the poll),
    # "deployment", or an artifact's name; "head": the poll's status line and headers too.
    trickle: set[str] = field(default_factory=set)
    feedback: list[dict[str, Any]] = field(default_factory=list)
    cancel_feedback: list[dict[str, Any]] = field(default_factory=list)
    config_data: list[dict[str, Any]] = field(default_factory=list)
    downloads: list[tuple[str, str | None]] = field(default_factory=list)  # (name, Range)
    served: dict[str, int] = field(default_factory=dict)  # body bytes sent per name
    seen: list[tuple[str, str | None]] = field(default_factory=list)  # (path, Authorization)
    polls: int = 0

    def offer(self, action_id: str, bundle_dir: Path, **kw: Any) -> None:
        """Offer a bundle directory the way it is uploaded: manifest, signature and
        every wheel as artifacts of one software module."""
        self.action_id = action_id
        self.files = {p.name: p.read_bytes() for p in artifact_paths(bundle_dir)}
        for k, v in kw.items():
            setattr(self, k, v)

    def offer_architectures(self, action_id: str, bundles: dict[str, Path], **kw: Any) -> None:
        """One deployment with every architecture's release (arch -> bundle): each
        manifest under its architecture's name, shared wheels once (hawkBit: a common
        software module beside one per architecture)."""
        self.action_id = action_id
        self.files = {}
        for arch, bundle_dir in bundles.items():
            manifest, signature = manifest_artifact_names(arch)
            for path in artifact_paths(bundle_dir):
                name = {"metadata.json": manifest,
                        "metadata.json.sig": signature}.get(path.name, path.name)
                data = path.read_bytes()
                assert self.files.setdefault(name, data) == data, f"{name} differs"
        for k, v in kw.items():
            setattr(self, k, v)

    @property
    def last_feedback(self) -> dict[str, Any]:
        return self.feedback[-1]["status"]

    @property
    def bytes_served(self) -> int:
        return sum(self.served.values())


class DdiServer:
    def __init__(self) -> None:
        self.state = DdiState()
        self.lock = threading.Lock()
        self.stopping = threading.Event()  # ends trickled answers
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def start(self) -> DdiServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        self.httpd.shutdown()
        self.httpd.server_close()

    def artifact_url(self, name: str) -> str:
        return f"{self.url}/artifacts/{quote(name, safe='')}"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _json(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
                raw = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/hal+json")
                self.send_header("Content-Length", str(len(raw)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(raw)

            def _trickle(self, raw: bytes) -> None:
                """Headers at once, then the body one byte a second, until it is sent,
                the client hangs up or the server stops (a choked or hostile server)."""
                self.send_response(200)
                self.send_header("Content-Type", "application/hal+json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self._drip(raw)

            def _drip(self, raw: bytes) -> int:
                sent = 0
                self.close_connection = True
                try:
                    while sent < len(raw) and not server.stopping.wait(1.0):
                        self.wfile.write(raw[sent:sent + 1])
                        sent += 1
                except (BrokenPipeError, ConnectionResetError):
                    pass
                return sent

            def _empty(self, status: int) -> None:
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def _body(self) -> Any:
                n = int(self.headers.get("Content-Length", "0"))
                return json.loads(self.rfile.read(n) or b"{}")

            def _authorised(self) -> bool:
                s = server.state
                s.seen.append((self.path, self.headers.get("Authorization")))
                if self.path.startswith("/artifacts/"):
                    return True
                return self.headers.get("Authorization") == f"TargetToken {s.token}"

            def _base(self) -> str:
                s = server.state
                return f"{server.url}/{s.tenant}/controller/v1/{s.controller}"

            def _deployment(self, s: DdiState) -> dict[str, Any]:
                names = s.offered if s.offered is not None else list(s.files)
                artifacts = []
                for name in names:
                    data = s.files.get(name, b"")
                    artifacts.append({
                        "filename": name, "size": len(data),
                        "hashes": {"sha256": hashlib.sha256(data).hexdigest()},
                        "_links": {"download-http": {
                            "href": s.links.get(name, server.artifact_url(name))}}})
                body: dict[str, Any] = {"id": s.action_id, "deployment": {
                    "download": s.update, "update": s.update,
                    **({"maintenanceWindow": s.maintenance_window}
                       if s.maintenance_window else {}),
                    "chunks": [{"part": "os", "version": "?", "name": "kiosk",
                                "artifacts": artifacts}]}}
                if s.patch_deployment:
                    s.patch_deployment(body)
                return body

            def do_GET(self) -> None:
                if not self._authorised():
                    return self._empty(401)
                s = server.state
                base_path = self._base().removeprefix(server.url)
                if self.path == base_path and "head" in s.trickle:
                    with server.lock:
                        s.polls += 1
                    self.close_connection = True
                    self._drip(b"HTTP/1.1 200 OK\r\n" + b"X-Slow: 1\r\n" * 50)
                    return None
                if self.path == base_path and "base" in s.trickle:
                    with server.lock:
                        s.polls += 1
                    return self._trickle(json.dumps(
                        {"config": {"polling": {"sleep": "00:05:00"}}, "_links": {}}).encode())
                if self.path.startswith(f"{base_path}/deploymentBase/") \
                        and "deployment" in s.trickle:
                    with server.lock:
                        body = self._deployment(s)
                    return self._trickle(json.dumps(body).encode())
                with server.lock:
                    if self.path == base_path:
                        s.polls += 1
                        if s.poll_429 > 0:
                            s.poll_429 -= 1
                            return self._empty(429)
                        links: dict[str, Any] = {"configData": {"href": f"{self._base()}/configData"}}
                        if s.cancel_id:
                            links["cancelAction"] = {"href": f"{self._base()}/cancelAction/{s.cancel_id}"}
                        elif s.action_id:
                            links["deploymentBase"] = {
                                "href": f"{self._base()}/deploymentBase/{s.action_id}?c=1"}
                        body = {"config": {"polling": {"sleep": "00:05:00"}}, "_links": links}
                        if s.raw_base is not None:
                            self.send_response(200)
                            self.send_header("Content-Length", str(len(s.raw_base)))
                            self.end_headers()
                            self.wfile.write(s.raw_base)
                            return None
                        if s.patch_base:
                            s.patch_base(body)
                        etag = '"' + hashlib.sha1(json.dumps(body).encode()).hexdigest() + '"'
                        if self.headers.get("If-None-Match") == etag:
                            return self._empty(304)
                        return self._json(200, body, {"ETag": etag})
                    if self.path.startswith(f"{base_path}/deploymentBase/"):
                        return self._json(200, self._deployment(s))
                    if self.path.startswith(f"{base_path}/cancelAction/"):
                        return self._json(200, {"id": s.cancel_id,
                                                "cancelAction": {"stopId": s.action_id}})
                    if self.path.startswith("/artifacts/"):
                        name = unquote(self.path.removeprefix("/artifacts/"))
                        s.downloads.append((name, self.headers.get("Range")))
                        if name in s.status:
                            return self._empty(s.status[name])
                        if name not in s.files:
                            return self._empty(404)
                return self._artifact(s, name) if self.path.startswith("/artifacts/") \
                    else self._empty(404)

            def _artifact(self, s: DdiState, name: str) -> None:
                data, start, status = s.files[name], 0, 200
                end = len(data) - 1
                rng = self.headers.get("Range")
                if rng and rng.startswith("bytes="):
                    first, _, last = rng[6:].partition("-")
                    start, status = int(first), 206
                    end = min(int(last), end) if last else end
                chunk = data[start:end + 1]
                self.send_response(status)
                self.send_header("Content-Type", "application/octet-stream")
                if name in s.gzip:
                    self.send_header("Content-Encoding", "gzip")
                if name in s.no_length:
                    self.send_header("Connection", "close")
                    self.close_connection = True
                else:
                    self.send_header("Content-Length", str(len(chunk)))
                if status == 206:
                    self.send_header("Content-Range", f"bytes {start}-{end}/{len(data)}")
                self.end_headers()
                with server.lock:
                    cut = s.drop.pop(name, None)
                if cut is not None:
                    self._send(s, name, chunk[:cut])
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                self._send(s, name, chunk)

            def _send(self, s: DdiState, name: str, data: bytes) -> None:
                if name in s.trickle:
                    sent = self._drip(data)
                    with server.lock:
                        s.served[name] = s.served.get(name, 0) + sent
                    return
                sent = 0
                try:
                    for i in range(0, len(data), 1 << 16):
                        self.wfile.write(data[i:i + (1 << 16)])
                        sent += len(data[i:i + (1 << 16)])
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client stopped reading (a refused body)
                finally:
                    with server.lock:
                        s.served[name] = s.served.get(name, 0) + sent

            def do_POST(self) -> None:
                if not self._authorised():
                    return self._empty(401)
                body = self._body()
                with server.lock:
                    if "/cancelAction/" in self.path:
                        server.state.cancel_feedback.append(body)
                        server.state.cancel_id = None
                        server.state.action_id = None
                    elif "/deploymentBase/" in self.path:
                        server.state.feedback.append(body)
                        if body["status"]["execution"] == "closed":
                            server.state.action_id = None
                    else:
                        return self._empty(404)
                return self._empty(200)

            def do_PUT(self) -> None:
                if not self._authorised():
                    return self._empty(401)
                with server.lock:
                    server.state.config_data.append(self._body())
                return self._empty(200)

        return Handler
