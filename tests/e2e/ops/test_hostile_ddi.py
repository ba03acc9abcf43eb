"""The updater (root on every kiosk) against a hostile DDI server on 127.0.0.1: whoever
answers its polls gets at most a refused update. After every refusal nothing outside
the updater's own directory changed and that directory holds no download."""

import datetime as dt
import gzip
import hashlib
import json
import os
import shutil

import pytest

from kiosk.ops.install import current_version, install_release, is_installed, switch_current
from kiosk.ops.release import Downgrade, load_private_key, verify_bundle
from kiosk.ops.updater import update_once
from tests.e2e.ops.bundles import make_bundle
from tests.e2e.ops.conftest import client_for, new_wheel, settings_for
from tests.e2e.ops.ddi_server import DdiServer

EXPIRES = dt.datetime.now(dt.UTC) + dt.timedelta(days=30)  # of the signed 0.9.0 downgrade


@pytest.fixture(scope="module")
def kiosk(tmp_path_factory, bundles, keys):
    """One kiosk root (1.0.0) for the refusals: each test proves it left it unchanged."""
    root = tmp_path_factory.mktemp("hostile") / "root"
    install_release(verify_bundle(bundles["1.0.0"], [keys["public"]]), root)
    switch_current(root, "1.0.0")
    return root


@pytest.fixture(scope="module")
def extra(tmp_path_factory, keys, dependency):
    work = tmp_path_factory.mktemp("extra")
    deps = (dependency,)
    return {"1.0.5": make_bundle(work, keys["path"], "1.0.5", dependencies=deps),
            "0.9.0": make_bundle(work, keys["path"], "0.9.0", dependencies=deps,
                                 downgrade=Downgrade(("1.0.0",), EXPIRES)),
            "0.9.1": make_bundle(work, keys["path"], "0.9.1", dependencies=deps)}


def tree(root):
    """Every file and link under root with its content hash (the updater's own
    directory excluded: checked separately)."""
    seen = {}
    for dirpath, dirnames, filenames in os.walk(root):
        if "kiosk-update" in dirpath.split(os.sep):
            continue
        for name in filenames + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]:
            path = os.path.join(dirpath, name)
            if os.path.islink(path):
                seen[path] = "-> " + os.readlink(path)
            else:
                with open(path, "rb") as fh:
                    seen[path] = hashlib.sha256(fh.read()).hexdigest()
    return seen


def downloads(root):
    d = root / "var/lib/kiosk-update/downloads"
    return sorted(p.name for p in d.iterdir()) if d.exists() else []


def refused(root, server, keys, expect, **settings):
    before = tree(root.parent)
    result = update_once(client_for(server), settings_for(root, keys, **settings))
    assert result.outcome == "rejected", result
    assert expect in result.detail, result.detail
    assert tree(root.parent) == before  # nothing outside the updater's directory
    assert downloads(root) == []  # and nothing left in it
    assert server.state.last_feedback["result"]["finished"] == "failure"
    assert current_version(root) == "1.0.0"
    return result


def wheel_names(server):
    return [n for n, _ in server.state.downloads if n.endswith(".whl")]


def kiosk_wheel(bundle):
    return next((bundle / "wheelhouse").glob("vn_hospital_kiosk-*.whl")).name


# -- path traversal ----------------------------------------------------------------------
def test_traversal_names_never_become_paths(kiosk, server, bundles, keys):
    target = kiosk / "opt/kiosk/releases/1.0.0/venv/bin/kiosk"
    relative = "../../../../opt/kiosk/releases/1.0.0/venv/bin/kiosk"
    planted = b"#!/bin/sh\necho owned\n"
    for name in (relative, str(target)):
        server.state.offer("60", bundles["1.1.0"])
        manifest = server.state.files.pop("metadata.json")
        server.state.files[name] = planted
        server.state.files["../" + "metadata.json"] = manifest  # only under a path-like name
        refused(kiosk, server, keys, "no metadata.json")
        assert b"owned" not in target.read_bytes()
        assert server.state.downloads == []  # refused before fetching anything


def test_signed_manifest_naming_a_path_is_refused(kiosk, server, bundles, keys, tmp_path):
    server.state.offer("61", bundles["1.1.0"])
    data = json.loads(server.state.files["metadata.json"])
    (entry,) = [v for k, v in data["files"].items() if "kiosk_dep" in k]
    data["files"]["wheelhouse/../../../../opt/kiosk/current/venv/bin/x.whl"] = entry
    raw = json.dumps(data).encode()
    server.state.files["metadata.json"] = raw
    server.state.files["metadata.json.sig"] = load_private_key(keys["path"]).sign(raw)
    refused(kiosk, server, keys, "not a wheel file name")
    assert wheel_names(server) == []


