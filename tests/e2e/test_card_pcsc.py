"""`kiosk card` end to end: the virtual CCCD behind real pcscd + vsmartcard-vpcd."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from drivers.virtual.cccd import CardOptions, Identity, VirtualCccd, build_card_image
from drivers.virtual.cccd_pki import VirtualPki, generate
from tests.cli_helpers import run_kiosk
from tests.e2e.pcsc_fixtures import BASE, Pcscd, virtual_card_server

pytestmark = pytest.mark.e2e

KEYS = [
    "id_number", "full_name", "date_of_birth", "sex", "nationality", "ethnicity", "religion",
    "hometown", "residence", "identifying_marks", "issue_date", "expiry_date", "old_id_number",
    "father_name", "mother_name", "spouse_name", "document_number", "mrz", "photo",
    "photo_problem", "files", "authentication", "stats",
]  # fmt: skip


def _card(pki: VirtualPki, identity: dict[str, Any] | None = None, **opts: Any) -> VirtualCccd:
    ident = Identity.from_json(identity or BASE)
    options = CardOptions(**opts)
    return VirtualCccd(ident, options, build_card_image(ident, options, pki))


def _read(*args: str) -> tuple[int, dict[str, Any] | None, str]:
    proc = run_kiosk("card", "read", *args, "--json", timeout=60)
    data = json.loads(proc.stdout) if proc.stdout.strip() else None
    return proc.returncode, data, proc.stderr


def test_pace_can_read_verified(pcscd: Pcscd, pki: VirtualPki, trust_dir: Path) -> None:
    with virtual_card_server(_card(pki), pcscd):
        code, data, err = _read("--can", "123456", "--trust-store", str(trust_dir))
    assert code == 0, err
    assert data is not None and list(data) == KEYS
    assert data["full_name"] == "Nguyễn Thị Hồng Nhung" and data["sex"] == "Nữ"
    assert data["date_of_birth"] == "1990-01-01" and data["expiry_date"] == "2030-01-01"
    assert data["document_number"] == "190123456" and data["mother_name"] == "Trần Thị Lụa"
    assert data["spouse_name"] is None and data["id_number"] == "001190123456"
    assert data["authentication"] == {"access": "PACE", "passive": "verified", "active": "verified",
                                      "failures": []}
    assert data["files"] == {f"DG{n}": "read" for n in (1, 2, 13, 14, 15)}
    assert data["photo"]["format"] == "jpeg" and data["photo"]["bytes"] > 1000
    assert data["stats"]["apdus"] <= 30
    # issue 18: the identity (before DG2 and active authentication) in <= 14 extended APDUs
    assert data["stats"]["identity_apdus"] <= 14 < data["stats"]["apdus"]


def test_bac_with_mrz(pcscd: Pcscd, pki: VirtualPki) -> None:
    card = _card(pki, pace=False)
    mrz = Identity.from_json(BASE).mrz
    with virtual_card_server(card, pcscd):
        code, data, err = _read("--mrz", mrz, "--no-photo")
    assert code == 0, err
    assert data is not None and data["authentication"]["access"] == "BAC"
    assert data["authentication"]["passive"] == "untrusted" and data["photo"] is None


@pytest.mark.parametrize(
    ("id_number", "sex", "dob", "issue", "card_expiry", "attempts_note"),
    [
        # issued 1 year before 25: valid to 40
        ("001300123456", "Nữ", "2000-05-10", "2024-05-10", "2040-05-10", "rule"),
        # issued after 60: no expiry (MRZ 991231)
        ("001050123456", "Nam", "1950-05-10", "2021-05-10", None, "rule"),
        # a card whose issuer read the 2-year edge the other way: neighbour milestone
        ("001300123457", "Nữ", "2000-06-01", "2023-12-01", "2025-06-01", "neighbour"),
    ],
)
def test_bac_from_qr_renewal_age(
    pcscd: Pcscd, pki: VirtualPki, id_number: str, sex: str, dob: str, issue: str,
    card_expiry: str | None, attempts_note: str,
) -> None:  # fmt: skip
    ident = BASE | {"id_number": id_number, "sex": sex, "date_of_birth": dob,
                    "issue_date": issue, "expiry_date": card_expiry}  # fmt: skip
    card = _card(pki, ident, pace=False)
    d = lambda iso: "".join(reversed(iso.split("-")))  # noqa: E731 - yyyy-mm-dd -> ddmmyyyy
    qr = f"{id_number}||{BASE['full_name']}|{d(dob)}|{sex}|Hà Nội|{d(issue)}"
    with virtual_card_server(card, pcscd):
        code, data, err = _read("--qr", qr, "--no-photo")
    assert code == 0, err
    assert data is not None and data["authentication"]["access"] == "BAC"
    assert data["expiry_date"] == card_expiry


def test_wrong_can_exit_3_after_one_attempt(pcscd: Pcscd, pki: VirtualPki) -> None:
    card = _card(pki)
    with virtual_card_server(card, pcscd):
        code, data, err = _read("--can", "000000")
    assert code == 3 and data is None
    assert len(err.strip().splitlines()) == 1 and "CAN" in err
    # One PACE attempt, no retries: EF.CardAccess + MSE + 4 GENERAL AUTHENTICATE.
    assert card.apdu_count <= 7


def test_card_removed_mid_read_exit_4(pcscd: Pcscd, pki: VirtualPki) -> None:
    with virtual_card_server(_card(pki), pcscd, remove_after=12):
        code, data, err = _read("--can", "123456")
    assert code == 4 and data is None
    assert len(err.strip().splitlines()) == 1 and "removed" in err


def test_tampered_dg_fails_passive_exit_7(pcscd: Pcscd, pki: VirtualPki, trust_dir: Path) -> None:
    with virtual_card_server(_card(pki, tamper_dg=13), pcscd):
        code, data, err = _read("--can", "123456", "--trust-store", str(trust_dir))
    assert code == 7
    assert data is not None and data["authentication"]["passive"] == "failed"
    assert len(err.strip().splitlines()) == 1


def test_untrusted_csca(pcscd: Pcscd, pki: VirtualPki, tmp_path: Path) -> None:
    generate("TEST other CSCA (virtual)").write_trust_store(tmp_path)
    with virtual_card_server(_card(pki), pcscd):
        code, data, err = _read("--can", "123456", "--no-photo", "--trust-store", str(tmp_path))
    assert code == 0, err
    assert data is not None and data["authentication"]["passive"] == "untrusted"


def test_no_card_exit_4(pcscd: Pcscd) -> None:
    code, data, err = _read("--can", "123456")
    assert code == 4 and data is None and len(err.strip().splitlines()) == 1


def test_bad_arguments_exit_2() -> None:
    code, _, err = _read("--can", "12ab")
    assert code == 2 and len(err.strip().splitlines()) == 1


def test_simulate_subprocess_readers_and_read(simulate: Path) -> None:
    proc = run_kiosk("card", "readers", "--json")
    assert proc.returncode == 0
    rows = json.loads(proc.stdout)
    assert any(r["name"] == "Virtual PCD 00 00" and r["card_present"] for r in rows)
    t = time.perf_counter()
    code, data, err = _read("--can", "123456", "--trust-store", str(simulate))
    assert code == 0, err
    assert data is not None and data["authentication"]["passive"] == "verified"
    assert time.perf_counter() - t < 60  # sanity bound only (no timing claims in tests)
