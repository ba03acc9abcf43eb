"""Fleet update download size: what one kiosk downloads for a code-only release and
for a dependency change, with the real kiosk wheel and its real dependency wheels.

Runs the updater's real fetch path (signed manifest, reuse by hash, the kiosk's wheel
assembled from unchanged zip entries + HTTP Range) against the DDI test server on
127.0.0.1 and counts the bytes the server sent. Alternative in the same run: the
previous format, where every release was the whole wheelhouse in one artifact.

    1.0.0  the checkout as it is, with its full wheelhouse (installed on the kiosk)
    1.0.1  code-only: one line of kiosk/ops/updater.py changed
    1.0.2  dependency change: one dependency wheel replaced by another version
           (--dependency NAME==VERSION, default requests==2.31.0), plus the kiosk wheel

Usage: python benchmarks/update_size.py --wheelhouse DIR [--kiosks 60]
  DIR: `pip wheel --wheel-dir DIR .` of this checkout (its dependencies are taken
  from there; the kiosk wheel is rebuilt per release from a copy of the checkout).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kiosk.ops import fetch
from kiosk.ops.hawkbit import Artifact, DdiClient
from kiosk.ops.release import (
    PROJECT,
    SOURCE_DATE_EPOCH,
    WHEEL_PREFIX,
    generate_key,
    pack,
    sign_directory,
)
from tests.e2e.ops.ddi_server import DdiServer

ROOT = Path(__file__).resolve().parents[1]


def kiosk_wheel(work: Path, version: str, edit: bool) -> Path:
    """The real kiosk wheel, built the way `kiosk release build` builds it."""
    src = work / f"src-{version}"
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(
        ".git", ".venv", ".cache", "demo-output", "*.egg-info", "build", "__pycache__",
        ".mypy_cache", ".ruff_cache", ".pytest_cache"), symlinks=True)
    pyproject = src / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('version = "0.1.0"',
                                                       f'version = "{version}"', 1))
    if edit:  # a one-line fix
        updater = src / "kiosk/ops/updater.py"
        updater.write_text(updater.read_text().replace(
            'SERVICES = ("kiosk-sync.service", "kiosk-ui.service")',
            'SERVICES = ("kiosk-sync.service", "kiosk-ui.service")  # fixed', 1))
    out = work / f"wheel-{version}"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps",
                    "--no-build-isolation", "--wheel-dir", str(out), str(src)], check=True,
                   env={**os.environ, "SOURCE_DATE_EPOCH": SOURCE_DATE_EPOCH}, timeout=600)
    return next(out.glob(f"{WHEEL_PREFIX}-*.whl"))


def bundle(work: Path, key: Path, version: str, own: Path, deps: list[Path]) -> Path:
    out = work / f"bundle-{version}"
    (out / "wheelhouse").mkdir(parents=True)
    for wheel in [own, *deps]:
        shutil.copy(wheel, out / "wheelhouse" / wheel.name)
    sign_directory(out, key, name=PROJECT, version=version)
    return out


def installed(root: Path, bundle_dir: Path) -> Path:
    """What an installed release keeps for later updates (its wheelhouse and manifest);
    the venv itself plays no part in what is downloaded."""
    release = root / "opt/kiosk/releases" / bundle_dir.name.removeprefix("bundle-")
    shutil.copytree(bundle_dir / "wheelhouse", release / "wheelhouse")
    shutil.copy(bundle_dir / "metadata.json", release / "manifest.json")
    (release / ".installed").write_text("\n")
    return release


def download_size(server: DdiServer, root: Path, bundle_dir: Path, public: str) -> int:
    server.state.offer("1", bundle_dir)
    server.state.served.clear()
    client = DdiClient(server.url, "DEFAULT", "kiosk-01", server.state.token)
    try:
        manifest = fetch.fetch_manifest(client, _artifacts(server), (public,))
        got = fetch.fetch_wheels(client, manifest, _artifacts(server),
                                 root / "var/lib/kiosk-update/downloads",
                                 list((root / "opt/kiosk/releases").iterdir()))
    finally:
        client.close()
    assert got.downloaded_bytes <= server.state.bytes_served
    fetch.clear(root / "var/lib/kiosk-update/downloads")
    return server.state.bytes_served


def whole_changed(old: Path | None, new: Path) -> int:
    """Bytes of the wheels the old release does not have, each fetched whole."""
    have = set() if old is None else {
        fetch.sha256_file(p) for p in (old / "wheelhouse").glob("*.whl")}
    return sum(p.stat().st_size for p in (new / "wheelhouse").glob("*.whl")
               if fetch.sha256_file(p) not in have)


def _artifacts(server: DdiServer) -> dict[str, Artifact]:
    return {n: Artifact(n, server.artifact_url(n)) for n in server.state.files}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--wheelhouse", type=Path, required=True)
    parser.add_argument("--dependency", default="requests==2.31.0")
    parser.add_argument("--kiosks", type=int, default=60)
    args = parser.parse_args()
    deps = sorted(p for p in args.wheelhouse.glob("*.whl")
                  if not p.name.startswith(f"{WHEEL_PREFIX}-"))
    name = args.dependency.split("==")[0].replace("-", "_").lower()
    with tempfile.TemporaryDirectory(prefix="update-size-") as tmp:
        work = Path(tmp)
        key = work / "release.pem"
        public = generate_key(key)
        other = work / "other-dep"
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps",
                        "--only-binary=:all:", "-d", str(other), args.dependency],
                       check=True, timeout=600)
        (replacement,) = list(other.glob("*.whl"))
        swapped = [d for d in deps if d.name.lower().split("-")[0] != name] + [replacement]
        assert len(swapped) == len(deps), f"{name} is not in the wheelhouse"
        releases = {
            "1.0.0": bundle(work, key, "1.0.0", kiosk_wheel(work, "1.0.0", False), deps),
            "1.0.1": bundle(work, key, "1.0.1", kiosk_wheel(work, "1.0.1", True), deps),
            "1.0.2": bundle(work, key, "1.0.2", kiosk_wheel(work, "1.0.2", True), swapped),
        }
        full = {v: pack(b, work / f"{v}.tar").stat().st_size for v, b in releases.items()}
        server = DdiServer().start()
        try:
            rows = []
            for version, label in (("1.0.1", "code-only release"),
                                   ("1.0.2", f"dependency change ({replacement.name})")):
                root = work / f"kiosk-{version}"
                installed(root, releases["1.0.0"])
                rows.append((label, download_size(server, root, releases[version], public),
                             whole_changed(releases["1.0.0"], releases[version]),
                             full[version]))
            first = work / "kiosk-first"
            (first / "opt/kiosk/releases").mkdir(parents=True)
            rows.append(("first install (nothing on the kiosk)",
                         download_size(server, first, releases["1.0.1"], public),
                         whole_changed(None, releases["1.0.1"]), full["1.0.1"]))
        finally:
            server.stop()
    print(f"wheelhouse: {len(deps)} dependency wheels + the kiosk wheel; "
          f"{args.kiosks} kiosks")
    print("per kiosk: this format | changed wheels fetched whole (no pieces) | the whole "
          "wheelhouse in one artifact (previous format); fleet: times the kiosks")
    print(f"{'update':52} {'per kiosk':>10} {'whole whl':>10} {'whole tar':>10} "
          f"{'fleet':>9} {'fleet tar':>10}")
    for label, got, whole, tar in rows:
        print(f"{label:52} {got / 1e6:8.2f}MB {whole / 1e6:8.2f}MB {tar / 1e6:8.1f}MB "
              f"{got * args.kiosks / 1e9:7.3f}GB {tar * args.kiosks / 1e9:8.2f}GB")


if __name__ == "__main__":
    main()
