import os
import socket

from kiosk.runtime import sdnotify


def test_messages_reach_the_socket(notify_socket):
    assert sdnotify.notify_ready("serving")
    assert notify_socket.recv(256) == b"READY=1\nSTATUS=serving"
    assert sdnotify.notify_watchdog()
    assert notify_socket.recv(256) == b"WATCHDOG=1"
    assert sdnotify.notify_status("outbox 3")
    assert notify_socket.recv(256) == b"STATUS=outbox 3"


def test_abstract_socket(monkeypatch):
    name = f"kiosk-test-{os.getpid()}"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind("\0" + name)
    sock.settimeout(2)
    monkeypatch.setenv("NOTIFY_SOCKET", "@" + name)
    try:
        assert sdnotify.notify_watchdog()
        assert sock.recv(64) == b"WATCHDOG=1"
    finally:
        sock.close()


def test_no_socket_is_a_quiet_no_op(monkeypatch, tmp_path):
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    assert not sdnotify.notify_ready()
    monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "missing.sock"))
    assert not sdnotify.notify_watchdog()  # systemd gone: never raise


def test_watchdog_interval(monkeypatch):
    monkeypatch.delenv("WATCHDOG_USEC", raising=False)
    assert sdnotify.watchdog_interval() is None
    monkeypatch.setenv("WATCHDOG_USEC", "20000000")
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid()))
    assert sdnotify.watchdog_interval() == 10.0
    monkeypatch.setenv("WATCHDOG_PID", "1")
    assert sdnotify.watchdog_interval() is None  # meant for another process
