import shutil

import pytest

from tests.e2e.gnuhealth.server import DB, PASSWORD, ROOT, GnuHealthServer, built_database


def pytest_collection_modifyitems(session, config, items):
    """Build the seeded database (minutes on a fresh 2-core machine, once per GNU Health
    version) before any test runs, not inside the first test's 300 s timeout."""
    if config.option.collectonly:
        return
    if any("gnuhealth" in item.fixturenames for item in items if hasattr(item, "fixturenames")):
        built_database(ROOT / ".cache")


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
