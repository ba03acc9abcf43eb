import subprocess

import pytest

from kiosk.ops import activity


def test_announce_sends_the_status_the_reader_recognises(notify_socket):
    assert activity.announce(busy=True)
    busy = notify_socket.recv(256).decode()
    assert activity.announce(busy=False)
    idle = notify_socket.recv(256).decode()
    shown = {"busy": busy.removeprefix("STATUS="), "idle": idle.removeprefix("STATUS=")}
    assert activity.ui_serving_patient(run=lambda _cmd: shown["busy"] + "\n")
    assert not activity.ui_serving_patient(run=lambda _cmd: shown["idle"] + "\n")


@pytest.mark.parametrize("output", ["", "\n", "outbox 3\n", "starting\n"])
def test_a_ui_that_said_nothing_useful_counts_as_idle(output):
    assert not activity.ui_serving_patient(run=lambda _cmd: output)


def test_systemctl_is_asked_for_the_ui_units_status_text():
    asked: list[list[str]] = []
    activity.ui_serving_patient(run=lambda cmd: asked.append(cmd) or "")
    assert asked == [["systemctl", "show", "kiosk-ui.service", "--property=StatusText",
                      "--value"]]


def test_systemctl_missing_or_hanging_counts_as_idle():
    def missing(_cmd):
        raise FileNotFoundError("systemctl")

    def hanging(cmd):
        raise subprocess.TimeoutExpired(cmd, 10)

    assert not activity.ui_serving_patient(run=missing)
    assert not activity.ui_serving_patient(run=hanging)


def test_real_systemctl_without_a_running_ui_is_idle():
    # Here systemd is not PID 1 (or the unit is not loaded): nobody is at the kiosk.
    assert not activity.ui_serving_patient()