# -- sizes, bombs, odd numbers -------------------------------------------------------------
@pytest.mark.parametrize("announce", [True, False])
def test_oversized_artifact_is_cut_at_the_signed_size(kiosk, server, bundles, keys, announce):
    name = new_wheel(bundles["1.1.1"])
    server.state.offer("62", bundles["1.1.1"])
    server.state.files[name] += os.urandom(8 << 20)
    if not announce:
        server.state.no_length = {name}
    refused(kiosk, server, keys, "signed")
    # The client stopped reading: far less than the 8 MB was sent (socket buffers only).
    assert server.state.served.get(name, 0) < 4 << 20


def test_gzip_bomb_is_not_inflated(kiosk, server, bundles, keys):
    name = new_wheel(bundles["1.1.1"])
    server.state.offer("63", bundles["1.1.1"])
    server.state.files[name] = gzip.compress(b"\0" * (64 << 20), compresslevel=9)
    server.state.gzip = {name}
    refused(kiosk, server, keys, "encoded")
    server.state.offer("64", bundles["1.1.0"], gzip={"metadata.json"})
    server.state.files["metadata.json"] = gzip.compress(server.state.files["metadata.json"])
    refused(kiosk, server, keys, "encoded")


def test_manifest_over_the_budget_is_refused_before_any_download(kiosk, server, bundles, keys):
    server.state.offer("65", bundles["1.1.0"])
    data = json.loads(server.state.files["metadata.json"])
    for i in range(3):
        data["files"][f"wheelhouse/huge{i}-1.0-py3-none-any.whl"] = {
            "sha256": "00" * 32, "size": 500 << 20}
    raw = json.dumps(data).encode()
    server.state.files["metadata.json"] = raw
    server.state.files["metadata.json.sig"] = load_private_key(keys["path"]).sign(raw)
    refused(kiosk, server, keys, "budget")
    assert wheel_names(server) == []


def test_huge_numbers_and_odd_shapes_from_the_server(kiosk, server, bundles, keys):
    server.state.offer("66", bundles["1.1.0"],
                       patch_deployment=lambda body: body.update(id=10**400))
    result = update_once(client_for(server), settings_for(kiosk, keys))
    assert result.outcome == "error" and "action id" in result.detail
    server.state.offer("67", bundles["1.1.0"], patch_deployment=lambda body: body[
        "deployment"].update(chunks={"not": "a list"}, update=["forced"]))
    result = update_once(client_for(server), settings_for(kiosk, keys))
    assert result.outcome == "error" and "expected one of" in result.detail
    server.state.offer("68", bundles["1.1.0"], patch_base=lambda body: body.update(
        config={"polling": {"sleep": "99:99:99"}}, _links=["x"]))
    result = update_once(client_for(server), settings_for(kiosk, keys))
    assert result.outcome == "nothing" and result.poll_sleep_s == 300.0
    for raw in (b"[" * 200_000 + b"]" * 200_000, b"{" * 10, b"\xff" * 100, b"[]",
                b"x" * (2 << 20)):
        server.state.raw_base = raw
        result = update_once(client_for(server), settings_for(kiosk, keys))
        assert result.outcome == "error" and "poll failed" in result.detail, result
    assert current_version(kiosk) == "1.0.0" and downloads(kiosk) == []


# -- signatures -------------------------------------------------------------------------------
@pytest.mark.parametrize("damage", ["attacker-key", "altered", "truncated-sig", "no-sig",
                                    "unsigned-wheel"])
def test_unsigned_and_badly_signed_releases(kiosk, server, bundles, keys, damage):
    server.state.offer("69", bundles["1.1.0"])
    files = server.state.files
    expect = "signature"
    if damage == "attacker-key":
        files["metadata.json.sig"] = load_private_key(keys["attacker"]).sign(
            files["metadata.json"])
    elif damage == "altered":
        files["metadata.json"] = files["metadata.json"].replace(b'"1.1.0"', b'"1.1.1"', 1)
    elif damage == "truncated-sig":
        files["metadata.json.sig"] = files["metadata.json.sig"][:32]
    elif damage == "no-sig":
        del files["metadata.json.sig"]
        expect = "no metadata.json.sig"
    else:  # a signed manifest, but wheels swapped for others of the same size
        server.state.offer("69", bundles["1.1.1"])
        files = server.state.files
        for name in (new_wheel(bundles["1.1.1"]), kiosk_wheel(bundles["1.1.1"])):
            files[name] = os.urandom(len(files[name]))
        expect = "differ"
    refused(kiosk, server, keys, expect)
    if damage != "unsigned-wheel":
        assert wheel_names(server) == []  # verified before anything else is fetched


