"""A throwaway PostgreSQL server (Debian's postgresql-15 binaries) for the lobby tests.

initdb into a fresh directory under /tmp, TLS with a CA made here, listening on
127.0.0.1 on a free port. PostgreSQL refuses to run as root, so as root (CI) the
server runs as `nobody`; as anyone else it runs as that user. The roles mirror
docs/deployment.md: an owner of the lobby database, the `lobby_kiosk` group role,
one login per kiosk, and `kiosk_tls`, which pg_hba lets in over TLS only.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import ipaddress
import itertools
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

BIN = Path("/usr/lib/postgresql/15/bin")
SUPER_PASSWORD = "test-super-pw"
OWNER, OWNER_PASSWORD = "lobby_owner", "owner-pw"
KIOSK_PASSWORD = "kiosk-pw"  # every kiosk login's password in the tests
KIOSK_ROLES = ("kiosk_k1", "kiosk_k2", "kiosk_k3", "kiosk_k4", "kiosk_tls")
KIOSK_CONNECTION_LIMIT = 4  # as docs/deployment.md has the DBA create kiosk logins


def _parent_pid(stat: Path) -> int:
    """The parent of a /proc/PID/stat's process (0 once it is gone)."""
    try:
        return int(stat.read_text().rsplit(")", 1)[1].split()[1])
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return 0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def make_ca(directory: Path, name: str = "Lobby test CA") -> tuple[Path, object, object]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(hours=1))
            .not_valid_after(now + dt.timedelta(days=2))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .sign(key, hashes.SHA256()))
    path = directory / f"{name.replace(' ', '-').lower()}.pem"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path, cert, key


def server_cert(ca_cert: x509.Certificate, ca_key: ec.EllipticCurvePrivateKey
                ) -> tuple[bytes, bytes]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
            .issuer_name(ca_cert.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(hours=1))
            .not_valid_after(now + dt.timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]),
                critical=False)
            .sign(ca_key, hashes.SHA256()))
    return (cert.public_bytes(serialization.Encoding.PEM),
            key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()))


