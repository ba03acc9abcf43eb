"""The kiosk's Debian package, built once per run with `make deb`, inspected, checked
by lintian, and installed with dpkg into a scratch root (maintainer scripts run with
DPKG_ROOT), then provisioned there and its units verified with systemd-analyze.

Lintian reads every one of the package's ~6000 files (2–3 minutes on a loaded
2-core machine), so it starts in the background as soon as the package is built
and its test collects the verdict after the other checks ran beside it.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from kiosk.config.loader import config_text
from tests.config_helpers import filled_new_config
from tests.e2e.ops.unit_paths import assert_no_path_named, assert_unit_paths_exist

PROJECT = Path(__file__).resolve().parents[3]
PACKAGE = "vn-hospital-kiosk"
MAINTAINER = "Phòng CNTT Bệnh viện Minh An <cntt@benhvien-minhan.example>"


def run(*cmd: str, **kw) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=240, check=False, **kw)


@pytest.fixture(scope="session")
def deb(tmp_path_factory):
    """`make deb` into an empty folder; lintian started on the result."""
    dist = tmp_path_factory.mktemp("dist")
    build_tmp = tmp_path_factory.mktemp("build-tmp")
    before = set(dist.iterdir())
    # gzip -1: the package's contents are the same, the compression 10x faster than xz.
    proc = run("make", "-s", "deb", f"DIST={dist}", "DEB_COMPRESS=gzip", "DEB_LINTIAN=no",
               f"DEB_MAINTAINER={MAINTAINER}", cwd=PROJECT,
               env={**os.environ, "TMPDIR": str(build_tmp)})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    new = sorted(set(dist.iterdir()) - before)
    assert len(new) == 1 and new[0].suffix == ".deb", new
    path = new[0]
    log = dist.parent / "lintian.log"
    # Lintian unpacks the package (~400 MB) under TMPDIR: in pytest's folder, not /tmp,
    # so a run stopped half-way leaves nothing behind.
    lintian_tmp = tmp_path_factory.mktemp("lintian-tmp")
    with log.open("w") as out:
        lintian = subprocess.Popen(["lintian", "--tag-display-limit", "0", "--fail-on", "error",
                                    str(path)], stdout=out, stderr=subprocess.STDOUT,
                                   cwd=dist.parent, env={**os.environ, "TMPDIR": str(lintian_tmp)})
    yield {"path": path, "build_tmp": build_tmp, "lintian": lintian, "lintian_log": log}
    if lintian.poll() is None:
        lintian.terminate()
        try:
            lintian.wait(timeout=10)
        except subprocess.TimeoutExpired:
            lintian.kill()
            lintian.wait()
    shutil.rmtree(lintian_tmp, ignore_errors=True)


def field(deb_path: Path, name: str) -> str:
    return run("dpkg-deb", "-f", str(deb_path), name).stdout.strip()


def runtime_packages() -> list[str]:
    return run(str(PROJECT / "scripts/debian-packages.sh"), "runtime").stdout.split()


def test_make_deb_names_version_arch_and_runtime_depends(deb):
    path = deb["path"]
    version = field(path, "Version")
    arch = run("dpkg", "--print-architecture").stdout.strip()
    assert path.name == f"{PACKAGE}_{version}_{arch}.deb"
    assert field(path, "Maintainer") == MAINTAINER  # a hospital builds its own package
    depends = {re.sub(r"\s*\(.*\)", "", d).strip() for d in field(path, "Depends").split(",")}
    assert {"cage", "pcscd", "python3", "libccid"} <= depends
    assert "xvfb" in depends  # the acceptance test (`kiosk run --script`) runs on a kiosk
    assert not any("vsmartcard" in d or d in ("xauth", "lintian", "libpq-dev")
                   for d in depends)
    assert set(runtime_packages()) <= depends  # every runtime package, nothing test-only
    test_only = run(str(PROJECT / "scripts/debian-packages.sh"), "test", "build").stdout.split()
    assert not depends & set(test_only)


def test_apt_can_install_it(deb):
    """`apt install ./…deb`, simulated: every Depends resolves (the technician's step 1)."""
    # --reinstall: the same answer whether or not this machine has the package already.
    proc = run("apt-get", "install", "--simulate", "--reinstall", "-q", "-o", "Debug::NoLocking=1",
               str(deb["path"]))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert re.search(rf"^Inst {PACKAGE} ", proc.stdout, re.M), proc.stdout


def test_contents_units_support_files_and_docs(deb):
    listing = run("dpkg-deb", "-c", str(deb["path"])).stdout
    names = {line.split()[5].removeprefix(".") for line in listing.splitlines()}
    version = field(deb["path"], "Version")
    release = f"/opt/kiosk/releases/{version}"
    for unit in ("kiosk-ui.service", "kiosk-sync.service", "kiosk-update.service",
                 "kiosk-update.timer", "kiosk-metrics.service", "kiosk-metrics.timer"):
        assert f"/lib/systemd/system/{unit}" in names, unit
    for path in ("/usr/lib/sysusers.d/kiosk.conf", "/usr/lib/tmpfiles.d/kiosk.conf",
                 "/lib/udev/rules.d/70-kiosk-devices.rules",
                 "/usr/share/polkit-1/rules.d/60-kiosk-pcscd.rules",
                 f"/usr/share/doc/{PACKAGE}/copyright", f"{release}/venv/bin/kiosk",
                 f"{release}/share/doc/deployment.md", f"{release}/.installed",
                 "/usr/share/man/man1/kiosk.1.gz"):
        assert path in names, path
    assert "/usr/bin/kiosk -> /opt/kiosk/current/venv/bin/kiosk" in listing
    assert not any(n.endswith(".pyc") for n in names)  # compiled in place by the postinst
    # No dependency's own test suite or docs as top-level packages (python-barcode's).
    assert not [n for n in names if re.search(r"/site-packages/(tests|docs)/", n)]
    changelog = run("sh", "-c", f"dpkg-deb --fsys-tarfile {deb['path']} | tar -xOf - "
                    f"./usr/share/doc/{PACKAGE}/changelog.gz | gzip -dc").stdout
    assert changelog.startswith(f"{PACKAGE} ({version}) ") and f" -- {MAINTAINER}  " in changelog
    assert "vsmartcard" not in listing


def test_no_file_names_the_build_directory(deb, tmp_path):
    tree = tmp_path / "x"
    assert run("dpkg-deb", "-x", str(deb["path"]), str(tree)).returncode == 0
    control = tmp_path / "control"
    assert run("dpkg-deb", "-e", str(deb["path"]), str(control)).returncode == 0
    for place in (tree, control):
        assert_no_path_named(place, [str(PROJECT), str(deb["build_tmp"])])


@pytest.fixture
def scratch_root():
    """A root the kiosk user can walk into (pytest's own temporary folders are 0700)."""
    root = Path(tempfile.mkdtemp(prefix="kiosk-root-"))
    root.chmod(0o755)
    yield root
    shutil.rmtree(root)


def as_user(uid: int, gid: int, *cmd: str) -> subprocess.CompletedProcess[str]:
    return run("setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups", "--", *cmd)


def test_install_into_a_scratch_root_provision_and_verify_units(deb, tmp_path, scratch_root):
    root = scratch_root
    for d in ("var/lib/dpkg/info", "var/lib/dpkg/updates", "etc"):
        (root / d).mkdir(parents=True)
    (root / "var/lib/dpkg/status").touch()
    # The maintainer scripts run outside a chroot with DPKG_ROOT set; Depends are
    # the host's (checked below for what the units run).
    proc = run("dpkg", f"--root={root}", "--force-script-chrootless", "--force-depends",
               "-i", str(deb["path"]))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    version = field(deb["path"], "Version")
    assert os.readlink(root / "opt/kiosk/current") == f"releases/{version}"
    passwd = (root / "etc/passwd").read_text()
    kiosk = next(line.split(":") for line in passwd.splitlines() if line.startswith("kiosk:"))
    uid, gid = int(kiosk[2]), int(kiosk[3])
    assert kiosk[6] == "/usr/sbin/nologin"
    state = (root / "var/lib/kiosk").stat()
    assert (state.st_uid, state.st_gid, state.st_mode & 0o777) == (uid, gid, 0o750)
    metrics_dir = (root / "var/lib/node_exporter/textfile_collector").stat()
    assert (metrics_dir.st_gid, metrics_dir.st_mode & 0o777) == (gid, 0o775)
    venv_python = root / "opt/kiosk/current/venv/bin/python"
    assert list((root / "opt/kiosk/current/venv/lib").rglob("kiosk/__pycache__/*.pyc"))

    # Provision with the installed kiosk itself (its own venv, not the test's).
    prov = tmp_path / "lobby-01.toml"
    text = run(str(venv_python), "-c", "from kiosk.cli import main; raise SystemExit(main())", "config",
               "new").stdout
    assert text == config_text("new.toml")  # then filled in as the technician does
    prov.write_text(filled_new_config(**{'kind = "usb"': 'kind = "none"',
                                         'target = "0416:5011"': 'target = ""'}))
    proc = run(str(venv_python), "-c", "from kiosk.cli import main; raise SystemExit(main())", "provision",
               "--root", str(root), "--config-file", str(prov), "--kiosk-id", "bv-lobby-01")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "from the Debian package" in proc.stdout
    etc = root / "etc/kiosk"
    for name in ("kiosk.toml", "secrets.toml"):
        st = (etc / name).stat()
        assert (st.st_uid, st.st_gid, st.st_mode & 0o777) == (0, gid, 0o640), name
    assert "s3cret" not in (etc / "kiosk.toml").read_text()
    assert not (root / "etc/systemd/system/kiosk-ui.service").exists()  # packaged units used
    wants = root / "etc/systemd/system/graphical.target.wants/kiosk-ui.service"
    assert os.readlink(wants) == "/lib/systemd/system/kiosk-ui.service"
    assert (root / "etc/systemd/system/timers.target.wants/kiosk-metrics.timer").is_symlink()

    # What the units run is in the package or in a package it Depends on.
    depends = field(deb["path"], "Depends")
    owner = run("dpkg", "-S", "/usr/bin/cage").stdout.split(":")[0]
    assert re.search(rf"(^|, ){re.escape(owner)}(,|$| )", depends), owner
    (root / "usr/bin").mkdir(parents=True, exist_ok=True)
    shutil.copy2("/usr/bin/cage", root / "usr/bin/cage")
    units = sorted((root / "lib/systemd/system").glob("kiosk-*"))
    assert len(units) == 6
    assert_unit_paths_exist(root, units)
    # systemd's own units (targets, pcscd.socket) come from the host.
    (root / "usr/lib/systemd").mkdir(parents=True, exist_ok=True)
    (root / "usr/lib/systemd/system").symlink_to("/lib/systemd/system")
    proc = run("systemd-analyze", "verify", f"--root={root}", *map(str, units))
    assert proc.stdout == "" and proc.stderr == "", proc.stdout + proc.stderr
    assert_no_path_named(root / "opt", [str(root)])
    assert_no_path_named(root / "etc", [str(root)])

    # kiosk-metrics.service's job, as the kiosk user (User=kiosk): it reads the
    # root:kiosk 0640 configuration and secrets, and writes where node_exporter reads.
    check = etc / "metrics-check.toml"
    check.write_text((etc / "kiosk.toml").read_text().replace(
        '"/etc/kiosk/secrets.toml"', f'"{etc}/secrets.toml"').replace(
        'state_dir = "/var/lib/kiosk"', f'state_dir = "{root}/var/lib/kiosk"'))
    os.chown(check, 0, gid)
    check.chmod(0o640)
    prom = root / "var/lib/node_exporter/textfile_collector/kiosk.prom"
    metrics = ["-c", "from kiosk.cli import main; raise SystemExit(main())",
               "--config", str(check), "metrics", "--out", str(prom)]
    proc = as_user(uid, gid, str(venv_python), *metrics)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert prom.stat().st_uid == uid and prom.stat().st_mode & 0o004  # node_exporter reads it
    assert 'kiosk="bv-lobby-01"' in prom.read_text()
    # Nobody else may read the configuration (let alone the secrets).
    stranger = as_user(65534, 65534, str(venv_python), *metrics)
    assert stranger.returncode != 0 and "is not readable by this user" in stranger.stderr


def test_lintian_finds_no_errors(deb):
    """Collected last in this file: lintian ran beside the checks above."""
    code = deb["lintian"].wait(timeout=280)
    report = deb["lintian_log"].read_text()
    errors = [line for line in report.splitlines() if line.startswith("E:")]
    assert code == 0 and not errors, "\n".join(errors[:40]) or report[-2000:]
