"""`make test-arm64`: the arm64 package, built on this machine, checked and installed in
an emulated Raspberry Pi OS root (bookworm arm64, tests/arm64/pi_root.py), then run.

Not part of `make test` (minutes of emulation; the file's name keeps pytest's
collection of tests/ away from it). KIOSK_ARM64_DEB=path tests a package already
built instead of running `make deb ARCH=arm64`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from kiosk.ops.release import generate_key, verify_bundle
from tests.arm64 import pi_root
from tests.chip_identity import BASE
from tests.config_helpers import filled_new_config
from tests.e2e.pcsc_fixtures import Pcscd, pcscd, simulate  # noqa: F401  (fixtures)

PROJECT = Path(__file__).resolve().parents[2]
PACKAGE = "vn-hospital-kiosk"
KIOSK = "/usr/bin/kiosk"
TIMINGS: dict[str, float] = {}


def run(*cmd: str, **kw) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=1800, check=False, **kw)


@pytest.fixture(scope="session", autouse=True)
def print_timings():
    """The steps' times, printed at the end (`make test-arm64` runs pytest -s)."""
    yield
    print()
    for what, seconds in TIMINGS.items():
        print(f"{seconds:8.1f} s  {what}")


@pytest.fixture(scope="session")
def deb(tmp_path_factory):
    given = os.environ.get("KIOSK_ARM64_DEB")
    if given:
        return Path(given).resolve()
    dist = tmp_path_factory.mktemp("dist")
    started = time.monotonic()
    proc = run("make", "-s", "deb", "ARCH=arm64", f"DIST={dist}", "DEB_COMPRESS=gzip",
               "DEB_LINTIAN=no", cwd=PROJECT)
    TIMINGS["make deb ARCH=arm64"] = time.monotonic() - started
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    (path,) = dist.glob("*.deb")
    return path


@pytest.fixture(scope="session")
def lintian(deb, tmp_path_factory):
    """Started at once, collected by the last test: it reads ~6000 files."""
    log = tmp_path_factory.mktemp("lintian") / "lintian.log"
    with log.open("w") as out:
        proc = subprocess.Popen(["lintian", "--tag-display-limit", "0", "--fail-on", "error",
                                 str(deb)], stdout=out, stderr=subprocess.STDOUT)
    yield proc, log
    if proc.poll() is None:
        proc.kill()
        proc.wait()


@pytest.fixture(scope="session")
def pi(deb, lintian, tmp_path_factory):
    """A copy of the cached root with the package installed by apt, inside proot."""
    started = time.monotonic()
    cached = (pi_root.CACHE / pi_root.STAMP).exists()
    root = pi_root.copy(tmp_path_factory.mktemp("pi") / "root")
    TIMINGS["emulated root (" + ("cached, copied" if cached else "built") + ")"] = (
        time.monotonic() - started)
    shutil.copy(deb, root / "tmp" / deb.name)
    started = time.monotonic()
    proc = pi_root.proot(root, "apt-get", "install", "-y", "-q", "--no-install-recommends",
                         f"/tmp/{deb.name}")
    TIMINGS["apt-get install (emulated)"] = time.monotonic() - started
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert pi_root.replay_tmpfiles(root) == ["--create --root=/ kiosk.conf"]  # the postinst's
    yield root
    shutil.rmtree(root, ignore_errors=True)


def pi_run(root: Path, *cmd: str, **kw) -> subprocess.CompletedProcess[str]:
    started = time.monotonic()
    proc = pi_root.proot(root, *cmd, **kw)
    TIMINGS[" ".join(cmd[:3])] = time.monotonic() - started
    return proc


def field(deb: Path, name: str) -> str:
    return run("dpkg-deb", "-f", str(deb), name).stdout.strip()


def test_package_is_arm64_with_the_runtime_depends(deb):
    version = field(deb, "Version")
    assert deb.name == f"{PACKAGE}_{version}_arm64.deb"
    assert field(deb, "Architecture") == "arm64"
    depends = {re.sub(r"\s*\(.*\)", "", d).strip() for d in field(deb, "Depends").split(",")}
    assert set(pi_root.runtime_packages()) <= depends
    assert "python3 (>= 3.11), python3 (<< 3.12)" in field(deb, "Depends")  # bookworm's


