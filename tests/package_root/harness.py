"""What surrounds a kiosk in scripts/acceptance-scratch-root.sh: test harness, not package.

The script runs the kiosk (installed from its .deb) in a scratch Debian root, in a
network namespace of its own, so the servers below listen on the very names and ports
the provisioning file gives, and nothing here reaches another test's:

* `prepare WORK ROOT PROVISIONING`: a test CA and a server certificate for the BHXH
  gateway's and the HIS's host names (the CA goes where a technician puts a hospital CA:
  ROOT/usr/local/share/ca-certificates/); the virtual CCCD's CSCA/DS (WORK/pki, the
  trust store the kiosk gets); the provisioning file (`kiosk config new` as the root's
  kiosk printed it) filled in as tests/config_helpers.py does, with the virtual reader's
  name, a network printer and the HIS's address.
* `serve WORK`: the BHXH gateway simulator (https://egw.baohiemxahoi.gov.vn, 443) that
  knows the facility's account and the test card, a FHIR test server (its base
  https://his.benhvien.vn:8443), an ESC/POS network printer on 9100 that answers
  status queries and keeps what it is sent, and `kiosk card simulate` (this checkout's)
  serving the test card to the root's pcscd through vpcd (35963). WORK/ready appears when
  all listen; SIGTERM stops them and writes WORK/served.json (what each one received).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import threading
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from drivers.virtual.cccd_pki import load_or_generate
from kiosk.services.bhxh.simulator import BhxhGatewaySimulator, load_dataset
from kiosk.services.his.fhir.server import FhirTestServer
from tests.chip_identity import BASE
from tests.config_helpers import FILLED, filled_new_config

PROJECT = Path(__file__).resolve().parents[2]
BHXH_HOST, HIS_HOST = "egw.baohiemxahoi.gov.vn", "his.benhvien.vn"
HIS_PORT, PRINTER_PORT, VPCD_PORT = 8443, 9100, 35963
CA_NAME = "kiosk-acceptance-test-ca.crt"
READER = "Virtual PCD"


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _certificates(work: Path) -> bytes:
    """A CA and the servers' certificate (both host names, and 127.0.0.1); the CA's PEM."""
    now = dt.datetime.now(dt.UTC)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(
        ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Kiosk acceptance test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=7))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False,
                                       False), critical=True)
          .sign(ca_key, hashes.SHA256()))
    names = [x509.DNSName(BHXH_HOST), x509.DNSName(HIS_HOST),
             x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, BHXH_HOST)]))
            .issuer_name(ca_name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=7))
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .sign(ca_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    (work / "server.pem").write_bytes(cert.public_bytes(pem) + ca.public_bytes(pem))
    (work / "server.key").write_bytes(_key_pem(key))
    return ca.public_bytes(pem)


def prepare(work: Path, root: Path, provisioning: Path) -> None:
    work.mkdir(parents=True, exist_ok=True)
    ca_dir = root / "usr/local/share/ca-certificates"
    ca_dir.mkdir(parents=True, exist_ok=True)
    (ca_dir / CA_NAME).write_bytes(_certificates(work))
    load_or_generate(work / "pki")  # the card's CSCA: WORK/pki/trust
    (work / "identity.json").write_text(json.dumps(BASE, ensure_ascii=False), "utf-8")
    provisioning.write_text(filled_new_config(
        provisioning.read_text("utf-8"),
        **{'reader = "auto"': f'reader = "{READER}"',
           'kind = "usb"': 'kind = "network"',
           'target = "0416:5011"': f'target = "127.0.0.1:{PRINTER_PORT}"',
           f'url = "https://{HIS_HOST}/fhir"': f'url = "https://{HIS_HOST}:{HIS_PORT}"'}),
        "utf-8")


def _dataset() -> dict:
    """The simulator's cards, the facility's account as the provisioning file gives it,
    and the test card insured here (BASE: the virtual CCCD's holder)."""
    data = load_dataset()
    password = FILLED['password = ""'].split('"')[1]
    data["accounts"] = [{"username": "01824_BV", "password": password}]
    born = dt.date.fromisoformat(BASE["date_of_birth"]).strftime("%d/%m/%Y")
    model = next(c for c in data["cards"] if c.get("maKetQua") == "000")
    data["cards"].append({**model, "_case": "acceptance test card", "keys": [BASE["id_number"]],
                          "maThe": "GD4010190123456", "hoTen": BASE["full_name"],
                          "ngaySinh": born, "maDKBD": "01824", "gtTheTu": "01/01/2025",
                          "gtTheDen": "31/12/2030", "maSoBHXH": "0190123456"})
    return data


class PrinterSink:
    """An ESC/POS network printer: answers DLE EOT 1/4 (online, paper present) and keeps
    the bytes of each connection (one ticket each)."""

    def __init__(self, port: int) -> None:
        self.jobs: list[bytes] = []
        self.server = socket.create_server(("127.0.0.1", port))
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            threading.Thread(target=self._job, args=(conn,), daemon=True).start()

    def _job(self, conn: socket.socket) -> None:
        received = b""
        with conn:
            conn.settimeout(30)
            while chunk := conn.recv(65536):
                received += chunk
                if received.endswith(b"\x10\x04\x01"):
                    conn.sendall(b"\x16")
                elif received.endswith(b"\x10\x04\x04"):
                    conn.sendall(b"\x12")
        if received.strip(b"\x10\x04\x01\x04"):
            self.jobs.append(received)

    def close(self) -> None:
        self.server.close()


def serve(work: Path) -> None:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(work / "server.pem", work / "server.key")
    bhxh = BhxhGatewaySimulator(_dataset(), port=443, ssl_context=context)
    bhxh.start()
    fhir = FhirTestServer(port=HIS_PORT, ssl_context=context)
    fhir.start()
    printer = PrinterSink(PRINTER_PORT)
    card = subprocess.Popen(
        [str(PROJECT / ".venv/bin/kiosk"), "card", "simulate", "--identity",
         str(work / "identity.json"), "--vpcd-port", str(VPCD_PORT), "--pki", str(work / "pki")],
        stdout=subprocess.PIPE, text=True)
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    assert card.stdout is not None
    print(card.stdout.readline().strip(), flush=True)  # "virtual CCCD ready …"
    (work / "ready").touch()
    stopping.wait()
    card.terminate()
    card.wait(timeout=10)
    bhxh.stop()
    fhir.stop()
    printer.close()
    (work / "served.json").write_text(json.dumps({
        "bhxh": {**bhxh.stats, "last_check": bhxh.last_check},
        "his": {kind: len(fhir.resources(kind)) for kind in ("Patient", "Encounter",
                                                              "Coverage")},
        "printer": [len(job) for job in printer.jobs],
    }, ensure_ascii=False, indent=1), "utf-8")


if __name__ == "__main__":
    os.umask(0o022)
    command, *args = sys.argv[1:]
    if command == "prepare":
        prepare(Path(args[0]), Path(args[1]), Path(args[2]))
    elif command == "serve":
        serve(Path(args[0]))
    else:
        raise SystemExit(f"unknown command {command!r}")
