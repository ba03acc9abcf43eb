"""An emulated Raspberry Pi OS root: Debian bookworm arm64 run with proot + qemu-user.

A container cannot register binfmt_misc, so every arm64 program runs through
`proot -q qemu-aarch64-static` (which also fakes root, `-0`). The root is built once
(debootstrap's first stage here, its second stage under emulation, then the kiosk's
[runtime] packages with apt) and cached under .cache/arm64/root; each test session
works on a copy, so installing the package never changes the cache.

Run as a script to build (or check) the cache, or a root elsewhere:
`python tests/arm64/pi_root.py [DIR]`.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]
CACHE = PROJECT / ".cache/arm64/root"
STAMP = ".kiosk-root-complete"
MIRROR = "http://deb.debian.org/debian"
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def runtime_packages() -> list[str]:
    out = subprocess.run([str(PROJECT / "scripts/debian-packages.sh"), "runtime"],
                         capture_output=True, text=True, check=True).stdout
    return out.split()


def proot(root: Path, *cmd: str, binds: tuple[str, ...] = (), env: dict[str, str] | None = None,
          timeout: float = 1800, cwd: str = "/") -> subprocess.CompletedProcess[str]:
    """`cmd` run inside `root` as (fake) root under arm64 emulation."""
    binding = [arg for b in ("/dev", "/proc", "/sys", "/etc/resolv.conf", *binds)
               for arg in ("-b", b)]
    environment = [f"{k}={v}" for k, v in {"PATH": PATH, "HOME": "/root", "LANG": "C.UTF-8",
                                            "DEBIAN_FRONTEND": "noninteractive",
                                            **(env or {})}.items()]
    return subprocess.run(["proot", "-q", "qemu-aarch64-static", "-0", "-r", str(root),
                           *binding, "-w", cwd, "/usr/bin/env", "-i", *environment, *cmd],
                          capture_output=True, text=True, timeout=timeout, check=False)


def _must(proc: subprocess.CompletedProcess[str], what: str) -> None:
    if proc.returncode != 0:
        raise RuntimeError(f"{what} failed ({proc.returncode}):\n"
                           f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")


TMPFILES_CALLS = "var/lib/kiosk-emulation/tmpfiles.calls"
TMPFILES_STUB = f"""#!/bin/sh
# Emulation stand-in (tests/arm64/pi_root.py): systemd-tmpfiles crashes proot, so its
# calls are recorded here and replayed by the host's systemd-tmpfiles --root=…
printf '%s\\n' "$*" >> /{TMPFILES_CALLS}
"""


def _emulation_fixes(root: Path) -> None:
    """What a chroot needs, and what proot cannot run."""
    # The chroot convention: maintainer scripts start no services.
    policy = root / "usr/sbin/policy-rc.d"
    policy.write_text("#!/bin/sh\nexit 101\n")
    policy.chmod(0o755)
    # The path systemd's package ships (bookworm keeps /bin; merged /usr makes it the
    # same file as /usr/bin/systemd-tmpfiles, where the stub is written).
    _must(proot(root, "dpkg-divert", "--local", "--rename", "--add",
                "/bin/systemd-tmpfiles"), "dpkg-divert systemd-tmpfiles")
    stub = root / "usr/bin/systemd-tmpfiles"
    stub.write_text(TMPFILES_STUB)
    stub.chmod(0o755)
    (root / TMPFILES_CALLS).parent.mkdir(parents=True, exist_ok=True)


def replay_tmpfiles(root: Path) -> list[str]:
    """The recorded systemd-tmpfiles calls, run natively on `root`; returns them."""
    calls_file = root / TMPFILES_CALLS
    calls = calls_file.read_text().splitlines() if calls_file.exists() else []
    for call in calls:
        args = [a for a in call.split() if not a.startswith("--root")]
        _must(subprocess.run(["systemd-tmpfiles", f"--root={root}", *args],
                             capture_output=True, text=True, timeout=300, check=False),
              f"systemd-tmpfiles {call}")
    calls_file.unlink(missing_ok=True)
    return calls


def build(root: Path = CACHE) -> Path:
    """The cached root, built if missing (about 12 minutes on 2 cores)."""
    if (root / STAMP).exists():
        return root
    base = root / ".kiosk-base-complete"  # the slow debootstrap, kept if a later step fails
    if not base.exists():
        shutil.rmtree(root, ignore_errors=True)
        root.parent.mkdir(parents=True, exist_ok=True)
        _must(subprocess.run(["debootstrap", "--foreign", "--arch=arm64", "--variant=minbase",
                              "bookworm", str(root), MIRROR], capture_output=True, text=True,
                             timeout=1800, check=False), "debootstrap (first stage)")
        # DEBOOTSTRAP_DIR named: under proot the script's own `test -x` of it fails.
        _must(proot(root, "/debootstrap/debootstrap", "--second-stage",
                    env={"DEBOOTSTRAP_DIR": "/debootstrap"}), "debootstrap --second-stage")
        _emulation_fixes(root)
        base.touch()
    # signed-by: under proot apt does not find the keys in /etc/apt/trusted.gpg.d.
    keyring = "[signed-by=/usr/share/keyrings/debian-archive-keyring.gpg]"
    (root / "etc/apt/sources.list").write_text(
        f"deb {keyring} {MIRROR} bookworm main\n"
        f"deb {keyring} {MIRROR} bookworm-updates main\n"
        f"deb {keyring} http://deb.debian.org/debian-security bookworm-security main\n")
    _must(proot(root, "apt-get", "update", "-q"), "apt-get update")
    _must(proot(root, "apt-get", "install", "-y", "-q", "--no-install-recommends",
                *runtime_packages()), "apt-get install [runtime]")
    replay_tmpfiles(root)
    _must(proot(root, "apt-get", "clean"), "apt-get clean")
    (root / STAMP).write_text(time.strftime("%Y-%m-%dT%H:%M:%SZ\n", time.gmtime()))
    return root


def copy(dest: Path) -> Path:
    """A working copy of the cached root (hard links would share the cache's inodes)."""
    subprocess.run(["cp", "-a", "--reflink=auto", str(build()), str(dest)], check=True,
                   timeout=600)
    return dest


if __name__ == "__main__":
    started = time.monotonic()
    built = build(Path(sys.argv[1]) if len(sys.argv) > 1 else CACHE)
    print(built, f"{time.monotonic() - started:.0f} s", file=sys.stderr)