# -- the token stays home ----------------------------------------------------------------------
def test_download_links_to_other_hosts_get_no_token(root, server, bundles, keys):
    elsewhere = DdiServer().start()
    try:
        elsewhere.state.offer("0", bundles["1.1.0"])
        server.state.offer("70", bundles["1.1.0"])
        server.state.links = {n: elsewhere.artifact_url(n) for n in server.state.files}

        def lie(body):  # sizes and hashes in the DDI answer are not what the kiosk trusts
            for a in body["deployment"]["chunks"][0]["artifacts"]:
                a["size"], a["hashes"] = 10**400, {"sha256": "0" * 64}
        server.state.patch_deployment = lie
        result = update_once(client_for(server), settings_for(root, keys))
        assert result.outcome == "success", result.detail
        assert current_version(root) == "1.1.0"
        assert elsewhere.state.seen and all(auth is None for _, auth in elsewhere.state.seen)
        assert all(auth for path, auth in server.state.seen)  # its own API: with the token
    finally:
        elsewhere.stop()


def test_api_links_to_other_hosts_are_not_followed(kiosk, server, bundles, keys):
    elsewhere = DdiServer().start()
    try:
        server.state.offer("71", bundles["1.1.0"], patch_base=lambda body: body["_links"].update(
            deploymentBase={"href": f"{elsewhere.url}/DEFAULT/controller/v1/kiosk-01/"
                                    "deploymentBase/71"}))
        result = update_once(client_for(server), settings_for(kiosk, keys))
        assert result.outcome == "error" and "another origin" in result.detail
        assert elsewhere.state.seen == []
        server.state.offer("72", bundles["1.1.0"], patch_base=None)
        server.state.links = {"metadata.json": "http://192.0.2.7/metadata.json"}
        result = update_once(client_for(server), settings_for(kiosk, keys))
        assert result.outcome == "error" and "plain-http link" in result.detail
        assert current_version(kiosk) == "1.0.0" and downloads(kiosk) == []
    finally:
        elsewhere.stop()


# -- anti-rollback -----------------------------------------------------------------------------
def test_downgrades_are_refused_unless_signed_as_allowed(root, server, bundles, extra, keys):
    server.state.offer("73", bundles["1.1.0"])
    assert update_once(client_for(server), settings_for(root, keys)).outcome == "success"
    server.state.offer("74", bundles["1.0.0"])
    result = update_once(client_for(server), settings_for(root, keys))
    assert result.outcome == "rejected" and "older than 1.1.0" in result.detail
    assert current_version(root) == "1.1.0"
    # The highest version is kept outside the releases: removing 1.1.0 by hand and
    # going back to 1.0.0 does not reopen the door to anything below 1.1.0.
    switch_current(root, "1.0.0")
    shutil.rmtree(root / "opt/kiosk/releases/1.1.0")
    server.state.offer("75", extra["1.0.5"])
    result = update_once(client_for(server), settings_for(root, keys))
    assert result.outcome == "rejected" and "older than 1.1.0" in result.detail
    assert not (root / "opt/kiosk/releases/1.0.5").exists()
    server.state.offer("76", extra["0.9.1"])
    assert update_once(client_for(server), settings_for(root, keys)).outcome == "rejected"
    # 0.9.0 is signed to replace 1.0.0 until EXPIRES: not a moment later…
    server.state.offer("77", extra["0.9.0"])
    late = settings_for(root, keys, now=lambda: EXPIRES)
    result = update_once(client_for(server), late)
    assert result.outcome == "rejected" and "expired" in result.detail
    server.state.offer("78", extra["0.9.0"])
    result = update_once(client_for(server), settings_for(root, keys))  # …but before it
    assert result.outcome == "success", result.detail
    assert current_version(root) == "0.9.0" and is_installed(root, "0.9.0")
    assert (root / "var/lib/kiosk-update/highest-version").read_text().strip() == "1.1.0"
    # A replay once the kiosk runs anything but 1.0.0 (here 1.1.0 again) is refused.
    server.state.offer("79", bundles["1.1.0"])
    assert update_once(client_for(server), settings_for(root, keys)).outcome == "success"
    server.state.offer("80", extra["0.9.0"])
    result = update_once(client_for(server), settings_for(root, keys))
    assert result.outcome == "rejected", result.detail
    assert "replace 1.0.0 only, this kiosk runs 1.1.0" in result.detail
    assert current_version(root) == "1.1.0"
