"""Issue 24: clones are refused, naming the failed check; odd but honest cards give
their holder. In process, over the real protocol, with the virtual CCCD's profiles."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from cryptography.hazmat.primitives.serialization import Encoding
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.emrtd.errors import AuthenticationFailedError
from drivers.emrtd.keys import CanKey, MrzKey
from drivers.emrtd.lds import EF_SOD, dg_fid
from drivers.emrtd.lds.sod import build_security_object, build_sod
from drivers.emrtd.passive import TrustStore
from drivers.emrtd.reader import CardRead, read_card
from drivers.emrtd.tlv import tlv
from drivers.emrtd.transport import CallableTransport
from drivers.virtual.cccd import (
    CardImage,
    CardOptions,
    Identity,
    VirtualCccd,
    build_card_image,
)
from drivers.virtual.cccd_pki import VirtualPki
from drivers.virtual.cccd_quirks import CLONES, ODD_CARDS
from kiosk.journey.effects import AccessKey
from kiosk.journey.ports import ChipReadError
from kiosk.services.chip_identity import ChipIdentityReader, card_read_json
from tests.chip_identity import BASE, FAILED_CHECK


def _card(pki: VirtualPki, *quirks: str) -> VirtualCccd:
    holder = Identity.from_json(BASE)
    options = CardOptions(quirks=frozenset(quirks))
    return VirtualCccd(holder, options, build_card_image(holder, options, pki))


def _read(card: VirtualCccd, pki: VirtualPki, key: Any = None, **kw: Any) -> CardRead:
    return read_card(CallableTransport(card.process), key or CanKey(card.identity.can),
                     trust_store=TrustStore(anchors=[pki.csca_cert]), **kw)


def test_the_profiles_are_named_and_described() -> None:
    assert set(FAILED_CHECK) == set(CLONES) and set(ODD_CARDS) == {"empty-optional", "bac-6988"}


@pytest.mark.parametrize("clone", sorted(CLONES))
def test_every_clone_fails_a_named_check(pki: VirtualPki, clone: str) -> None:
    r = _read(_card(pki, clone), pki)
    assert r.verification_failed
    assert any(f.startswith(FAILED_CHECK[clone]) for f in r.failures), r.failures
    assert card_read_json(r)["authentication"]["failures"] == list(r.failures)
    if clone != "clone-dg-swapped":
        assert r.active == "failed" and r.passive.level == "verified"


@pytest.mark.parametrize("clone", sorted(CLONES))
def test_the_identity_port_never_verifies_a_clone(pki: VirtualPki, clone: str) -> None:
    card = _card(pki, clone)
    port = ChipIdentityReader(lambda: CallableTransport(card.process),
                              TrustStore(anchors=[pki.csca_cert]))
    shown: list[Any] = []
    with pytest.raises(ChipReadError) as err:
        port.read_chip(AccessKey(can=card.identity.can), shown.append)
    assert err.value.reason == "verification_failed"
    assert FAILED_CHECK[clone] in err.value.detail
    # Shown early at most, and then only as pending: never as verified.
    assert [p.verification for p in shown] == ([] if clone == "clone-dg-swapped"
                                               else ["chip_pending"])


def test_a_dg_the_sod_lists_but_the_chip_hides_is_never_absent(pki: VirtualPki) -> None:
    r = _read(_card(pki, "clone-hide-aa"), pki)
    assert r.file_states[14] == r.file_states[15] == "absent"
    assert "DG14 is listed in EF.SOD but not served" in r.failures


def test_empty_optional_file_gives_the_holder_from_dg1(pki: VirtualPki) -> None:
    """Like upstream vsmartcard's ePass: an empty 010D (bare 6282), no EF.SOD."""
    card = _card(pki, "empty-optional")
    r = _read(card, pki)
    data = card_read_json(r)
    assert not r.verification_failed and r.dg13 is None
    assert data["files"] == {"DG1": "read", "DG2": "read", "DG13": "empty"}
    assert data["id_number"] == BASE["id_number"] and data["full_name"] == "NGUYEN THI HONG NHUNG"
    assert data["authentication"] == {"access": "PACE", "passive": "absent", "active": "absent",
                                      "failures": []}
    assert data["photo"]["format"] == "jpeg" and data["photo_problem"] is None


def test_no_photo_says_why(pki: VirtualPki) -> None:
    data = card_read_json(_read(_card(pki, "dg2-no-image"), pki))
    assert data["photo"] is None and "no JPEG or JPEG 2000" in data["photo_problem"]


def test_6988_at_mutual_authenticate_is_a_wrong_key(pki: VirtualPki) -> None:
    card = _card(pki, "bac-6988")
    wrong = MrzKey("190123456", "900101", "290101")
    with pytest.raises(AuthenticationFailedError) as err:
        _read(card, pki, wrong)
    assert err.value.sw == 0x6988 and "MUTUAL AUTHENTICATE" in str(err.value)
    r = _read(card, pki, MrzKey("190123456", "900101", "300101"))
    assert r.access == "BAC" and not r.verification_failed and r.active == "verified"


@settings(max_examples=25, deadline=None)
@given(n=st.sampled_from([14, 15]), body=st.binary(max_size=120) | st.sampled_from([
    b"\x30\x13\x06\x07\x2a\x86\x48\xce\x3d\x02\x01\x06\x08\x2a\x86\x48\xce\x3d\x03\x01\x09",
    b"\x30\x00", b"\x31\x03\x30\x01\x06"]))
def test_any_signed_dg14_or_dg15_is_a_named_failure_never_a_crash(
        pki: VirtualPki, n: int, body: bytes) -> None:
    """Whatever the issuer signed into DG14/DG15, the read ends in a typed result: the
    hash matches (re-signed here), so only the parser and active authentication decide."""
    card = _card(pki)
    assert card.image is not None
    files = dict(card.image.files)
    files[dg_fid(n)] = tlv(0x6E if n == 14 else 0x6F, body)
    dgs = {k & 0xFF: v for k, v in files.items() if 0x0101 <= k <= 0x0110}
    econtent = build_security_object("sha256", {k: hashlib.sha256(v).digest()
                                                for k, v in dgs.items()})
    files[EF_SOD] = build_sod(econtent, pki.ds_cert.public_bytes(Encoding.DER), "sha256_rsa",
                              "sha256", pki.sign)
    card.image = CardImage(files, card.image.aa_key, pki)
    r = _read(card, pki, photo=False)
    assert r.passive.level == "verified"
    if n == 15:
        assert r.active == "failed" and r.verification_failed
    elif r.verification_failed:
        assert any(f.startswith(("DG14 does not parse", "active authentication"))
                   for f in r.failures), r.failures
