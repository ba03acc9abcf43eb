"""A private virtual X display (Xvfb) for the demo, tests and benchmarks."""

from __future__ import annotations

import os
import select
import shutil
import subprocess
import time
from pathlib import Path


class XvfbError(RuntimeError):
    pass


class Xvfb:
    """Starts Xvfb on a free display number (Xvfb picks it: -displayfd)."""

    def __init__(self, width: int = 1920, height: int = 1080) -> None:
        self.width = width
        self.height = height
        self.process: subprocess.Popen[bytes] | None = None
        self.display = ""

    def start(self, timeout: float = 10.0) -> str:
        if shutil.which("Xvfb") is None:
            raise XvfbError("Xvfb is not installed (Debian package xvfb)")
        read, write = os.pipe()
        self.process = subprocess.Popen(
            ["Xvfb", "-displayfd", str(write), "-screen", "0",
             f"{self.width}x{self.height}x24", "-nolisten", "tcp", "-noreset"],
            pass_fds=(write,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        os.close(write)
        try:
            number = _read_display_number(read, timeout)
        finally:
            os.close(read)
        if not number:
            self.stop()
            raise XvfbError("Xvfb did not start")
        self.display = f":{number}"
        return self.display

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.process = None

    def __enter__(self) -> Xvfb:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _read_display_number(fd: int, timeout: float) -> str:
    """Read up to the newline: Xvfb writes the number and the newline separately,
    and dies ("Cannot write display number") if the pipe is closed in between."""
    deadline = time.monotonic() + timeout
    data = b""
    while b"\n" not in data:
        ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        chunk = os.read(fd, 32) if ready else b""
        if not chunk:  # timed out, or Xvfb exited
            return ""
        data += chunk
    return data.decode().strip()


def socket_path(display: str) -> Path:
    return Path("/tmp/.X11-unix") / f"X{display.lstrip(':')}"
