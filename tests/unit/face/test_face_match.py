"""The face-match driver on real faces (PyPI packages' test images, `make face-data`):
one person across photos and chip-sized JPEG / JPEG 2000 copies matches, other people
do not, and what cannot be decided says why."""

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.face import (
    Face,
    FaceSettings,
    ImageUnreadable,
    Probe,
    decode_image,
    distance,
    landmark_motion,
)
from tests import face_images as fi


def test_one_person_across_photos_is_within_the_threshold(matcher, faces):
    for a, b in itertools.combinations(fi.SAME, 2):
        result = matcher.decide(Probe(faces[a], None, {}), Probe(faces[b], None, {}))
        assert result.decision == "match", (a, b, result)
        assert result.distance is not None and result.distance <= result.threshold == 0.5


def test_different_people_are_far_beyond_the_threshold(matcher, faces):
    people = [fi.SAME[0], *fi.OTHERS]
    for a, b in itertools.combinations(people, 2):
        result = matcher.decide(Probe(faces[a], None, {}), Probe(faces[b], None, {}))
        assert result.decision == "no_match", (a, b, result)
        assert result.distance > 0.7


@pytest.mark.parametrize("fmt", ["jp2", "jpeg"])
def test_a_chip_sized_photo_matches_the_holder_and_nobody_else(matcher, faces, fmt):
    photo = fi.chip_photo("obama2.jpg", faces["obama2.jpg"].box, fmt)
    assert 10_000 < len(photo) <= 15 * 1024
    assert photo.startswith(b"\x00\x00\x00\x0cjP" if fmt == "jp2" else b"\xff\xd8")
    reference = matcher.analyse_bytes(photo)
    assert reference.face is not None and reference.ms["decode"] >= 0
    for name in ("obama.jpg", "obama3.jpg", "obama_partial_face.jpg"):
        assert matcher.decide(reference, Probe(faces[name], None, {})).decision == "match"
    for name in fi.OTHERS:
        result = matcher.decide(reference, Probe(faces[name], None, {}))
        assert result.decision == "no_match" and result.distance > 0.7


def test_no_face_and_two_faces_cannot_tell(matcher, faces):
    reference = Probe(faces["obama.jpg"], None, {})
    no_face = matcher.decide(reference, matcher.analyse(fi.rgb(fi.NO_FACE)))
    assert (no_face.decision, no_face.reason, no_face.distance) == ("cannot_tell", "no_face", None)
    two = fi.side_by_side(("obama.jpg", faces["obama.jpg"].box),
                          ("biden.jpg", faces["biden.jpg"].box))
    several = matcher.decide(reference, matcher.analyse(two))
    assert (several.decision, several.reason) == ("cannot_tell", "several_faces")
    photo_without_face = matcher.analyse(fi.rgb(fi.NO_FACE), reference=True)
    assert matcher.decide(photo_without_face, reference).reason == "no_reference_face"


def test_a_small_face_and_a_dark_frame_say_so(matcher, faces):
    image = fi.rgb("obama.jpg")  # the face is ~237 px wide
    small = image[::4, ::4]
    assert matcher.analyse(small).reason == "face_too_small"
    dark = (image * 0.15).astype(np.uint8)
    assert matcher.analyse(dark).reason == "too_dark"
    black = np.zeros_like(image)
    assert matcher.analyse(black).reason == "too_dark"
    # The same small face is fine when the kiosk is mounted for it.
    from drivers.face import FaceMatcher
    near = FaceMatcher(FaceSettings(min_face_px=40)).analyse(small)
    assert near.face is not None and near.face.width < 90


def test_a_distant_passer_by_is_not_a_second_face(matcher, faces):
    frame = fi.side_by_side(("obama.jpg", faces["obama.jpg"].box),
                            ("biden.jpg", faces["biden.jpg"].box))
    w = frame.shape[1]
    frame = frame.copy()
    # Shrink the right-hand person to a face half the size (further away).
    right = frame[:, w // 2:]
    small = right[::2, ::2]
    right[:] = 0
    right[: small.shape[0], : small.shape[1]] = small
    probe = matcher.analyse(frame)
    assert probe.reason is None and probe.face is not None
    assert probe.face.box[2] <= w // 2  # the patient in front, not the passer-by


@pytest.mark.parametrize("data", [b"", b"not an image", b"\xff\xd8\xff\xe0" + b"\x00" * 40,
                                  b"\x00\x00\x00\x0cjP  \r\n\x87\n" + b"\x00" * 30])
def test_unreadable_bytes_are_a_clear_error(data):
    with pytest.raises(ImageUnreadable):
        decode_image(data)


def _face(points):
    return Face((0, 0, 100, 100), tuple(map(tuple, points)), 100.0, np.zeros(128))


def test_landmark_motion_ignores_a_rigid_move_and_sees_a_turn():
    eyes_nose = np.array([[70.0, 40], [55, 42], [30, 40], [45, 42], [50, 70]])
    angle = np.radians(12)
    rotate = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    moved = eyes_nose @ rotate.T * 1.3 + [25, -10]  # a photo turned, nearer, shifted
    assert landmark_motion(_face(eyes_nose), _face(moved)) < 1e-9
    turned = eyes_nose.copy()
    turned[4, 0] += 6  # the nose moves towards one eye: the head turned
    assert landmark_motion(_face(eyes_nose), _face(turned)) > 0.03


def test_distance_is_symmetric_and_zero_on_itself(faces):
    a, b = faces["obama.jpg"], faces["biden.jpg"]
    assert distance(a, a) == 0 and distance(a, b) == distance(b, a)


_SEED_PHOTO: dict[str, bytes] = {}


def _seed() -> bytes:
    if "jp2" not in _SEED_PHOTO:
        import io

        from PIL import Image

        out = io.BytesIO()
        Image.new("RGB", (24, 32), (120, 90, 60)).save(out, "JPEG2000")
        _SEED_PHOTO["jp2"] = out.getvalue()
    return _SEED_PHOTO["jp2"]


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_hostile_photo_bytes_decode_or_fail_cleanly(data):
    """What a chip (or a file) gives as its photo: an image, or ImageUnreadable."""
    seed = bytearray(_seed())
    for _ in range(data.draw(st.integers(0, 8))):
        at = data.draw(st.integers(0, len(seed) - 1))
        seed[at] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(seed)))
    try:
        image = decode_image(bytes(seed[:cut]))
    except ImageUnreadable:
        return
    assert image.ndim == 3 and image.shape[2] == 3
