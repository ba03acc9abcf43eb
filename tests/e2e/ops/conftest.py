"""Fixtures shared by the fleet-update tests: release keys, signed stand-in bundles
(with one dependency wheel they share, byte for byte, as real releases do), a DDI
server on 127.0.0.1 per test, and a kiosk root with 1.0.0 installed."""

import pytest

from kiosk.config.loader import demo_config_text
from kiosk.ops.hawkbit import DdiClient
from kiosk.ops.install import install_release, switch_current
from kiosk.ops.release import generate_key, verify_bundle
from kiosk.ops.updater import UpdateSettings, doctor_health_check
from tests.config_helpers import write_kiosk_config
from tests.e2e.ops.bundles import make_bundle, make_dependency
from tests.e2e.ops.ddi_server import DdiServer

DEPENDENCY_BYTES = 400_000  # incompressible: a code-only update must not fetch it again


@pytest.fixture(scope="session")
def keys(tmp_path_factory):
    d = tmp_path_factory.mktemp("keys")
    good = generate_key(d / "release.pem")
    other = generate_key(d / "attacker.pem")
    return {"path": d / "release.pem", "public": good, "attacker": d / "attacker.pem",
            "attacker_public": other}


@pytest.fixture(scope="session")
def dependency(tmp_path_factory):
    return make_dependency(tmp_path_factory.mktemp("dep"), "kiosk-dep", "1.0",
                           DEPENDENCY_BYTES)


@pytest.fixture(scope="session")
def new_dependency(tmp_path_factory):
    """A dependency only 1.1.1 has: what a kiosk on 1.0.0 downloads whole."""
    return make_dependency(tmp_path_factory.mktemp("dep2"), "kiosk-newdep", "2.0", 200_000)


@pytest.fixture(scope="session")
def bundles(tmp_path_factory, keys, dependency, new_dependency):
    work = tmp_path_factory.mktemp("bundles")
    deps = (dependency,)
    made = {v: make_bundle(work, keys["path"], v, dependencies=deps)
            for v in ("1.0.0", "1.1.0")}
    made["1.1.1"] = make_bundle(work, keys["path"], "1.1.1",
                                dependencies=(dependency, new_dependency))
    made["1.2.0"] = make_bundle(work, keys["path"], "1.2.0", healthy=False, dependencies=deps)
    made["6.6.6"] = make_bundle(work, keys["attacker"], "6.6.6", dependencies=deps)
    return made


@pytest.fixture
def server():
    s = DdiServer().start()
    yield s
    s.stop()


@pytest.fixture
def root(tmp_path, bundles, keys):
    """A kiosk root with release 1.0.0 installed and current."""
    root = tmp_path / "root"
    install_release(verify_bundle(bundles["1.0.0"], [keys["public"]]), root)
    switch_current(root, "1.0.0")
    return root


def settings_for(root, keys, **kw):
    return UpdateSettings(root=root, state_dir=root / "var/lib/kiosk",
                          public_keys=(keys["public"],),
                          health_check=doctor_health_check(None, timeout_s=60), **kw)


def fleet_config(path, server_url, keys, root, token=None):
    """The demo as fleet kiosk `kiosk-01` of the DDI server at `server_url` (None: no
    URL), state under `root`; its `token` (None: none) in a secrets file beside it."""
    fleet = f'hawkbit_url = "{server_url}"\n' if server_url else ""
    fleet += 'controller_id = "kiosk-01"\n' + (f'token = "{token}"\n' if token else "")
    text = demo_config_text().replace('tenant = "DEFAULT"', f'tenant = "DEFAULT"\n{fleet}'
                                      f'public_keys = ["{keys["public"]}"]')
    text = text.replace('state_dir = "demo-output/state"', f'state_dir = "{root}/var/lib/kiosk"')
    return write_kiosk_config(path, text)


def client_for(server, **kw):
    return DdiClient(server.url, "DEFAULT", "kiosk-01", server.state.token,
                     sleep=lambda s: None, **kw)


def new_wheel(bundle) -> str:
    """The name of the wheel a kiosk on 1.0.0 lacks and downloads whole."""
    return next((bundle / "wheelhouse").glob("kiosk_newdep-*.whl")).name
