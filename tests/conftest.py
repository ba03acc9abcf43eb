"""Hypothesis profiles: CI replays the same examples every run, so a red build is
reproducible and a flake cannot block a landing; developers explore with random seeds
(`HYPOTHESIS_PROFILE=explore make test`, or `--hypothesis-seed=random`)."""

import os

from hypothesis import settings

from tests.e2e.pcsc_fixtures import session_socket

settings.register_profile("ci", derandomize=True, print_blob=True)
settings.register_profile("explore", derandomize=False, max_examples=500)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

# Hermetic: a machine's own provisioned /etc/kiosk/kiosk.toml is never what a test
# loads (kiosk.config.loader.chosen_path); a test wanting one names its file.
os.environ["KIOSK_DEFAULT_CONFIG"] = "/nonexistent/kiosk-tests/kiosk.toml"
# Hermetic: this session's own pcscd socket (tests/e2e/pcsc_fixtures.py starts the
# daemon). Set before anything opens a PC/SC context: libpcsclite reads it once.
os.environ.pop("PCSCLITE_CSOCK_NAME", None)
session_socket()
