"""Chips no one here made (issue 18): every quirk profile of the virtual CCCD, served
through real pcscd + vpcd, read by `kiosk card read --json` to the same identity,
with no READ BINARY past a file's end."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from drivers.virtual.cccd import CardOptions, Identity, VirtualCccd, build_card_image
from drivers.virtual.cccd_pki import VirtualPki
from drivers.virtual.cccd_quirks import CLONES, ODD_CARDS, QUIRKS
from tests.chip_identity import FAILED_CHECK
from tests.cli_helpers import KIOSK, run_kiosk
from tests.e2e.pcsc_fixtures import (
    BASE,
    Pcscd,
    virtual_card_server,
    wait_card_state,
)

pytestmark = pytest.mark.e2e
NOT_IDENTITY = ("photo", "photo_problem", "files", "authentication", "stats")


def _card(pki: VirtualPki, quirks: frozenset[str]) -> VirtualCccd:
    ident = Identity.from_json(BASE)
    options = CardOptions(quirks=quirks)
    return VirtualCccd(ident, options, build_card_image(ident, options, pki))


def _read(trust_dir: Path) -> tuple[int, dict[str, Any], str]:
    proc = run_kiosk("card", "read", "--can", "123456", "--trust-store", str(trust_dir),
                     "--json", timeout=60)  # fmt: skip
    return proc.returncode, json.loads(proc.stdout or "null"), proc.stderr


def _identity(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k not in NOT_IDENTITY}


@pytest.fixture(scope="module")
def baseline(pcscd: Pcscd, pki: VirtualPki, trust_dir: Path) -> dict[str, Any]:
    card = _card(pki, frozenset())
    with virtual_card_server(card, pcscd):
        code, data, err = _read(trust_dir)
    assert code == 0, err
    assert data["full_name"] == BASE["full_name"] and data["document_number"] == "190123456"
    assert card.over_reads == 0
    # issue 18's budget with extended length (Virtual PCD reads extended APDUs)
    assert 0 < data["stats"]["identity_apdus"] <= 14 < data["stats"]["apdus"]
    return data


@pytest.mark.parametrize("quirk", sorted(QUIRKS))
def test_each_profile_reads_the_same_identity(
    pcscd: Pcscd, pki: VirtualPki, trust_dir: Path, baseline: dict[str, Any], quirk: str
) -> None:
    card = _card(pki, frozenset({quirk}))
    with virtual_card_server(card, pcscd):
        code, data, err = _read(trust_dir)
    assert code == 0, err
    assert _identity(data) == _identity(baseline)
    assert card.over_reads == 0, "a READ BINARY asked past a file's end"
    auth = data["authentication"]
    assert auth == {"access": "PACE", "active": "verified", "failures": [],
                    "passive": "absent" if quirk == "no-sod" else "verified"}  # fmt: skip
    photo = data["photo"]
    if quirk == "dg2-no-image":
        assert photo is None
    else:
        assert photo["format"] == ("jp2" if quirk == "dg2-jp2" else "jpeg")
        assert (photo["width"], photo["height"]) == (240, 320)
    assert data["stats"]["identity_apdus"] < data["stats"]["apdus"]


def test_simulate_with_quirks_subprocess(
    pcscd: Pcscd, tmp_path: Path, baseline: dict[str, Any]
) -> None:
    ident = tmp_path / "identity.json"
    ident.write_text(json.dumps(BASE, ensure_ascii=False), encoding="utf-8")
    bad = run_kiosk("card", "simulate", "--identity", str(ident), "--quirks", "no-sfi,bogus")
    assert bad.returncode == 2 and "bogus" in bad.stderr
    quirks = "eof-6282-nomac,com-garbage,no-sfi,short-only,dg2-bare,le-partial,errors-plain"
    proc = subprocess.Popen(
        [KIOSK, "card", "simulate", "--identity", str(ident), "--vpcd-port", str(pcscd.port),
         "--pki", str(tmp_path / "pki"), "--quirks", quirks],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=dict(os.environ),
    )  # fmt: skip
    try:
        wait_card_state(pcscd.reader, True, timeout=20)
        code, data, err = _read(tmp_path / "pki" / "trust")
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        wait_card_state(pcscd.reader, False, timeout=5)
    assert code == 0, err
    assert _identity(data) == _identity(baseline)
    assert data["authentication"]["passive"] == "verified" and data["photo"]["format"] == "jpeg"
    # no SFI: one refused read, then SELECT + READ per file; short APDUs, 200-byte answers
    assert data["stats"]["identity_apdus"] > baseline["stats"]["identity_apdus"]


@pytest.mark.parametrize("profile", sorted(CLONES) + sorted(ODD_CARDS))
def test_clones_are_refused_naming_the_check_odd_cards_give_their_holder(
        pcscd: Pcscd, pki: VirtualPki, trust_dir: Path, tmp_path: Path, profile: str) -> None:
    """Issue 24, through real pcscd (`kiosk run --script` serves a clone with `kiosk card
    simulate --quirks`: tests/e2e/ui/test_kiosk_run_script.py)."""
    key = ["--can", BASE["id_number"][-6:]]
    with virtual_card_server(_card(pki, frozenset({profile})), pcscd):
        if profile == "bac-6988":  # the BAC key from a file (no patient data in argv)
            (tmp_path / "bac-wrong.txt").write_text("190123456 900101 290101\n")
            (tmp_path / "bac.txt").write_text("190123456 900101 300101\n")
            key = ["--bac", str(tmp_path / "bac.txt")]
            wrong = run_kiosk("card", "read", "--bac", str(tmp_path / "bac-wrong.txt"),
                              "--json", timeout=60)
            assert wrong.returncode == 3 and "6988" in wrong.stderr, wrong.stderr
        proc = run_kiosk("card", "read", *key, "--trust-store", str(trust_dir), "--json",
                         timeout=60)  # fmt: skip
    if profile in CLONES:
        assert proc.returncode == 7 and FAILED_CHECK[profile] in proc.stderr, proc.stderr
        assert "Traceback" not in proc.stderr
        return
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["id_number"] == BASE["id_number"] and data["authentication"]["failures"] == []
    if profile == "empty-optional":
        assert data["files"]["DG13"] == "empty" and data["full_name"] == "NGUYEN THI HONG NHUNG"
    else:
        assert data["full_name"] == BASE["full_name"] and data["authentication"]["access"] == "BAC"
