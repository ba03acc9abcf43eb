"""debian-packages.txt's three lists: the .deb depends on [runtime] only."""

import subprocess
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[3] / "scripts/debian-packages.sh"


def packages(*lists):
    return subprocess.run([str(SCRIPT), *lists], capture_output=True, text=True, timeout=30)


def test_runtime_has_what_a_kiosk_runs_and_nothing_test_only():
    runtime = packages("runtime").stdout.split()
    assert {"cage", "pcscd", "libccid", "python3", "fonts-dejavu-core"} <= set(runtime)
    test = packages("test").stdout.split()
    assert {"vsmartcard-vpcd", "xauth"} <= set(test)
    assert "xvfb" in runtime  # the acceptance test (`kiosk run --script`) runs on a kiosk
    assert not set(runtime) & set(test)
    assert not any("vsmartcard" in p or p in ("xauth", "lintian", "swig") for p in runtime)
    everything = packages().stdout.split()
    assert sorted(everything) == sorted(runtime + packages("build").stdout.split() + test)


def test_an_unknown_list_is_an_error():
    proc = packages("runtme")
    assert proc.returncode == 2 and "no [runtme] list" in proc.stderr
