"""`kiosk card read --nfc` end to end through nfcpy's real reader stack (anticollision,
RATS, ISO-DEP chaining, WTX) over its UDP frontend, against the virtual CCCD
emulated as an ISO 14443-4 card on 127.0.0.1 (drivers.virtual.nfc_udp)."""

from __future__ import annotations

import json
import socket
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from drivers.emrtd.errors import CardRemovedError, NoCardError
from drivers.nfc import NfcTransport
from drivers.virtual.cccd import CardOptions, Identity, VirtualCccd, build_card_image
from drivers.virtual.cccd_pki import VirtualPki
from drivers.virtual.nfc_udp import IsoDepUdpCard
from tests.cli_helpers import run_kiosk

pytestmark = pytest.mark.e2e

IDENTITY = {
    "id_number": "079085001234", "full_name": "Lê Thị Ánh Tuyết", "date_of_birth": "1985-03-12",
    "sex": "Nữ", "issue_date": "2022-08-01", "expiry_date": "2045-03-12",
    "residence": "Phường Bến Nghé, Quận 1, TP. Hồ Chí Minh",
}  # fmt: skip


def _card(pki: VirtualPki, **opts: Any) -> VirtualCccd:
    ident = Identity.from_json(IDENTITY)
    options = CardOptions(**opts)
    return VirtualCccd(ident, options, build_card_image(ident, options, pki))


def _read(path: str, *args: str) -> tuple[int, dict[str, Any] | None, str, float]:
    start = time.monotonic()
    proc = run_kiosk("card", "read", "--nfc", path, *args, "--json", timeout=60)
    data = json.loads(proc.stdout) if proc.stdout.strip() else None
    return proc.returncode, data, proc.stderr, time.monotonic() - start


def test_pace_with_can_over_nfcpy(pki: VirtualPki, trust_dir: Path) -> None:
    with IsoDepUdpCard(_card(pki)) as card:
        code, data, err, _ = _read(card.path, "--can", "001234", "--trust-store", str(trust_dir))
    assert code == 0, err
    assert data is not None
    assert data["full_name"] == "Lê Thị Ánh Tuyết" and data["id_number"] == "079085001234"
    assert data["residence"] == "Phường Bến Nghé, Quận 1, TP. Hồ Chí Minh"
    assert data["authentication"] == {"access": "PACE", "passive": "verified", "active": "verified",
                                      "failures": []}
    assert data["photo"]["format"] == "jpeg" and data["photo"]["bytes"] > 1000
    # PN53x readers take short APDUs only: every one went through the ISO-DEP layer.
    assert card.apdus == data["stats"]["apdus"]


def test_bac_with_mrz_over_nfcpy(pki: VirtualPki) -> None:
    card_obj = _card(pki, pace=False)
    mrz = Identity.from_json(IDENTITY).mrz
    with IsoDepUdpCard(card_obj) as card:
        code, data, err, _ = _read(card.path, "--mrz", mrz, "--no-photo")
    assert code == 0, err
    assert data is not None and data["authentication"]["access"] == "BAC"
    assert data["authentication"]["passive"] == "untrusted"  # no trust store given
    assert data["date_of_birth"] == "1985-03-12" and data["photo"] is None


def test_wrong_can_is_access_denied(pki: VirtualPki) -> None:
    with IsoDepUdpCard(_card(pki)) as card:
        code, data, err, seconds = _read(card.path, "--can", "999999")
    assert code == 3 and data is None and err.strip()
    assert seconds < 10  # the CLI's own start-up dominates


def test_card_lifted_mid_read_is_a_clean_error(pki: VirtualPki) -> None:
    with IsoDepUdpCard(_card(pki)) as card:
        transport = NfcTransport(card.path)
        try:
            transport.transmit(bytes.fromhex("00A4040C07A0000002471001"))  # select the eMRTD
            card.remove()
            start = time.monotonic()
            with pytest.raises(CardRemovedError):
                transport.transmit(bytes.fromhex("00B0000010"))
            assert time.monotonic() - start < 1.5
        finally:
            transport.close()


def test_card_lifted_during_a_cli_read_exits_4(pki: VirtualPki) -> None:
    with IsoDepUdpCard(_card(pki)) as card:
        def lift_after_authentication() -> None:
            deadline = time.monotonic() + 30
            while card.apdus < 12 and time.monotonic() < deadline:
                time.sleep(0.005)
            card.remove()

        lifter = threading.Thread(target=lift_after_authentication)
        lifter.start()
        code, data, err, _ = _read(card.path, "--can", "001234")
        lifter.join()
    assert code == 4 and data is None and err.strip(), err


def test_no_card_in_the_field() -> None:
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()  # nothing answers on this port
    with pytest.raises(NoCardError):
        NfcTransport(f"udp:127.0.0.1:{port}", timeout=0.1)
