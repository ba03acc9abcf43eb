"""Fixtures the chip-reading unit tests share."""

import pytest

from drivers.virtual.cccd_pki import VirtualPki, generate


@pytest.fixture(scope="session")
def pki() -> VirtualPki:
    """A test CSCA and document signer for the virtual CCCDs (generated once per run)."""
    return generate()