def test_every_elf_file_is_aarch64(deb, tmp_path):
    """`file` over every ELF in the package: no amd64 (or other) binary slipped in."""
    tree = tmp_path / "x"
    assert run("dpkg-deb", "-x", str(deb), str(tree)).returncode == 0
    elves = [p for p in tree.rglob("*") if p.is_file() and not p.is_symlink()
             and p.open("rb").read(4) == b"\x7fELF"]
    names = {p.name for p in elves}
    # pyscard's extension (cross-built here) and wheels' own libraries are among them.
    assert "_scard.cpython-311-aarch64-linux-gnu.so" in names, sorted(names)[:20]
    assert any(n.startswith("cv2") for n in names) and len(elves) > 50
    said = run("file", "-b", "-N", *map(str, elves)).stdout.splitlines()
    assert len(said) == len(elves)
    wrong = [f"{p.relative_to(tree)}: {s}" for p, s in zip(elves, said, strict=True)
             if "ARM aarch64" not in s]
    assert not wrong, "\n".join(wrong[:20])
    assert not any("x86-64" in s or "x86_64" in str(p) for p, s in zip(elves, said, strict=True))


def test_apt_installed_it_and_the_release_is_current(pi, deb):
    proc = pi_run(pi, "dpkg-query", "-W", "-f", "${Status} ${Architecture}", PACKAGE)
    assert proc.stdout == "install ok installed arm64", proc.stdout + proc.stderr
    version = field(deb, "Version")
    assert os.readlink(pi / "opt/kiosk/current") == f"releases/{version}"
    assert list((pi / "opt/kiosk/current/venv/lib").rglob("kiosk/__pycache__/*.pyc"))
    assert "kiosk:" in (pi / "etc/passwd").read_text()


