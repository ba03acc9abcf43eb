"""The signed manifest is read strictly: signature first, then every field a kiosk
will trust (names that can never be paths, sizes within the budget, the version)."""

import datetime as dt
import json

import pytest

from kiosk.ops.release import (
    MAX_RELEASE_BYTES,
    BundleError,
    generate_key,
    load_private_key,
    parse_manifest,
    version_key,
)

SHA = "ab" * 32


@pytest.fixture(scope="module")
def key(tmp_path_factory):
    path = tmp_path_factory.mktemp("k") / "release.pem"
    public = generate_key(path)
    return load_private_key(path), public


def signed(key, **changes):
    data = {"format": 2, "name": "vn-hospital-kiosk", "version": "1.2.0", "arch": "arm64",
            "allow_downgrade": False,
            "files": {"wheelhouse/vn_hospital_kiosk-1.2.0-py3-none-any.whl":
                      {"sha256": SHA, "size": 1000}}}
    data.update(changes)
    raw = json.dumps(data).encode()
    return raw, key[0].sign(raw)


def test_a_good_manifest(key):
    manifest = parse_manifest(*signed(key), [key[1]])
    assert manifest.version == "1.2.0" and manifest.requirement == "vn-hospital-kiosk==1.2.0"
    assert manifest.arch == "arm64"
    assert [w.name for w in manifest.wheels] == ["vn_hospital_kiosk-1.2.0-py3-none-any.whl"]


def test_one_malformed_pinned_key_does_not_disable_the_others(key):
    assert parse_manifest(*signed(key), ["00", "zz" * 32, key[1]]).version == "1.2.0"


@pytest.mark.parametrize("damage", ["byte", "short", "empty", "other-key"])
def test_signature_is_checked_before_the_json_is_read(key, tmp_path, damage):
    raw, sig = signed(key)
    if damage == "byte":
        raw = raw.replace(b"1000", b"1001")
    elif damage == "short":
        sig = sig[:10]
    elif damage == "empty":
        sig = b""
    else:
        generate_key(tmp_path / "other.pem")
        sig = load_private_key(tmp_path / "other.pem").sign(raw)
    with pytest.raises(BundleError, match="signature"):
        parse_manifest(raw, sig, [key[1]])
    # Not even JSON is parsed from unsigned bytes.
    with pytest.raises(BundleError, match="signature"):
        parse_manifest(b"{" * 100, sig, [key[1]])


@pytest.mark.parametrize("name", [
    "wheelhouse/../../../../opt/kiosk/releases/2.0/venv/bin/kiosk.whl",
    "wheelhouse//etc/cron.d/x.whl", "/etc/passwd", "wheelhouse/.hidden.whl",
    "wheelhouse/a/b.whl", "wheelhouse/x.tar.gz", "wheelhouse/" + "a" * 300 + ".whl",
    "wheelhouse/x\x00.whl"])
def test_signed_names_that_could_be_paths_are_refused(key, name):
    files = {name: {"sha256": SHA, "size": 10},
             "wheelhouse/vn_hospital_kiosk-1.2.0-py3-none-any.whl": {"sha256": SHA, "size": 10}}
    with pytest.raises(BundleError, match="not a wheel file name"):
        parse_manifest(*signed(key, files=files), [key[1]])


@pytest.mark.parametrize("entry, message", [
    ({"sha256": SHA, "size": 10**400}, "size"), ({"sha256": SHA, "size": -1}, "size"),
    ({"sha256": SHA, "size": 0}, "size"), ({"sha256": SHA, "size": 1.5}, "size"),
    ({"sha256": SHA, "size": True}, "size"), ({"sha256": "AB" * 32, "size": 1}, "sha256"),
    ({"sha256": SHA[:-1], "size": 1}, "sha256"), ("x", "not an object")])
def test_odd_sizes_and_hashes_are_refused(key, entry, message):
    files = {"wheelhouse/vn_hospital_kiosk-1.2.0-py3-none-any.whl": entry}
    with pytest.raises(BundleError, match=message):
        parse_manifest(*signed(key, files=files), [key[1]])


def test_the_size_budget_is_the_sum(key):
    each = 400 << 20
    files = {f"wheelhouse/dep{i}-1.0-py3-none-any.whl": {"sha256": SHA, "size": each}
             for i in range(MAX_RELEASE_BYTES // each + 1)}
    files["wheelhouse/vn_hospital_kiosk-1.2.0-py3-none-any.whl"] = {"sha256": SHA, "size": 1}
    with pytest.raises(BundleError, match="budget"):
        parse_manifest(*signed(key, files=files), [key[1]])


@pytest.mark.parametrize("changes, message", [
    ({"version": "1.3.0"}, "no vn_hospital_kiosk wheel of version 1.3.0"),
    ({"version": "../../1"}, "dotted numbers"), ({"version": "1.2.0rc1"}, "dotted numbers"),
    ({"name": "other"}, "not vn-hospital-kiosk"), ({"format": 1}, "format"),
    ({"allow_downgrade": "yes"}, "wrong types"), ({"files": {}}, "0 files"),
    ({"allow_downgrade": True}, "must name the versions it replaces"),
    ({"downgrade": True}, "downgrade must be"),
    ({"downgrade": {"replaces": [], "expires": "2030-01-01T00:00:00+00:00"}}, "downgrade must"),
    ({"downgrade": {"replaces": ["1.2.0"]}}, "downgrade must be"),
    ({"downgrade": {"replaces": ["1.2.0"], "expires": "2030-01-01"}}, "time zone"),
    ({"downgrade": {"replaces": ["1.2.0"], "expires": "soon"}}, "not ISO 8601"),
    ({"downgrade": {"replaces": ["../x"], "expires": "2030-01-01T00:00Z"}}, "version"),
    ({"arch": None}, "no architecture"), ({"arch": "../arm64"}, "no architecture"),
    ({"arch": 64}, "no architecture")])
def test_fields_are_checked(key, changes, message):
    with pytest.raises(BundleError, match=message):
        parse_manifest(*signed(key, **changes), [key[1]])


def test_versions_compare_as_numbers():
    assert version_key("1.10.0") > version_key("1.9.9") > version_key("1.9")
    assert version_key("2") == version_key("2.0.0")
    with pytest.raises(BundleError):
        version_key("1.0.0-beta")


def test_a_signed_downgrade_names_what_it_replaces_and_until_when(key):
    """Decision 0101: the permission is bound to the versions it replaces and a time."""
    manifest = parse_manifest(*signed(key, downgrade={
        "replaces": ["1.3.0", "1.3.1"], "expires": "2030-01-01T07:00:00+07:00"}), [key[1]])
    permission = manifest.downgrade
    assert permission is not None and permission.replaces == ("1.3.0", "1.3.1")
    before = dt.datetime(2029, 12, 31, 23, 59, tzinfo=dt.UTC)
    assert permission.refusal("1.3.1", before) is None
    assert "replace 1.3.0, 1.3.1 only, this kiosk runs 1.4.0" in permission.refusal("1.4.0",
                                                                                  before)
    assert "expired" in permission.refusal("1.3.0", dt.datetime(2030, 1, 1, tzinfo=dt.UTC))
    assert parse_manifest(*signed(key), [key[1]]).downgrade is None
