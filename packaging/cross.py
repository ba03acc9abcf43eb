"""A release venv for another architecture: `make deb ARCH=arm64` on an amd64 machine.

The venv itself (bin/python → /usr/bin/python3, pyvenv.cfg) is the same on every
architecture of one Debian release; only site-packages differs. It is filled with
the target's wheels from PyPI (`pip download --platform …`, binary only, for
bookworm's Python 3.11 and glibc 2.36). The few distributions PyPI ships as source
only are built into wheels first: pure ones anywhere, pyscard's C extension with
the cross compiler against the target's pyconfig.h and sysconfigdata, taken from
the target's own Debian packages into a cached sysroot (decision 0170).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
CACHE = PROJECT / ".cache"
MIRROR = "http://deb.debian.org/debian"
SUITE = "bookworm"
PYTHON = "3.11"  # bookworm's; the venv's lib/python3.11 and every cp311 wheel


@dataclass(frozen=True)
class Target:
    arch: str  # dpkg's name
    triplet: str  # Debian multiarch / GNU
    platforms: tuple[str, ...]  # wheel platform tags glibc 2.36 runs, newest first


TARGETS = {
    "arm64": Target("arm64", "aarch64-linux-gnu",
                    ("manylinux_2_28_aarch64", "manylinux_2_27_aarch64",
                     "manylinux_2_26_aarch64", "manylinux_2_17_aarch64",
                     "manylinux2014_aarch64", "linux_aarch64")),
}
# On PyPI as source only (measured in issue 30); a new one makes the binary-only
# download fail with its name, and belongs here.
SOURCE_ONLY = ("pyscard", "pyDes")
# What the cross build needs from the target's Debian: pyconfig.h (libpython3.11-dev)
# and _sysconfigdata (libpython3.11-minimal, linked from libpython3.11-stdlib).
SYSROOT_PACKAGES = ("libpython3.11-dev", "libpython3.11-minimal", "libpython3.11-stdlib")


def host_arch() -> str:
    return subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True,
                          check=True).stdout.strip()


def target(arch: str) -> Target:
    if arch not in TARGETS:
        sys.exit(f"build-deb: no cross build for {arch!r} (known: {', '.join(TARGETS)}; "
                 f"or build on a {arch} machine)")
    return TARGETS[arch]


def _run(cmd: list[str], env: dict[str, str] | None = None, timeout: int = 1800) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env,
                          timeout=timeout)
    if proc.returncode != 0:
        sys.exit(f"build-deb: {' '.join(cmd[:5])}… failed:\n{proc.stdout[-3000:]}"
                 f"{proc.stderr[-3000:]}")


def sysroot(tgt: Target) -> Path:
    """The target's Python headers and sysconfigdata, built once under .cache/."""
    root = CACHE / tgt.arch / "sysroot"
    stamp = root / ".complete"
    if stamp.exists():
        return root
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    with tempfile.TemporaryDirectory(prefix="kiosk-sysroot-") as tmp:
        # debootstrap resolves and verifies (Release signature, checksums) the
        # target's packages; only three are unpacked, nothing is executed.
        _run(["debootstrap", "--download-only", f"--arch={tgt.arch}", "--variant=minbase",
              f"--include={','.join(SYSROOT_PACKAGES)}", SUITE, tmp, MIRROR])
        archives = Path(tmp) / "var/cache/apt/archives"
        for name in SYSROOT_PACKAGES:
            (deb,) = archives.glob(f"{name}_*_{tgt.arch}.deb")
            _run(["dpkg-deb", "-x", str(deb), str(root)])
    stamp.touch()
    return root


def _source_only_wheels(tgt: Target, out: Path, work: Path) -> None:
    pip = [sys.executable, "-m", "pip"]
    sdists = work / "sdists"
    # --no-build-isolation: reading an sdist's metadata must not build its build tools
    # (pyscard's would compile swig from source).
    _run([*pip, "download", "-q", "--no-deps", "--no-binary=:all:", "--no-build-isolation",
          "--dest", str(sdists), *SOURCE_ONLY])
    root = sysroot(tgt)
    sysconfig_dir = work / "sysconfig"
    sysconfig_dir.mkdir()
    name = f"_sysconfigdata__{tgt.triplet}"
    shutil.copy(root / f"usr/lib/python{PYTHON}/{name}.py", sysconfig_dir)
    env = {
        **os.environ,
        # The target's compiler (CC, LDSHARED) and extension suffix, and its wheel tag.
        "_PYTHON_SYSCONFIGDATA_NAME": name,
        "PYTHONPATH": str(sysconfig_dir),
        "_PYTHON_HOST_PLATFORM": f"linux-{tgt.triplet.split('-')[0]}",
        # Debian's python3.11/pyconfig.h includes <aarch64-linux-gnu/python3.11/pyconfig.h>.
        "CFLAGS": f"-I{root}/usr/include",
    }
    _run([*pip, "wheel", "-q", "--no-deps", "--no-build-isolation", "--wheel-dir", str(out),
          *map(str, sorted(sdists.iterdir()))], env=env)


def install_site_packages(venv: Path, arch: str, kiosk_wheels: Path, requirement: str) -> None:
    """Fill `venv` (made by the host's python3, same minor) with `arch`'s wheels."""
    tgt = target(arch)
    if f"{sys.version_info.major}.{sys.version_info.minor}" != PYTHON:
        sys.exit(f"build-deb: a cross build needs Python {PYTHON} (bookworm's) to build with")
    with tempfile.TemporaryDirectory(prefix="kiosk-cross-") as tmp:
        work = Path(tmp)
        wheels = work / "wheels"
        _source_only_wheels(tgt, wheels, work)
        tags = [f"--platform={p}" for p in tgt.platforms]
        abi = ["--python-version", PYTHON, "--implementation", "cp",
               "--abi", f"cp{PYTHON.replace('.', '')}", "--only-binary=:all:", *tags]
        pip = [sys.executable, "-m", "pip"]
        _run([*pip, "download", "-q", "--dest", str(wheels), "--find-links", str(wheels),
              "--find-links", str(kiosk_wheels), *abi, requirement])
        site = venv / f"lib/python{PYTHON}/site-packages"
        _run([*pip, "--python", str(venv / "bin/python"), "install", "-q", "--no-compile",
              "--no-deps", "--no-index", "--target", str(site), *abi,
              *map(str, sorted(wheels.glob("*.whl")))])
    # --target puts console scripts beside the packages; a venv has them in bin/.
    for script in sorted((site / "bin").iterdir()):
        script.rename(venv / "bin" / script.name)
    (site / "bin").rmdir()