def test_every_native_module_loads_under_emulation(pi):
    """What a bare Pi root lacks shows here: a library a wheel links but does not bundle."""
    code = ("import cv2, numpy, PIL.Image, zxingcpp, pyzbar.pyzbar, smartcard.scard, "
            "cryptography.hazmat.bindings._rust, yaml, kivy, kivy.graphics; "
            "import platform; print(platform.machine(), cv2.__version__)")
    proc = pi_run(pi, "/opt/kiosk/current/venv/bin/python", "-c", code,
                  env={"KIVY_NO_ARGS": "1", "KIVY_NO_CONSOLELOG": "1", "KIVY_HOME": "/tmp/kivy"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.startswith("aarch64 "), proc.stdout


@pytest.fixture(scope="session")
def provisioned(pi):
    """The installed kiosk provisions its own root (bound at /mnt/pi, as an image build
    would), from a production configuration as a technician fills in `kiosk config new`
    (the virtual reader's name, no printer), and the CSCA certificates of the test PKI."""
    text = filled_new_config(**{'reader = "auto"': 'reader = "Virtual PCD"',
                                'kind = "usb"': 'kind = "none"',
                                'target = "0416:5011"': 'target = ""'})
    (pi / "root/pi-test.toml").write_text(text, "utf-8")
    proc = pi_run(pi, KIOSK, "provision", "--root", "/mnt/pi", "--config-file",
                  "/root/pi-test.toml", "--kiosk-id", "pi-test-01", binds=(f"{pi}:/mnt/pi",))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    pi_root.replay_tmpfiles(pi)
    assert (pi / "etc/systemd/system/graphical.target.wants/kiosk-ui.service").is_symlink()
    return pi


def pcscd_bind(pcscd: Pcscd) -> str:  # noqa: F811
    """The tests' own pcscd listens in a folder of its own: it is /run/pcscd inside."""
    return f"{pcscd.socket.parent}:/run/pcscd"


def test_doctor_json(provisioned, pcscd, simulate):  # noqa: F811
    """The provisioned configuration (/etc/kiosk), the tests' pcscd (its socket bound in):
    an arm64 libpcsclite speaks to it. The servers (BHXH, HIS) and devices beyond the
    reader do not exist here: the checks of this machine's own parts."""
    shutil.copytree(simulate, provisioned / "etc/kiosk/csca", dirs_exist_ok=True)
    only = [arg for name in ("pcscd", "reader", "trust_store", "disk", "outbox")
            for arg in ("--only", name)]
    proc = pi_run(provisioned, KIOSK, "doctor", "--json", *only, binds=(pcscd_bind(pcscd),))
    report = json.loads(proc.stdout)
    checks = {c["name"]: c for c in report["checks"]}
    assert report["kiosk_id"] == "pi-test-01" and report["config"] == "/etc/kiosk/kiosk.toml"
    assert set(checks) == {"pcscd", "reader", "trust_store", "disk", "outbox"}, checks
    failed = {n: c for n, c in checks.items() if c["status"] == "fail"}
    assert failed == {}, failed
    assert checks["pcscd"]["status"] == "pass", checks["pcscd"]
    assert "Virtual PCD" in checks["reader"]["detail"], checks["reader"]
    assert proc.returncode == 0, proc.stderr


def queue_numbers(tickets: Path) -> list[str]:
    return sorted("-".join(p.name.split("-")[2:4]) for p in tickets.glob("ticket-*.png"))


def test_demo_headless(pi, tmp_path):
    """The scripted patients give the same registrations and queue numbers as on the host."""
    proc = pi_run(pi, KIOSK, "demo", "--headless", "--out", "/tmp/demo", timeout=1200)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    host = run(str(PROJECT / ".venv/bin/kiosk"), "demo", "--headless", "--out",
               str(tmp_path / "host"))
    assert host.returncode == 0, host.stderr[-2000:]
    # The closing line counts the registrations ("=== Xong: N lượt đăng ký …"): the same
    # on both machines, whatever the number of scripted patients.
    done = [line.split(";")[0] for line in (proc.stdout, host.stdout)
            for line in line.splitlines() if line.startswith("=== Xong:")]
    assert len(done) == 2 and done[0] == done[1], done
    numbers = queue_numbers(pi / "tmp/demo/tickets")
    assert numbers == queue_numbers(tmp_path / "host/tickets") and len(numbers) >= 4, numbers
    assert len(list((pi / "tmp/demo/registrations").iterdir())) == len(
        list((tmp_path / "host/registrations").iterdir()))


def test_card_read_against_a_virtual_card(provisioned, pcscd, simulate,  # noqa: F811
                                           tmp_path):
    """`kiosk card simulate` on the host serves the CCCD through vpcd and the host's
    pcscd; the arm64 kiosk reads it through its own pyscard and libpcsclite."""
    trust = provisioned / "tmp/trust"
    shutil.copytree(simulate, trust)
    proc = pi_run(provisioned, KIOSK, "card", "read", "--can", BASE["id_number"][-6:],
                  "--no-photo", "--json", "--trust-store", "/tmp/trust",
                  binds=(pcscd_bind(pcscd),), timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr[-3000:]
    data = json.loads(proc.stdout)
    assert data["id_number"] == BASE["id_number"] and data["full_name"] == BASE["full_name"]
    assert data["authentication"]["passive"] == "verified"


def test_release_build_for_arm64(tmp_path):
    """`kiosk release build --arch arm64` on this amd64 machine: a signed bundle of arm64
    wheels (pyscard cross-built) that resolves for that platform."""
    key = tmp_path / "release.pem"
    public = generate_key(key)
    out = tmp_path / "bundle"
    started = time.monotonic()
    proc = run(str(PROJECT / ".venv/bin/kiosk"), "release", "build", "--arch", "arm64",
               "--key", str(key), "--out", str(out), "--source", str(PROJECT), "--json")
    TIMINGS["kiosk release build --arch arm64"] = time.monotonic() - started
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert json.loads(proc.stdout)["arch"] == "arm64"
    bundle = verify_bundle(out, [public])
    names = [w.name for w in bundle.manifest.wheels]
    assert bundle.manifest.arch == "arm64"
    assert any(n.startswith("pyscard-") and n.endswith("linux_aarch64.whl") for n in names)
    assert not any("x86_64" in n for n in names), names
    assert any("aarch64" in n for n in names if n.startswith(("numpy-", "opencv_python-")))


def test_lintian_finds_no_errors(lintian):
    proc, log = lintian
    code = proc.wait(timeout=900)
    errors = [line for line in log.read_text().splitlines() if line.startswith("E:")]
    assert code == 0 and not errors, "\n".join(errors[:40]) or log.read_text()[-2000:]


