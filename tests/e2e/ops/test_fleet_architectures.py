"""A fleet of amd64 and arm64 (Raspberry Pi) kiosks: one deployment carries both
architectures' releases and each kiosk installs its own; a release signed for
another architecture is refused before any wheel is fetched (decision 0171).

The stand-in wheels are pure Python, so the "arm64" kiosk runs on this machine;
its architecture is the updater's setting, as platform.machine() gives it on a Pi.
"""

import json

import pytest

from kiosk.ops.install import current_version, release_dir
from kiosk.ops.updater import update_once
from tests.e2e.ops.bundles import make_bundle, make_dependency
from tests.e2e.ops.conftest import client_for, settings_for


@pytest.fixture(scope="module")
def per_arch(tmp_path_factory, keys, dependency):
    """1.1.0 for each architecture: the same kiosk wheel and shared dependency, plus a
    wheel only that architecture has (standing for its native wheels)."""
    work = tmp_path_factory.mktemp("arch-bundles")
    made = {}
    for arch in ("amd64", "arm64"):
        native = make_dependency(work, f"native-{arch}", "1.0", 20_000)
        made[arch] = make_bundle(work, keys["path"], "1.1.0", dependencies=(dependency,),
                                 tag=arch, arch=arch, extra_wheels=(native,))
    return made


def wheelhouse(root) -> set[str]:
    return {p.name.split("-")[0] for p in (release_dir(root, "1.1.0") / "wheelhouse").iterdir()}


@pytest.mark.parametrize("arch", ["amd64", "arm64"])
def test_each_kiosk_installs_its_own_architecture_and_refuses_another(
        root, server, keys, per_arch, arch):
    other = "arm64" if arch == "amd64" else "amd64"
    # Offered alone (plain metadata.json), the other architecture's release is refused
    # on its signed arch, before any wheel is fetched.
    server.state.offer("81", per_arch[other])
    settings = settings_for(root, keys, arch=arch)
    result = update_once(client_for(server), settings)
    assert result.outcome == "rejected"
    assert f"built for {other}; this kiosk is {arch}" in result.detail
    assert server.state.last_feedback["result"]["finished"] == "failure"
    assert current_version(root) == "1.0.0"
    assert {n for n, _ in server.state.downloads} == {"metadata.json", "metadata.json.sig"}

    server.state.offer_architectures("82", per_arch, downloads=[])
    names = set(server.state.files)
    assert {"metadata.amd64.json", "metadata.arm64.json"} <= names
    assert "metadata.json" not in names
    result = update_once(client_for(server), settings)
    assert result.outcome == "success", result.detail
    assert current_version(root) == "1.1.0"
    installed = json.loads((release_dir(root, "1.1.0") / "manifest.json").read_bytes())
    assert installed["arch"] == arch
    assert f"native_{arch}" in wheelhouse(root) and f"native_{other}" not in wheelhouse(root)
    fetched = {name for name, _ in server.state.downloads}
    assert f"metadata.{arch}.json" in fetched
    assert not any(other in name for name in fetched), fetched  # not even its manifest
