"""A camera that cannot be opened is reported once, in words (CameraError), not by
OpenCV's warnings on stderr at every attempt: they flooded the journal and the
acceptance test's `--json` stderr on a kiosk without a camera (issue 25)."""

from __future__ import annotations

import subprocess
import sys

CODE = """
from drivers.camera import CameraError, V4l2Source
for _ in range(2):
    try:
        V4l2Source(57).open()
    except CameraError as exc:
        print(exc)
"""


def test_an_absent_camera_prints_no_opencv_warning():
    proc = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True,
                          timeout=60, check=False)
    assert proc.stdout.splitlines() == ["cannot open camera 57"] * 2, proc.stdout + proc.stderr
    assert "WARN" not in proc.stderr and "VIDEOIO" not in proc.stderr, proc.stderr