class PgCluster:
    def __init__(self, *, durable: bool = False) -> None:
        self.durable = durable  # fsync on, as a real server (the benchmark)
        self.base = Path(tempfile.mkdtemp(prefix="kiosk-lobby-pg-", dir="/tmp"))
        self.data = self.base / "data"
        self.port = free_port()
        self.run_as = "nobody" if os.geteuid() == 0 else None
        self.ca_path, ca_cert, ca_key = make_ca(self.base)
        self.other_ca_path, _, _ = make_ca(self.base, "Some other CA")
        self._cert = server_cert(ca_cert, ca_key)  # type: ignore[arg-type]
        self._db_counter = itertools.count(1)

    # -- process control -------------------------------------------------------------
    def _cmd(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        cmd = [str(a) for a in args]
        if self.run_as:
            cmd = ["runuser", "-u", self.run_as, "--", *cmd]
        return subprocess.run(cmd, capture_output=True, text=True, check=check, timeout=120,
                              cwd=self.base, env={**os.environ, "LC_ALL": "C.UTF-8"})

    def init(self) -> None:
        os.chmod(self.base, 0o755)  # nobody reads the CA files, writes its data dir
        self.data.mkdir()
        pwfile = self.base / "pw"
        pwfile.write_text(SUPER_PASSWORD)
        if self.run_as:
            user = pwd.getpwnam(self.run_as)
            for path in (self.data, pwfile):
                os.chown(path, user.pw_uid, user.pw_gid)
        self._cmd(BIN / "initdb", "-D", self.data, "-U", "postgres", "-E", "UTF8",
                  "--auth-local=trust", "--auth-host=scram-sha-256", f"--pwfile={pwfile}")
        pwfile.unlink()
        crt, key = self._cert
        (self.data / "server.crt").write_bytes(crt)
        (self.data / "server.key").write_bytes(key)
        os.chmod(self.data / "server.key", 0o600)
        if self.run_as:
            user = pwd.getpwnam(self.run_as)
            for name in ("server.crt", "server.key"):
                os.chown(self.data / name, user.pw_uid, user.pw_gid)
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write(f"listen_addresses = '127.0.0.1'\nport = {self.port}\n"
                       f"unix_socket_directories = '{self.data}'\n"
                       "ssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\n"
                       "max_connections = 120\nshared_buffers = 32MB\n")
            if not self.durable:  # a test server: throughput over durability (the
                # kiosks' own SQLite files keep synchronous=FULL)
                conf.write("fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n")
        (self.data / "pg_hba.conf").write_text(
            "local all all trust\n"
            "hostssl all kiosk_tls 127.0.0.1/32 scram-sha-256\n"
            "host all kiosk_tls 127.0.0.1/32 reject\n"
            "host all all 127.0.0.1/32 scram-sha-256\n")

    def start(self) -> None:
        self._cmd(BIN / "pg_ctl", "-D", self.data, "-l", self.data / "server.log", "-w",
                  "-t", "60", "start")

    def stop(self, mode: str = "fast") -> None:
        self._cmd(BIN / "pg_ctl", "-D", self.data, "-m", mode, "-w", "stop", check=False)

    def crash(self) -> None:
        """kill -9 the postmaster and every process it started: a crash, losing whatever
        only shared memory held (WAL not yet written: asynchronous commits). `start()`
        then runs crash recovery."""
        postmaster = int((self.data / "postmaster.pid").read_text().split()[0])
        children = [int(stat.parent.name) for stat in Path("/proc").glob("[0-9]*/stat")
                    if _parent_pid(stat) == postmaster]
        for pid in [postmaster, *children]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 30
        # gone, not just dead: the next postmaster takes a zombie's pid file for a server
        while any(Path(f"/proc/{pid}").exists() for pid in [postmaster, *children]):
            assert time.monotonic() < deadline, "PostgreSQL outlived kill -9"
            time.sleep(0.01)

    def remove(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.base, ignore_errors=True)

    # -- SQL ---------------------------------------------------------------------------
    def url(self, user: str, db: str) -> str:
        return f"postgresql://{user}@127.0.0.1:{self.port}/{db}"

    def sql(self, statement: str, db: str = "postgres", user: str = "postgres",
            password: str = SUPER_PASSWORD) -> list[tuple[object, ...]]:
        import psycopg

        with psycopg.connect(self.url(user, db), password=password, autocommit=True,
                             sslmode="disable" if user != "kiosk_tls" else "require") as conn:
            cur = conn.execute(statement)  # type: ignore[arg-type]
            return cur.fetchall() if cur.description else []

    def setup_roles(self) -> None:
        """As docs/deployment.md tells the DBA."""
        self.sql(f"CREATE ROLE {OWNER} LOGIN PASSWORD '{OWNER_PASSWORD}'")
        # the owner sees and ends kiosk sessions squatting on a lock (decision 0131)
        self.sql(f"GRANT pg_signal_backend, pg_read_all_stats TO {OWNER}")
        self.sql("CREATE ROLE lobby_kiosk NOLOGIN")
        for role in KIOSK_ROLES:
            self.sql(f"CREATE ROLE {role} LOGIN PASSWORD '{KIOSK_PASSWORD}' "
                     f"CONNECTION LIMIT {KIOSK_CONNECTION_LIMIT} IN ROLE lobby_kiosk")

    def new_database(self) -> str:
        name = f"lobby_{next(self._db_counter)}"
        self.sql(f"CREATE DATABASE {name} OWNER {OWNER}")
        self.sql(f"REVOKE ALL ON DATABASE {name} FROM PUBLIC")
        self.sql(f"GRANT CONNECT ON DATABASE {name} TO lobby_kiosk")
        return name

    def wait_down(self, timeout_s: float = 30) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) != 0:
                    return
            time.sleep(0.05)
        raise TimeoutError("PostgreSQL did not stop")
