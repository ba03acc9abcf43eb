"""Run the installed `kiosk` console script as a real subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

KIOSK = str(Path(sys.executable).with_name("kiosk"))


def run_kiosk(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None,
              timeout: float = 120, input: str | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([KIOSK, *args], capture_output=True, text=True, env=full_env,
                          cwd=cwd, timeout=timeout, check=False, input=input)


def run_json(*args: str, **kwargs: Any) -> Any:
    proc = run_kiosk(*args, **kwargs)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)
