"""The same demo patients on this machine and under arm64 emulation, in one run (issue 30).

What it measures is EMULATION (qemu-user through proot on this host), not a Raspberry
Pi: the ratio says how much slower the arm64 build runs here, which bounds nothing on
real hardware. It shows that the arm64 build does the same work with the same result,
and gives the host's own figures (time, peak memory) for the README's requirements.

    python benchmarks/emulated_pi.py --deb dist/vn-hospital-kiosk_0.1.0_arm64.deb [--runs 3]

Needs the emulated root of `make test-arm64` (.cache/arm64/root, built if missing).
"""

from __future__ import annotations

import argparse
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))

from tests.arm64 import pi_root  # noqa: E402

HOST_KIOSK = str(PROJECT / ".venv/bin/kiosk")
IMPORTS = "import kiosk.cli, cv2, numpy, zxingcpp, smartcard.scard, PIL.Image"


def timed(cmd: list[str]) -> tuple[float, str]:
    started = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=3600, check=False)
    seconds = time.monotonic() - started
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd[:6])}… failed:\n{proc.stdout[-1500:]}{proc.stderr[-1500:]}")
    return seconds, proc.stdout


def registrations(transcript: str) -> str:
    found = re.search(r"Xong: (\d+) lượt đăng ký", transcript)
    return found.group(1) if found else "?"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deb", type=Path, required=True, help="the arm64 package")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="kiosk-bench-pi-"))
    try:
        root = pi_root.copy(work / "root")
        shutil.copy(args.deb, root / "tmp" / args.deb.name)
        install, _ = timed(["proot", "-q", "qemu-aarch64-static", "-0", "-r", str(root),
                            "/usr/bin/env", "-i", f"PATH={pi_root.PATH}",
                            "DEBIAN_FRONTEND=noninteractive", "apt-get", "install", "-y",
                            "-q", "--no-install-recommends", f"/tmp/{args.deb.name}"])
        print(f"apt-get install of the arm64 package, emulated: {install:.0f} s")
        # Before any emulated run, so the peak is the host kiosk's alone.
        timed([HOST_KIOSK, "demo", "--headless", "--out", str(work / "warm-up")])
        host_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        rows = []
        for name, host_cmd, pi_cmd in [
            ("imports (kiosk.cli, cv2, numpy, zxing, pyscard, PIL)",
             [str(PROJECT / ".venv/bin/python"), "-c", IMPORTS],
             ["/opt/kiosk/current/venv/bin/python", "-c", IMPORTS]),
            ("kiosk demo --headless (5 scripted patients)",
             [HOST_KIOSK, "demo", "--headless", "--out", str(work / "host-demo")],
             ["/usr/bin/kiosk", "demo", "--headless", "--out", "/tmp/demo"]),
        ]:
            host, pi = [], []
            for _ in range(args.runs):
                seconds, out = timed(host_cmd)
                host.append(seconds)
                started = time.monotonic()
                proc = pi_root.proot(root, *pi_cmd, timeout=3600)
                pi.append(time.monotonic() - started)
                if proc.returncode != 0:
                    sys.exit(f"emulated {name} failed:\n{proc.stderr[-1500:]}")
                if "demo" in name:
                    same = registrations(out) == registrations(proc.stdout) == "5"
                    if not same:
                        sys.exit(f"the runs differ: host {registrations(out)}, "
                                 f"emulated {registrations(proc.stdout)} registrations")
            h, p = statistics.median(host), statistics.median(pi)
            rows.append((name, h, p))
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        print(f"peak resident memory of the host's demo run: {host_peak:.0f} MiB")
        print(f"median of {args.runs} runs each, host and emulation alternating")
        print(f"{'':52} {'host s':>8} {'emulated s':>11} {'ratio':>7}")
        for name, h, p in rows:
            print(f"{name:52} {h:8.2f} {p:11.2f} {p / h:6.1f}x")
        print(f"largest resident set of any run, qemu's included: {peak:.0f} MiB")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
