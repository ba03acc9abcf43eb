"""Reusable pcscd + vpcd fixtures: a real pcscd with the vsmartcard-vpcd reader.

Every test session starts its own pcscd and never uses another's (issue 25). pcsc-lite
1.9.9's daemon always listens on /run/pcscd/pcscd.comm, so it runs in a private mount
namespace (`unshare -m`) where /run/pcscd is this session's own folder; the clients
(pyscard in this process, `kiosk` subprocesses) reach it through libpcsclite's
`PCSCLITE_CSOCK_NAME`, which tests/conftest.py points at that folder before anything
opens a PC/SC context (libpcsclite reads it once). Its vpcd reader ("Virtual PCD 00
00") listens on free ports of its own (P and P+1), not the standard 35963/35964. Measured here: a
client without the variable gets "Service not available" while this pcscd serves, so
nothing of one session's readers or cards reaches another. No lock is needed: sessions
share neither the socket nor the port (the machine's own pcscd, if any, is untouched).

Use from a conftest:

    from tests.e2e.pcsc_fixtures import pcscd, virtual_card_server  # noqa: F401

`pcscd` (session) yields a `Pcscd` with `.port`; `virtual_card_server(card)`
is a context manager serving a card through vpcd until exit; `simulate` (and
`simulating`, with quirk profiles) serves `BASE` with the real `kiosk card simulate`
and yields its trust store.
"""

from __future__ import annotations

import contextlib
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

VPCD_DRIVER = "/usr/lib/pcsc/drivers/serial/libifdvpcd.so"
READER = "Virtual PCD 00 00"


def session_socket() -> Path:
    """This session's pcscd socket: tests/conftest.py sets the variable; a benchmark
    script gets it here (before its first PC/SC context, as libpcsclite needs)."""
    return Path(os.environ.setdefault("PCSCLITE_CSOCK_NAME", os.path.join(
        tempfile.gettempdir(), f"kiosk-tests-pcscd-{os.getpid()}", "pcscd.comm")))


@dataclass
class Pcscd:
    port: int
    reader: str
    socket: Path
    process: subprocess.Popen[bytes]


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _free_ports() -> int:
    """A port P with P+1 free too: vpcd's driver serves two readers (00 00 on P,
    00 01 on P+1), and either taken makes pcscd drop the reader."""
    for _ in range(50):
        with socket.socket() as first:
            first.bind(("0.0.0.0", 0))
            port = int(first.getsockname()[1])
            with socket.socket() as second:
                try:
                    second.bind(("0.0.0.0", port + 1))
                except OSError:
                    continue
                return port
    raise RuntimeError("no two consecutive free ports for vpcd")


def _socket_alive(path: Path) -> bool:
    if not path.exists():
        return False
    with socket.socket(socket.AF_UNIX) as s:
        try:
            s.connect(str(path))
            return True
        except OSError:
            return False


def available() -> str | None:
    """Why pcscd tests cannot run here, or None."""
    if not shutil.which("pcscd"):
        return "pcscd is not installed (debian-packages.txt: pcscd)"
    if not os.path.exists(VPCD_DRIVER):
        return "vsmartcard-vpcd is not installed"
    if os.geteuid() != 0 or not shutil.which("unshare"):
        return "a private pcscd needs root (a mount namespace: unshare -m)"
    return None


@contextlib.contextmanager
def running_pcscd(timeout: float = 10.0) -> Iterator[Pcscd]:
    why = available()
    if why:
        pytest.skip(why)
    sock = session_socket()
    sock.parent.mkdir(parents=True, exist_ok=True)
    conf = Path(tempfile.mkdtemp(prefix="kiosk-pcscd-"))
    port = _free_ports()
    (conf / "vpcd").write_text(
        'FRIENDLYNAME "Virtual PCD"\n'
        f"DEVICENAME   /dev/null:0x{port:04X}\n"
        f"LIBPATH      {VPCD_DRIVER}\n"
        f"CHANNELID    0x{port:04X}\n"
    )
    Path("/run/pcscd").mkdir(parents=True, exist_ok=True)  # the mount point
    log = (conf / "pcscd.log").open("wb")
    # /run/pcscd, in pcscd's own mount namespace only, is this session's folder.
    proc = subprocess.Popen(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c",
         'mount --bind "$1" /run/pcscd && exec pcscd --foreground --config "$2"', "sh",
         str(sock.parent), str(conf)],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    log.close()
    try:
        deadline = time.monotonic() + timeout
        while not (_socket_alive(sock) and _port_open(port)):
            if proc.poll() is not None or time.monotonic() > deadline:
                said = (conf / "pcscd.log").read_text(errors="replace")[-1500:]
                raise RuntimeError(f"pcscd with vpcd did not come up:\n{said}")
            time.sleep(0.05)
        yield Pcscd(port, READER, sock, proc)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        shutil.rmtree(conf, ignore_errors=True)
        for name in ("pcscd.comm", "pcscd.pid"):
            (sock.parent / name).unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            sock.parent.rmdir()


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
