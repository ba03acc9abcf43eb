"""The private Xvfb stays up and accepts X clients after start() returns."""

from __future__ import annotations

import os
import socket
import threading
import time

import pytest

from kiosk.ui.xvfb import Xvfb, _read_display_number, socket_path

pytestmark = pytest.mark.e2e


def test_the_display_number_is_read_up_to_the_newline() -> None:
    # Xvfb writes the number and the newline separately and exits with "Cannot
    # write display number" if the reader has closed the pipe in between.
    read, write = os.pipe()
    second_write: list[BaseException | None] = []

    def xvfb() -> None:
        os.write(write, b"12")
        time.sleep(0.2)
        try:
            os.write(write, b"\n")
            second_write.append(None)
        except OSError as exc:
            second_write.append(exc)
        os.close(write)

    writer = threading.Thread(target=xvfb)
    writer.start()
    try:
        assert _read_display_number(read, timeout=5) == "12"
    finally:
        writer.join()
        os.close(read)
    assert second_write == [None]


def test_xvfb_keeps_running_after_reporting_its_display() -> None:
    for _ in range(3):
        with Xvfb(1920, 1080) as x:
            for _ in range(10):  # it used to die within two seconds of start()
                time.sleep(0.2)
                assert x.process is not None and x.process.poll() is None, "Xvfb exited"
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
                client.connect(str(socket_path(x.display)))


def test_the_display_number_read_gives_up_when_nothing_comes() -> None:
    read, write = os.pipe()
    try:
        started = time.monotonic()
        assert _read_display_number(read, timeout=0.2) == ""
        assert time.monotonic() - started < 2
    finally:
        os.close(read)
        os.close(write)
