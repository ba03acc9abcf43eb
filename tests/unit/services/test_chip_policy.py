"""Issue 24 item 2: what a refused chip does besides the patient's screen. The policy
setting only ever adds requirements; the staff screen counts today's refusals."""

from __future__ import annotations

from pathlib import Path

import pytest

from drivers.emrtd.passive import TrustStore
from drivers.emrtd.transport import CallableTransport
from drivers.virtual.cccd import CardOptions, VirtualCccd, build_card_image
from drivers.virtual.cccd import Identity as CardHolder
from drivers.virtual.cccd_pki import VirtualPki, generate
from kiosk.config import ConfigError, demo_config
from kiosk.config.loader import demo_config_text, load_file
from kiosk.config.sections import CHIP_POLICIES
from kiosk.journey.effects import AccessKey
from kiosk.journey.ports import ChipReadError
from kiosk.services.chip_identity import ChipIdentityReader
from kiosk.services.wiring import build
from kiosk.ui.staff_status import staff_status
from tests.chip_identity import BASE


@pytest.fixture(scope="module")
def pki() -> VirtualPki:
    return generate()


def _port(pki: VirtualPki, policy: str, trusted: bool = True,
          **options: object) -> ChipIdentityReader:
    holder = CardHolder.from_json(BASE)
    card = VirtualCccd(holder, image=build_card_image(holder, CardOptions(**options), pki))  # type: ignore[arg-type]
    trust = TrustStore(anchors=[pki.csca_cert]) if trusted else None
    return ChipIdentityReader(lambda: CallableTransport(card.process), trust, policy)


def test_every_policy_reads_a_genuine_trusted_card(pki: VirtualPki) -> None:
    for policy in CHIP_POLICIES:
        shown: list[object] = []
        checks = _port(pki, policy).read_chip(AccessKey(can=BASE["id_number"][-6:]),
                                              shown.append)
        assert checks.verification == "chip_verified" and len(shown) == 1


@pytest.mark.parametrize(("policy", "trusted", "options", "named"), [
    ("trusted", False, {}, "not chained to a trusted CSCA"),
    ("trusted_active", True, {"active_authentication": False}, "active authentication is absent"),
])
def test_a_stricter_policy_refuses_what_standard_reads_unverified(
        pki: VirtualPki, policy: str, trusted: bool, options: dict[str, object],
        named: str) -> None:
    key = AccessKey(can=BASE["id_number"][-6:])
    standard = _port(pki, "standard", trusted, **options).read_chip(key, lambda i: None)
    assert standard.verification in ("chip_untrusted", "chip_verified")
    with pytest.raises(ChipReadError) as err:
        _port(pki, policy, trusted, **options).read_chip(key, lambda i: None)
    assert err.value.reason == "verification_failed" and named in err.value.detail


def test_a_policy_cannot_relax_and_strict_ones_need_a_trust_store(tmp_path: Path) -> None:
    for value, ok in (("lenient", False), ("trusted", False), ("standard", True)):
        text = demo_config_text().replace('reader = "virtual"',
                                          f'reader = "virtual"\nchip_policy = "{value}"')
        path = tmp_path / f"{value}.toml"
        path.write_text(text, "utf-8")
        if ok:
            assert load_file(path).devices.chip_policy == value
            continue
        with pytest.raises(ConfigError) as err:
            load_file(path)
        assert "chip_policy" in str(err.value)


def test_the_staff_screen_counts_todays_refused_chips(tmp_path: Path) -> None:
    assembly = build(demo_config(state_dir=tmp_path / "state"))
    try:
        assert staff_status(assembly).chip_refused == 0
        assembly.ports.statistics.count("chip.refused")
        assembly.ports.statistics.count("chip.refused")
        assert staff_status(assembly).chip_refused == 2
    finally:
        assembly.close()
