"""Reusable pcscd + vpcd fixtures: a real pcscd with the vsmartcard-vpcd reader.

pcsc-lite 1.9.9's daemon always uses /run/pcscd/pcscd.comm, so one pcscd
serves the whole machine. The fixture starts a private pcscd (foreground,
its own reader.conf.d with vpcd on the standard port 35963 = reader
"Virtual PCD 00 00") unless one is already serving, and stops only what it
started. A file lock serialises test sessions that want pcscd at the same time.

Use from a conftest:

    from tests.e2e.pcsc_fixtures import pcscd, virtual_card_server  # noqa: F401

`pcscd` (session) yields a `Pcscd` with `.port`; `virtual_card_server(card)`
is a context manager serving a card through vpcd until exit; `simulate` (and
`simulating`, with quirk profiles) serves `BASE` with the real `kiosk card simulate`
and yields its trust store.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from drivers.virtual.vpcd import Card, VpcdCard
from tests.chip_identity import BASE
from tests.cli_helpers import KIOSK

VPCD_PORT = 35963
VPCD_DRIVER = "/usr/lib/pcsc/drivers/serial/libifdvpcd.so"
SOCKET = Path("/run/pcscd/pcscd.comm")
LOCK = Path(tempfile.gettempdir()) / "kiosk-pcscd-tests.lock"
READER = "Virtual PCD 00 00"


@dataclass
class Pcscd:
    port: int
    reader: str
    started_here: bool
    process: subprocess.Popen[bytes] | None


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _socket_alive() -> bool:
    if not SOCKET.exists():
        return False
    with socket.socket(socket.AF_UNIX) as s:
        try:
            s.connect(str(SOCKET))
            return True
        except OSError:
            return False


def _remove_stale_files() -> None:
    """A pcscd killed without cleanup (a machine stopped mid-run) leaves its socket and
    pid file; pcscd refuses to start if that old pid now belongs to a live process."""
    if SOCKET.exists() and not _socket_alive():
        SOCKET.unlink(missing_ok=True)
        (SOCKET.parent / "pcscd.pid").unlink(missing_ok=True)


def available() -> str | None:
    """Why pcscd tests cannot run here, or None."""
    if not shutil.which("pcscd"):
        return "pcscd is not installed (debian-packages.txt: pcscd)"
    if not os.path.exists(VPCD_DRIVER):
        return "vsmartcard-vpcd is not installed"
    if os.geteuid() != 0 and not _socket_alive():
        return "starting pcscd needs root"
    return None


@contextlib.contextmanager
def running_pcscd(timeout: float = 10.0) -> Iterator[Pcscd]:
    why = available()
    if why:
        pytest.skip(why)
    lock = LOCK.open("w")
    fcntl.flock(lock, fcntl.LOCK_EX)
    proc: subprocess.Popen[bytes] | None = None
    conf = Path(tempfile.mkdtemp(prefix="kiosk-pcscd-"))
    try:
        if _socket_alive() and _port_open(VPCD_PORT):
            yield Pcscd(VPCD_PORT, READER, False, None)
            return
        (conf / "vpcd").write_text(
            'FRIENDLYNAME "Virtual PCD"\n'
            f"DEVICENAME   /dev/null:0x{VPCD_PORT:04X}\n"
            f"LIBPATH      {VPCD_DRIVER}\n"
            f"CHANNELID    0x{VPCD_PORT:04X}\n"
        )
        Path("/run/pcscd").mkdir(parents=True, exist_ok=True)
        _remove_stale_files()
        log = (conf / "pcscd.log").open("wb")
        proc = subprocess.Popen(
            ["pcscd", "--foreground", "--config", str(conf)],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        log.close()
        deadline = time.monotonic() + timeout
        while not (_socket_alive() and _port_open(VPCD_PORT)):
            if proc.poll() is not None or time.monotonic() > deadline:
                said = (conf / "pcscd.log").read_text(errors="replace")[-1500:]
                raise RuntimeError(f"pcscd with vpcd did not come up:\n{said}")
            time.sleep(0.05)
        yield Pcscd(VPCD_PORT, READER, True, proc)
    finally:
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        shutil.rmtree(conf, ignore_errors=True)
        fcntl.flock(lock, fcntl.LOCK_UN)
        lock.close()


@pytest.fixture(scope="session")
def pcscd() -> Iterator[Pcscd]:
    with running_pcscd() as d:
        yield d


def wait_card_state(reader: str, present: bool, timeout: float = 5.0) -> None:
    from drivers.pcsc import list_readers

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for r in list_readers():
            if r.name == reader and r.card_present == present:
                return
        time.sleep(0.02)
    raise TimeoutError(f"card on {reader} did not become {'present' if present else 'absent'}")


@contextlib.contextmanager
def virtual_card_server(
    card: Card, daemon: Pcscd, *, remove_after: int | None = None
) -> Iterator[VpcdCard]:
    """Serve `card` through vpcd; waits until pcscd sees it, removes it on exit."""
    server = VpcdCard(card, port=daemon.port, remove_after=remove_after).start()
    try:
        wait_card_state(daemon.reader, True)
        yield server
    finally:
        server.stop()
        with contextlib.suppress(TimeoutError):
            wait_card_state(daemon.reader, False, timeout=3)




@contextlib.contextmanager
def simulating(daemon: Pcscd, pki_dir: Path, quirks: str | None = None) -> Iterator[Path]:
    """`kiosk card simulate` serving BASE through vpcd (its CSCA/DS kept in `pki_dir`,
    so several sessions share one); yields the trust store."""
    ident = pki_dir / "identity.json"
    ident.parent.mkdir(parents=True, exist_ok=True)
    ident.write_text(json.dumps(BASE, ensure_ascii=False), encoding="utf-8")
    proc = subprocess.Popen(
        [KIOSK, "card", "simulate", "--identity", str(ident), "--vpcd-port", str(daemon.port),
         "--pki", str(pki_dir / "pki"), *(["--quirks", quirks] if quirks else [])],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=dict(os.environ),
    )  # fmt: skip
    try:
        wait_card_state(daemon.reader, True, timeout=20)
        yield pki_dir / "pki" / "trust"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        wait_card_state(daemon.reader, False, timeout=5)


@pytest.fixture
def simulate(pcscd: Pcscd, tmp_path: Path) -> Iterator[Path]:
    """`kiosk card simulate` serving BASE through vpcd; yields its trust store."""
    with simulating(pcscd, tmp_path) as trust:
        yield trust
