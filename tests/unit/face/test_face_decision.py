"""One decision over a few camera frames (kiosk.services.face_check)."""

import itertools

import numpy as np

from drivers.face import Probe
from kiosk.services.face_check import decide
from tests import face_images as fi


def frames(*names):
    images = itertools.cycle([fi.rgb(n) for n in names])
    return lambda: next(images)


def reference(matcher, faces, name="obama2.jpg"):
    return matcher.analyse_bytes(fi.chip_photo(name, faces[name].box))


def test_the_holder_moving_naturally_matches(matcher, faces):
    out = decide(matcher, reference(matcher, faces), frames("obama.jpg", "obama3.jpg"),
                 budget_s=30)
    assert (out.decision, out.reason, out.frames) == ("match", None, 2)
    assert out.distance < out.threshold and out.ms["decision"] > 0


def test_a_still_picture_of_the_holder_is_not_enough(matcher, faces):
    out = decide(matcher, reference(matcher, faces), frames("obama.jpg"), budget_s=30)
    assert (out.decision, out.reason) == ("cannot_tell", "no_movement")
    assert out.distance < out.threshold


def test_someone_else_does_not_match(matcher, faces):
    out = decide(matcher, reference(matcher, faces), frames("biden.jpg", "astronaut.png"),
                 budget_s=30)
    assert out.decision == "no_match" and out.distance > out.threshold


def test_nothing_to_see_says_why(matcher, faces):
    ref = reference(matcher, faces)
    out = decide(matcher, ref, frames(fi.NO_FACE), budget_s=30, max_frames=2)
    assert (out.decision, out.reason, out.distance) == ("cannot_tell", "no_face", None)
    dark = decide(matcher, ref, lambda: np.zeros((480, 640, 3), np.uint8), budget_s=30,
                  max_frames=1)
    assert dark.reason == "too_dark"
    none = decide(matcher, ref, lambda: None, budget_s=0.05)
    assert (none.decision, none.reason, none.frames) == ("cannot_tell", "no_frame", 0)
    no_ref = decide(matcher, Probe(None, "no_face", {}), frames("obama.jpg"))
    assert no_ref.reason == "no_reference_face"


def test_the_budget_ends_the_decision(matcher, faces):
    ticks = itertools.count()
    out = decide(matcher, reference(matcher, faces), frames("obama.jpg", "obama3.jpg"),
                 budget_s=1.5, clock=lambda: float(next(ticks)))
    # The fake clock runs out after the first frame: one good frame is not a decision.
    assert out.decision == "cannot_tell" and out.frames == 1


class FakeCamera:
    """The two methods of drivers.camera.Camera the face port uses, over still images."""

    def __init__(self, *names):
        import cv2

        self.images = [cv2.cvtColor(fi.rgb(n), cv2.COLOR_RGB2BGR) for n in names]
        self.seq = 0

    def latest(self):
        return None

    def wait_frame(self, after_seq=0, timeout=1.0):
        from drivers.camera import Frame

        self.seq = max(self.seq, after_seq) + 1
        return Frame(self.seq, 0.0, self.images[self.seq % len(self.images)])


def test_the_kiosk_port_prepares_the_photo_once_and_decides(matcher, faces):
    from kiosk.services.face_check import CameraFaceCheck

    photo = fi.chip_photo("obama2.jpg", faces["obama2.jpg"].box)
    camera = FakeCamera("obama.jpg", "obama3.jpg")
    paused = []
    port = CameraFaceCheck(lambda: camera, 0.5, 90, budget_ms=30_000, pause_qr=paused.append)
    port.prepare(photo)
    prepared = port._prepared
    result = port.check(photo)
    assert paused == [True, False]  # QR decoding stops while the frames are analysed
    assert (result.decision, result.reason) == ("match", None) and result.threshold == 0.5
    assert port._prepared is prepared  # described once, while the consent was read
    other = CameraFaceCheck(lambda: FakeCamera("biden.jpg", "astronaut.png"), 0.5, 90, 30_000)
    assert other.check(photo).decision == "no_match"
    assert CameraFaceCheck(lambda: None, 0.5, 90, 1000).check(photo).reason == "no_camera"
    assert port.check(b"not a photo").reason == "no_reference_face"
