"""Tiny signed release bundles for updater/provisioning tests.

Each is a real wheel of a stand-in distribution named like the kiosk, whose
`kiosk doctor` exits 0 ("healthy") or 1 ("broken"): installing it exercises
the real venv + `pip install --no-index` path in seconds, without the kiosk's
heavy dependencies. With `schema`, the stand-in opens the kiosk database like the
real services do: `kiosk run` migrates it to its schema version and refuses a
newer one (as kiosk.store does), `kiosk doctor` fails on a schema it does not know.
A dependency wheel (`make_dependency`) can be shared by several releases, byte for
byte, as a real dependency is.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from kiosk.ops.release import SOURCE_DATE_EPOCH, Downgrade, sign_directory

PYPROJECT = """[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"
[project]
name = "{name}"
version = "{version}"
dependencies = {dependencies}
{scripts}
[tool.setuptools]
py-modules = {modules}
"""
ASSETS = os.urandom(300_000)  # per test session; incompressible once hex-encoded ~2:1
SCRIPTS = """[project.scripts]
kiosk = "kiosk_standin:main"
"""
MODULE = """import pathlib, sqlite3, sys, tomllib
HEALTHY = {healthy}
SCHEMA = {schema}


def _database():
    args = sys.argv[1:]
    if "--config" not in args:
        return None
    config = tomllib.loads(pathlib.Path(args[args.index("--config") + 1]).read_text())
    return pathlib.Path(config["kiosk"]["state_dir"]) / "kiosk.sqlite3"


def _open(path, migrate):
    conn = sqlite3.connect(path, isolation_level=None, timeout=15)
    conn.execute("PRAGMA journal_mode=WAL")
    found = conn.execute("PRAGMA user_version").fetchone()[0]
    if found > SCHEMA:
        sys.exit(f"database schema v{{found}} is newer than this kiosk version knows "
                 f"(v{{SCHEMA}})")
    if migrate and found < SCHEMA:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("ALTER TABLE registrations ADD COLUMN v{{}}_note TEXT".format(SCHEMA))
        conn.execute(f"PRAGMA user_version={{SCHEMA}}")
        conn.execute("COMMIT")
    return conn


def main():
    database = _database() if SCHEMA else None
    if "doctor" in sys.argv[1:]:
        if database is not None:
            _open(database, migrate=False).close()
        print('{{"checks": [], "ok": %s}}' % ("true" if HEALTHY else "false"))
        sys.exit(0 if HEALTHY else 1)
    if "run" in sys.argv[1:] and database is not None:
        conn = _open(database, migrate=True)
        rows = conn.execute("SELECT count(*) FROM registrations").fetchone()[0]
        print(f"stand-in kiosk {version} serving; {{rows}} registrations")
        return
    print("stand-in kiosk {version}")
"""


def _wheel(src: Path, wheelhouse: Path) -> Path:
    before = set(wheelhouse.glob("*.whl"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps",
                    "--no-build-isolation", "--wheel-dir", str(wheelhouse), str(src)],
                   check=True, capture_output=True, timeout=300,
                   env={**os.environ, "SOURCE_DATE_EPOCH": SOURCE_DATE_EPOCH})
    (made,) = set(wheelhouse.glob("*.whl")) - before
    return made


def make_dependency(work: Path, name: str, version: str, payload_bytes: int) -> Path:
    """A dependency wheel carrying `payload_bytes` of incompressible data."""
    module = name.replace("-", "_")
    src = work / f"dep-{name}-{version}"
    src.mkdir(parents=True)
    (src / "pyproject.toml").write_text(PYPROJECT.format(
        name=name, version=version, dependencies="[]", scripts="", modules=repr([module])))
    (src / f"{module}.py").write_text(f"BLOB = {os.urandom(payload_bytes // 2).hex()!r}\n")
    out = work / f"dep-wheels-{name}-{version}"
    out.mkdir()
    return _wheel(src, out)


def make_bundle(work: Path, key: Path, version: str, healthy: bool = True, *, schema: int = 0,
                dependencies: tuple[Path, ...] = (), downgrade: Downgrade | None = None,
                tag: str = "", assets: bytes = ASSETS, arch: str | None = None,
                extra_wheels: tuple[Path, ...] = ()) -> Path:
    """A signed bundle directory for `version` (its wheel + copies of `dependencies`),
    for `arch` (default this machine's); `extra_wheels` ride along, not required."""
    src = work / f"src-{version}{tag}"
    src.mkdir(parents=True)
    requires = [d.name.split("-")[0].replace("_", "-") + "==" + d.name.split("-")[1]
                for d in dependencies]
    (src / "pyproject.toml").write_text(PYPROJECT.format(
        name="vn-hospital-kiosk", version=version, dependencies=repr(requires),
        scripts=SCRIPTS, modules=repr(["kiosk_standin", "kiosk_standin_assets"])))
    (src / "kiosk_standin.py").write_text(MODULE.format(healthy=healthy, version=version,
                                                        schema=schema))
    # Stands for the sounds and fonts: the same bytes in every release.
    (src / "kiosk_standin_assets.py").write_text(f"SOUNDS = {assets.hex()!r}\n")
    bundle = work / f"bundle-{version}{tag}"
    (bundle / "wheelhouse").mkdir(parents=True)
    _wheel(src, bundle / "wheelhouse")
    for dep in (*dependencies, *extra_wheels):
        shutil.copy(dep, bundle / "wheelhouse" / dep.name)
    sign_directory(bundle, key, name="vn-hospital-kiosk", version=version,
                   downgrade=downgrade, arch=arch)
    return bundle
