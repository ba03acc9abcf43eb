"""Fixtures for end-to-end tests."""

from tests.e2e.pcsc_fixtures import pcscd  # noqa: F401  (pytest fixture)
