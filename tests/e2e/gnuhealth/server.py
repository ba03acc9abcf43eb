"""A real GNU Health server on 127.0.0.1 for end-to-end tests (GNUHEALTH.md).

The database (modules + the master data a registration needs) is built once and
cached under .cache/ by GNU Health version; each test copies the SQLite file and
starts its own `trytond` on a free port.
"""

from __future__ import annotations

import base64
import json
import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[3]
VENV = ROOT / ".cache" / "gnuhealth-venv"
PASSWORD = "kiosk-test-admin"
DB = "health"
FACILITY = "01824"


def gnuhealth_version() -> str:
    out = subprocess.run([str(VENV / "bin" / "python"), "-c",
                          "import importlib.metadata as m; print(m.version('gnuhealth'))"],
                         capture_output=True, text=True, check=True, timeout=60)
    return out.stdout.strip()


def _conf(directory: Path, port: int) -> Path:
    conf = directory / "trytond.conf"
    conf.write_text(f"[database]\nuri = sqlite://\npath = {directory}\n"
                    f"[web]\nlisten = 127.0.0.1:{port}\n")
    return conf


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Rpc:
    def __init__(self, url: str) -> None:
        self.url = url
        self.s = requests.Session()
        uid, key = self("common.db.login", "admin", {"password": PASSWORD}, "en", ctx=False)
        token = base64.b64encode(f"admin:{uid}:{key}".encode()).decode()
        self.s.headers["Authorization"] = f"Session {token}"
        self.ctx = self("model.res.user.get_preferences", True, {}, ctx=False)

    def __call__(self, method: str, *params: Any, ctx: bool = True) -> Any:
        body = {"method": method, "params": [*params, self.ctx] if ctx else list(params), "id": 1}
        data = self.s.post(self.url, json=body, timeout=60).json()
        if data.get("error"):
            raise RuntimeError(json.dumps(data["error"])[:500])
        return data["result"]

    def create(self, model: str, values: dict[str, Any]) -> int:
        return int(self(f"model.{model}.create", [values])[0])


def _seed(url: str) -> None:
    """Master data a registration needs: currency, country, hospital + company,
    the admin's company, the institution, a health professional, the insurer."""
    rpc = Rpc(url)
    cur = rpc.create("currency.currency", {"name": "Vietnamese Dong", "code": "VND", "digits": 0,
                                           "rounding": {"__class__": "Decimal", "decimal": "1"},
                                           "symbol": "₫"})
    rpc.create("country.country", {"name": "Viet Nam", "code": "VN"})
    hospital = rpc.create("party.party", {"name": "Bệnh viện Đa khoa Minh An",
                                          "is_institution": True, "fed_country": "VN"})
    company = rpc.create("company.company", {"party": hospital, "currency": cur})
    uid = rpc("model.res.user.search", [["login", "=", "admin"]], 0, 1, None)[0]
    rpc("model.res.user.write", [uid], {"companies": [["add", [company]]], "company": company})
    rpc.create("gnuhealth.institution", {"party": hospital, "code": FACILITY,
                                         "institution_type": "hospital", "public_level": "public"})
    doctor = rpc.create("party.party", {"name": "Kiosk", "lastname": "Bác sĩ", "is_person": True,
                                        "is_healthprof": True, "fed_country": "VN",
                                        "gender": "f"})
    rpc.create("gnuhealth.healthprofessional", {"party": doctor})
    rpc.create("party.party", {"name": "Bảo hiểm xã hội Việt Nam",
                               "is_insurance_company": True, "fed_country": "VN"})


class GnuHealthServer:
    def __init__(self, directory: Path, port: int | None = None) -> None:
        self.directory = directory
        self.port = port or _free_port()
        self.conf = _conf(directory, self.port)
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> GnuHealthServer:
        self.proc = subprocess.Popen(
            [str(VENV / "bin" / "trytond"), "-c", str(self.conf), "-d", DB],
            stdout=subprocess.DEVNULL, stderr=(self.directory / "server.log").open("wb"))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                requests.post(f"{self.url}/{DB}/", json={"method": "common.server.version",
                                                         "params": [], "id": 0}, timeout=2)
                return self
            except requests.ConnectionError:
                if self.proc.poll() is not None:
                    log = (self.directory / "server.log").read_text()[-2000:]
                    raise RuntimeError(log) from None
                time.sleep(0.2)
        raise RuntimeError("GNU Health did not start within 60 s")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)

    def rpc(self) -> Rpc:
        return Rpc(f"{self.url}/{DB}/")


def built_database(cache: Path) -> Path:
    """The seeded database file, built once per GNU Health version."""
    target = cache / f"gnuhealth-{gnuhealth_version()}" / f"{DB}.sqlite"
    if target.exists():
        return target
    work = target.parent / "build"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    (work / f"{DB}.sqlite").touch()
    password_file = work / "admin-password"
    password_file.write_text(PASSWORD)
    conf = _conf(work, _free_port())
    env = {"TRYTONPASSFILE": str(password_file), "PATH": "/usr/bin:/bin"}
    admin = str(VENV / "bin" / "trytond-admin")
    subprocess.run([admin, "-c", str(conf), "-d", DB, "--all", "--email", "admin@example.org"],
                   env=env, check=True, capture_output=True, timeout=600)
    subprocess.run([admin, "-c", str(conf), "-d", DB, "-u", "health",
                    "--activate-dependencies"], env=env, check=True, capture_output=True,
                   timeout=900)
    server = GnuHealthServer(work).start()
    try:
        _seed(f"{server.url}/{DB}/")
    finally:
        server.stop()
    (work / f"{DB}.sqlite").replace(target)
    shutil.rmtree(work, ignore_errors=True)
    return target
