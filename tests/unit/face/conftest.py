import pytest

from drivers.face import FaceMatcher
from tests import face_images as fi


@pytest.fixture(scope="session")
def matcher():
    m = FaceMatcher()
    m.load()
    return m


@pytest.fixture(scope="session")
def faces(matcher):
    """Each test image's one face, found once for the session."""
    return {n: matcher.analyse(fi.rgb(n)).face for n in (*fi.SAME, *fi.OTHERS)}
