"""Wheels and venvs for another architecture: the Raspberry Pi's arm64, built on amd64.

Used by `make deb ARCH=arm64` (packaging/build_deb.py) and `kiosk release build
--arch arm64`. A release venv (bin/python → /usr/bin/python3, pyvenv.cfg) is the
same on every architecture of one Debian release; only site-packages differs. It
is filled with the target's wheels from PyPI (`pip download --platform …`, binary only, for
bookworm's Python 3.11 and glibc 2.36). The few distributions PyPI ships as source
only are built into wheels first: pure ones anywhere, pyscard's C extension with
the cross compiler against the target's pyconfig.h and sysconfigdata, taken from
the target's own Debian packages into a cached sysroot (decision 0170).
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

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


# platform.machine() → dpkg's name: what a kiosk calls its own architecture.
MACHINES = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "armhf", "i686": "i386"}


class CrossBuildError(Exception):
    """A tool failed or the target is not supported; the message says which."""


def host_arch() -> str:
    machine = platform.machine()
    return MACHINES.get(machine, machine.lower())


def target(arch: str) -> Target:
    if arch not in TARGETS:
        raise CrossBuildError(f"no cross build for {arch!r} (known: {', '.join(TARGETS)}; "
                              f"or build on a {arch} machine)")
    return TARGETS[arch]


def _run(cmd: list[str], env: dict[str, str] | None = None, timeout: int = 1800) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env,
                          timeout=timeout)
    if proc.returncode != 0:
        raise CrossBuildError(f"{' '.join(cmd[:5])}… failed:\n{proc.stdout[-3000:]}"
                              f"{proc.stderr[-3000:]}")


def sysroot(tgt: Target, cache: Path) -> Path:
    """The target's Python headers and sysconfigdata, built once under `cache`."""
    root = cache / tgt.arch / "sysroot"
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


def _source_only_wheels(tgt: Target, out: Path, work: Path, cache: Path) -> None:
    pip = [sys.executable, "-m", "pip"]
    sdists = work / "sdists"
    # --no-build-isolation: reading an sdist's metadata must not build its build tools
    # (pyscard's would compile swig from source).
    _run([*pip, "download", "-q", "--no-deps", "--no-binary=:all:", "--no-build-isolation",
          "--dest", str(sdists), *SOURCE_ONLY])
    root = sysroot(tgt, cache)
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


def pip_platform(arch: str) -> list[str]:
    """pip's options for `arch`'s binary wheels on bookworm's CPython."""
    tags = [f"--platform={p}" for p in target(arch).platforms]
    return ["--python-version", PYTHON, "--implementation", "cp",
            "--abi", f"cp{PYTHON.replace('.', '')}", "--only-binary=:all:", *tags]


def gather_wheels(dest: Path, arch: str, requirement: str, find_links: Path,
                  cache: Path) -> None:
    """Every wheel `requirement` needs on `arch` into `dest`: PyPI's binary wheels for
    it, the source-only ones built here (`find_links` holds the kiosk's own wheel)."""
    tgt = target(arch)
    if f"{sys.version_info.major}.{sys.version_info.minor}" != PYTHON:
        raise CrossBuildError(f"a cross build needs Python {PYTHON} (bookworm's) to run it")
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="kiosk-cross-") as tmp:
        _source_only_wheels(tgt, dest, Path(tmp), cache)
    _run([sys.executable, "-m", "pip", "download", "-q", "--dest", str(dest),
          "--find-links", str(dest), "--find-links", str(find_links), *pip_platform(arch),
          requirement])


def check_resolves(wheelhouse: Path, arch: str, requirement: str) -> None:
    """pip resolves `requirement` for `arch` from `wheelhouse` alone (a dry run: the
    wheels cannot be installed on this machine)."""
    with tempfile.TemporaryDirectory(prefix="kiosk-cross-check-") as tmp:
        _run([sys.executable, "-m", "pip", "install", "-q", "--dry-run", "--no-index",
              "--find-links", str(wheelhouse), "--target", tmp, *pip_platform(arch),
              requirement])


def install_site_packages(venv: Path, arch: str, wheelhouse: Path) -> None:
    """Every wheel of `wheelhouse` into `venv` (made by the host's python3, same minor)."""
    site = venv / f"lib/python{PYTHON}/site-packages"
    _run([sys.executable, "-m", "pip", "--python", str(venv / "bin/python"), "install", "-q",
          "--no-compile", "--no-deps", "--no-index", "--target", str(site),
          *pip_platform(arch), *map(str, sorted(wheelhouse.glob("*.whl")))])
    # --target puts console scripts beside the packages; a venv has them in bin/.
    for script in sorted((site / "bin").iterdir()):
        script.rename(venv / "bin" / script.name)
    (site / "bin").rmdir()
