from pathlib import Path

import pytest

from kiosk.config import Config
from tests.unit.registration.helpers import make_config


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return make_config(tmp_path / "state")
