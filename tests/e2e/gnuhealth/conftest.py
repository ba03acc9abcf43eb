import shutil

import pytest

from tests.e2e.gnuhealth.server import DB, PASSWORD, ROOT, GnuHealthServer, built_database


@pytest.fixture(scope="session")
def gnuhealth_db():
    return built_database(ROOT / ".cache")


@pytest.fixture
def gnuhealth(gnuhealth_db, tmp_path):
    """A fresh GNU Health server (its own copy of the database) for one test."""
    shutil.copy(gnuhealth_db, tmp_path / f"{DB}.sqlite")
    server = GnuHealthServer(tmp_path).start()
    yield server
    server.stop()


@pytest.fixture
def gnuhealth_settings(gnuhealth):
    return {"url": gnuhealth.url, "database": DB, "username": "admin", "password": PASSWORD,
            "institution_code": "01824"}
