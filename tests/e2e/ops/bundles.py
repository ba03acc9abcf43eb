"""Tiny signed release bundles for updater/provisioning tests.

Each is a real wheel of a stand-in distribution named like the kiosk, whose
`kiosk doctor` exits 0 ("healthy") or 1 ("broken"): installing it exercises
the real venv + `pip install --no-index` path in seconds, without the kiosk's
heavy dependencies.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from kiosk.ops.release import pack, sign_directory

PYPROJECT = """[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"
[project]
name = "vn-hospital-kiosk"
version = "{version}"
[project.scripts]
kiosk = "kiosk_standin:main"
[tool.setuptools]
py-modules = ["kiosk_standin"]
"""
MODULE = """import sys, time
HEALTHY = {healthy}
INSTALL_DELAY = 0
def main():
    if "doctor" in sys.argv[1:]:
        print('{{"checks": [], "ok": %s}}' % ("true" if HEALTHY else "false"))
        sys.exit(0 if HEALTHY else 1)
    print("stand-in kiosk {version}")
"""


def make_bundle(work: Path, key: Path, version: str, healthy: bool = True) -> tuple[Path, Path]:
    """Returns (bundle directory, packed .tar artifact)."""
    src = work / f"src-{version}"
    src.mkdir(parents=True)
    (src / "pyproject.toml").write_text(PYPROJECT.format(version=version))
    (src / "kiosk_standin.py").write_text(MODULE.format(healthy=healthy, version=version))
    bundle = work / f"bundle-{version}"
    (bundle / "wheelhouse").mkdir(parents=True)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps",
                    "--no-build-isolation", "--wheel-dir", str(bundle / "wheelhouse"), str(src)],
                   check=True, capture_output=True, timeout=300)
    sign_directory(bundle, key, name="vn-hospital-kiosk", version=version)
    return bundle, pack(bundle, work / f"kiosk-{version}.tar")
