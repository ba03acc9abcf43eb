"""V4L2 exposure request: applied where the camera allows it, harmless where it refuses."""

from __future__ import annotations

import cv2
import pytest

from drivers.camera import V4l2Source, open_source, request_exposure


class FakeControls:
    """A UVC camera's controls as OpenCV's V4L2 backend exposes them."""

    def __init__(self, *, manual: bool = True, exposure_range: tuple[int, int] = (3, 2047),
                 raises: bool = False) -> None:
        self.values = {cv2.CAP_PROP_AUTO_EXPOSURE: 3.0, cv2.CAP_PROP_EXPOSURE: 333.0}
        self.manual, self.range, self.raises = manual, exposure_range, raises
        self.calls: list[tuple[int, float]] = []

    def get(self, prop: int) -> float:
        if self.raises:
            raise cv2.error("VIDIOC_G_CTRL: Inappropriate ioctl for device")
        return self.values.get(prop, -1.0)

    def set(self, prop: int, value: float) -> bool:
        self.calls.append((prop, value))
        if prop == cv2.CAP_PROP_AUTO_EXPOSURE:
            if value == 1 and not self.manual:
                return False
            self.values[prop] = value
            return True
        if prop == cv2.CAP_PROP_EXPOSURE:
            if self.values[cv2.CAP_PROP_AUTO_EXPOSURE] != 1:
                return False  # V4L2 ignores the exposure while auto is on
            # Drivers clamp to their range and report success: read it back to know.
            self.values[prop] = float(min(max(value, self.range[0]), self.range[1]))
            return True
        return False


def test_short_exposure_is_applied_in_100us_units() -> None:
    cap = FakeControls()
    assert request_exposure(cap, 8.0)
    assert cap.values[cv2.CAP_PROP_AUTO_EXPOSURE] == 1
    assert cap.values[cv2.CAP_PROP_EXPOSURE] == 80


def test_camera_without_manual_mode_keeps_auto() -> None:
    cap = FakeControls(manual=False)
    assert not request_exposure(cap, 8.0)
    assert cap.values[cv2.CAP_PROP_AUTO_EXPOSURE] == 3
    assert (cv2.CAP_PROP_EXPOSURE, 80) not in cap.calls


def test_exposure_out_of_range_puts_auto_back() -> None:
    # This camera's shortest exposure is 20 ms: it clamps 8 ms up and says "ok".
    cap = FakeControls(exposure_range=(200, 2047))
    assert not request_exposure(cap, 8.0)
    assert cap.values[cv2.CAP_PROP_AUTO_EXPOSURE] == 3  # not left in manual at 20 ms


def test_driver_errors_are_harmless() -> None:
    assert not request_exposure(FakeControls(raises=True), 8.0)


def test_exposure_reaches_v4l2_sources_only() -> None:
    source = open_source("/dev/video7", exposure_ms=8.0)
    assert isinstance(source, V4l2Source) and source.exposure_ms == 8.0
    assert not source.exposure_applied  # nothing asked before open()
    default = open_source("2")
    assert isinstance(default, V4l2Source)
    assert default.exposure_ms is None  # the camera's auto exposure by default


class FakeCapture(FakeControls):
    """cv2.VideoCapture for V4l2Source.open(): opened, with the controls above."""

    def __init__(self, device: object, api: int, params: list[int]) -> None:
        super().__init__()
        self.device = device

    def isOpened(self) -> bool:  # OpenCV's name
        return True

    def release(self) -> None:
        pass


def test_v4l2_source_asks_for_the_exposure_on_every_open(
        monkeypatch: pytest.MonkeyPatch) -> None:
    opened: list[FakeCapture] = []

    def make(*args: object) -> FakeCapture:
        cap = FakeCapture(*args)  # type: ignore[arg-type]
        opened.append(cap)
        return cap

    monkeypatch.setattr(cv2, "VideoCapture", make)
    source = V4l2Source(0, exposure_ms=10.0)
    for _ in range(2):  # a reconnect opens the device again: the camera forgot it
        source.open()
        assert source.exposure_applied
        source.close()
    assert [cap.values[cv2.CAP_PROP_EXPOSURE] for cap in opened] == [100, 100]
    auto = V4l2Source(0)
    auto.open()
    assert not auto.exposure_applied
    assert opened[-1].values[cv2.CAP_PROP_AUTO_EXPOSURE] == 3  # left alone
