"""Fixtures for end-to-end tests."""

from pathlib import Path

import pytest

from drivers.virtual.cccd_pki import VirtualPki, generate
from tests.e2e.his_helpers import fhir  # noqa: F401  (pytest fixtures)
from tests.e2e.pcsc_fixtures import pcscd, simulate  # noqa: F401  (pytest fixtures)


@pytest.fixture(scope="session")
def pki() -> VirtualPki:
    """A test CSCA and document signer for the virtual CCCDs (generated once per run)."""
    return generate()


@pytest.fixture(scope="session")
def trust_dir(pki: VirtualPki, tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("trust")
    pki.write_trust_store(d)
    return d
