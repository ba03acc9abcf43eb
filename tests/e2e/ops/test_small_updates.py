"""Small updates: a release that changes only the kiosk's own code fetches the changed
pieces of its wheel, never the dependencies or the unchanged assets; a kiosk with
nothing installed still gets everything (first install)."""

from kiosk.ops.install import current_version
from kiosk.ops.release import verify_bundle
from kiosk.ops.updater import update_once
from tests.e2e.ops.conftest import DEPENDENCY_BYTES, client_for, settings_for


def sizes(bundle):
    return {p.name: p.stat().st_size for p in (bundle / "wheelhouse").glob("*.whl")}


def test_code_only_release_fetches_only_changed_pieces(root, server, bundles, keys):
    server.state.offer("90", bundles["1.1.0"])
    result = update_once(client_for(server), settings_for(root, keys))
    assert result.outcome == "success", result.detail
    wheels = sizes(bundles["1.1.0"])
    (own,) = [n for n in wheels if n.startswith("vn_hospital_kiosk-")]
    (dep,) = [n for n in wheels if n.startswith("kiosk_dep-")]
    assert dep not in server.state.served  # the dependency: reused from 1.0.0
    # The kiosk's wheel: only entries that changed (module, metadata, record, directory).
    assert 0 < server.state.served[own] < wheels[own] // 10, (server.state.served, wheels)
    assert all(r and r.startswith("bytes=") for n, r in server.state.downloads if n == own)
    assert result.downloaded_bytes == server.state.served[own]
    manifest = verify_bundle(bundles["1.1.0"], [keys["public"]]).manifest
    assert any(w.chunks for w in manifest.wheels if w.name == own)


def test_first_install_fetches_the_whole_wheelhouse(tmp_path, server, bundles, keys):
    root = tmp_path / "fresh"
    server.state.offer("91", bundles["1.1.0"])
    result = update_once(client_for(server), settings_for(root, keys))
    assert result.outcome == "success", result.detail
    assert current_version(root) == "1.1.0"
    wheels = sizes(bundles["1.1.0"])
    assert {n: server.state.served.get(n) for n in wheels} == wheels
    assert result.downloaded_bytes == sum(wheels.values()) > DEPENDENCY_BYTES


def test_altered_piece_is_refused(root, server, bundles, keys):
    server.state.offer("92", bundles["1.1.0"])
    own = next(n for n in sizes(bundles["1.1.0"]) if n.startswith("vn_hospital_kiosk-"))
    data = bytearray(server.state.files[own])
    data[-30] ^= 0xFF  # in the central directory: a piece 1.0.0 does not have
    server.state.files[own] = bytes(data)
    result = update_once(client_for(server), settings_for(root, keys))
    assert result.outcome == "rejected" and "chunk differs" in result.detail
    assert current_version(root) == "1.0.0"
    assert list((root / "var/lib/kiosk-update/downloads").iterdir()) == []
