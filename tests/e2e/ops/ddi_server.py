"""A hawkBit DDI test server on 127.0.0.1, written from the published DDI API:
controller base (ETag, polling sleep, links), deploymentBase, artifact download with
Range, feedback, cancelAction, configData; plus fault injection for the tests."""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


@dataclass
class DdiState:
    tenant: str = "DEFAULT"
    controller: str = "kiosk-01"
    token: str = "secret-target-token"
    action_id: str | None = None
    artifact: bytes = b""
    artifact_name: str = "kiosk.tar"
    version: str = ""
    update: str = "attempt"
    maintenance_window: str | None = None
    cancel_id: str | None = None
    artifact_status: int | None = None  # e.g. 404
    drop_after: int | None = None  # first download closes after this many bytes
    poll_429: int = 0  # answer 429 to this many polls first
    feedback: list[dict[str, Any]] = field(default_factory=list)
    cancel_feedback: list[dict[str, Any]] = field(default_factory=list)
    config_data: list[dict[str, Any]] = field(default_factory=list)
    downloads: list[str | None] = field(default_factory=list)  # Range headers seen
    polls: int = 0

    def offer(self, action_id: str, artifact: Path | bytes, version: str, **kw: Any) -> None:
        self.action_id = action_id
        self.artifact = artifact.read_bytes() if isinstance(artifact, Path) else artifact
        self.version = version
        for k, v in kw.items():
            setattr(self, k, v)

    @property
    def last_feedback(self) -> dict[str, Any]:
        return self.feedback[-1]["status"]


class DdiServer:
    def __init__(self) -> None:
        self.state = DdiState()
        self.lock = threading.Lock()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def start(self) -> DdiServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

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

            def _empty(self, status: int) -> None:
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def _body(self) -> Any:
                n = int(self.headers.get("Content-Length", "0"))
                return json.loads(self.rfile.read(n) or b"{}")

            def _authorised(self) -> bool:
                s = server.state
                if self.path.startswith("/artifacts/"):
                    return True
                return self.headers.get("Authorization") == f"TargetToken {s.token}"

            def _base(self) -> str:
                s = server.state
                return f"{server.url}/{s.tenant}/controller/v1/{s.controller}"

            def do_GET(self) -> None:
                if not self._authorised():
                    return self._empty(401)
                s = server.state
                base_path = self._base().removeprefix(server.url)
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
                        etag = '"' + hashlib.sha1(json.dumps(body).encode()).hexdigest() + '"'
                        if self.headers.get("If-None-Match") == etag:
                            return self._empty(304)
                        return self._json(200, body, {"ETag": etag})
                    if self.path.startswith(f"{base_path}/deploymentBase/"):
                        sha = hashlib.sha256(s.artifact).hexdigest()
                        return self._json(200, {"id": s.action_id, "deployment": {
                            "download": s.update, "update": s.update,
                            **({"maintenanceWindow": s.maintenance_window}
                               if s.maintenance_window else {}),
                            "chunks": [{"part": "os", "version": s.version, "name": "kiosk",
                                        "artifacts": [{
                                            "filename": s.artifact_name, "size": len(s.artifact),
                                            "hashes": {"sha256": sha},
                                            "_links": {"download-http": {
                                                "href": f"{server.url}/artifacts/{s.artifact_name}"}}}]}]}})
                    if self.path.startswith(f"{base_path}/cancelAction/"):
                        return self._json(200, {"id": s.cancel_id,
                                                "cancelAction": {"stopId": s.action_id}})
                    if self.path.startswith("/artifacts/"):
                        s.downloads.append(self.headers.get("Range"))
                        if s.artifact_status:
                            return self._empty(s.artifact_status)
                        return self._artifact(s)
                return self._empty(404)

            def _artifact(self, s: DdiState) -> None:
                data, start, status = s.artifact, 0, 200
                rng = self.headers.get("Range")
                if rng and rng.startswith("bytes="):
                    start = int(rng[6:].split("-")[0])
                    status = 206
                chunk = data[start:]
                self.send_response(status)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(len(chunk)))
                if status == 206:
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                self.end_headers()
                if s.drop_after is not None:
                    cut, s.drop_after = s.drop_after, None
                    self.wfile.write(chunk[:cut])
                    self.wfile.flush()
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                self.wfile.write(chunk)

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
