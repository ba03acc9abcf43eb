"""Reading chips no one here made (issue 18), in process: every quirk profile of the
virtual CCCD reads to the same identity, no READ BINARY asks past a file's end, and
the identity phase stays within its APDU budget."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from drivers.emrtd import pace
from drivers.emrtd.errors import ParseError
from drivers.emrtd.keys import CanKey, MrzKey
from drivers.emrtd.lds import EF_CARD_ACCESS, dg_fid
from drivers.emrtd.lds.dg2 import decode_for_display
from drivers.emrtd.passive import TrustStore
from drivers.emrtd.reader import CardRead, read_card
from drivers.emrtd.session import CardSession
from drivers.emrtd.transport import CallableTransport
from drivers.virtual.cccd import (
    PACE_INFO,
    CardOptions,
    Identity,
    VirtualCccd,
    build_card_image,
)
from drivers.virtual.cccd_pki import VirtualPki
from drivers.virtual.cccd_quirks import QUIRKS, parse_quirks
from kiosk.services.chip_identity import card_read_json
from tests.chip_identity import BASE

IDENTITY = BASE
NOT_IDENTITY = ("photo", "photo_problem", "files", "authentication", "stats")


@pytest.fixture(scope="module")
def identity() -> Identity:
    return Identity.from_json(IDENTITY)


def _card(identity: Identity, pki: VirtualPki, *quirks: str, **opts: Any) -> VirtualCccd:
    options = CardOptions(quirks=frozenset(quirks), **opts)
    return VirtualCccd(identity, options, build_card_image(identity, options, pki))


def _read(card: VirtualCccd, pki: VirtualPki, *, extended: bool = True, **kw: Any) -> CardRead:
    transport = CallableTransport(card.process, extended_length=extended)
    return read_card(transport, CanKey(card.identity.can),
                     trust_store=TrustStore(anchors=[pki.csca_cert]), **kw)  # fmt: skip


def _identity(r: CardRead) -> dict[str, Any]:
    return {k: v for k, v in card_read_json(r).items() if k not in NOT_IDENTITY}


@pytest.fixture(scope="module")
def baseline(identity: Identity, pki: VirtualPki) -> dict[str, Any]:
    r = _read(_card(identity, pki), pki, photo=False, active_auth=False)
    assert r.dg13 is not None and r.mrz is not None
    return _identity(r)


ALL_BUT_LISTS = tuple(q for q in QUIRKS if q not in ("no-sod", "com-garbage", "dg2-no-image"))


@pytest.mark.parametrize("extended", [True, False], ids=["extended", "short"])
@pytest.mark.parametrize(
    "quirks",
    [(q,) for q in QUIRKS] + [ALL_BUT_LISTS, ("no-sod", "com-garbage", "no-sfi", "errors-plain")],
    ids=lambda q: ",".join(q),
)
def test_every_profile_reads_the_same_identity_without_over_reading(
    identity: Identity, pki: VirtualPki, baseline: dict[str, Any],
    quirks: tuple[str, ...], extended: bool,
) -> None:  # fmt: skip
    card = _card(identity, pki, *quirks)
    r = _read(card, pki, extended=extended)
    assert _identity(r) == baseline
    assert card.over_reads == 0 and r.stats.identity_apdus < r.stats.apdus
    assert r.passive.level == ("absent" if "no-sod" in quirks else "verified")
    assert r.active == "verified"
    if "dg2-no-image" in quirks:
        assert r.photo is None and r.photo_problem and "no JPEG" in r.photo_problem
    else:
        assert r.photo is not None and r.photo_problem is None
        assert r.photo.format == ("jp2" if "dg2-jp2" in quirks else "jpeg")
        assert r.photo.width == 240 and r.photo.height == 320
        assert getattr(decode_for_display(r.photo), "size", None) == (240, 320)


def test_identity_apdu_budget(identity: Identity, pki: VirtualPki) -> None:
    """Issue 18: <= 22 APDUs with 223-byte reads, <= 14 with extended length (issue 24:
    19 and 12, DG1 now follows the identity and the SOD's first read is 223 bytes)."""
    short = _read(_card(identity, pki), pki, extended=False)
    ext = _read(_card(identity, pki), pki)
    assert short.stats.read_size == "223" and short.stats.identity_apdus <= 19
    assert ext.stats.read_size == "extended" and ext.stats.identity_apdus <= 12
    seen: list[CardRead] = []
    again = _read(_card(identity, pki), pki, on_identity=seen.append)
    assert seen[0].stats.apdus == again.stats.identity_apdus
    assert card_read_json(again)["stats"]["identity_apdus"] == again.stats.identity_apdus


@pytest.mark.parametrize("longer", [0, 150, 400, 700])
def test_identity_apdus_grow_one_per_223_bytes_of_dg13(
        pki: VirtualPki, longer: int) -> None:
    """Issue 24: with short reads, PACE and the applet take 8 APDUs, the SOD one per 223
    bytes, DG13 its header and one per 223 bytes: <= 22 while DG13 is <= 1119 bytes."""
    holder = Identity.from_json(IDENTITY | {
        "residence": IDENTITY["residence"] + (" Ấp Phước Hưng," * 60)[:longer]})
    card = _card(holder, pki)
    assert card.image is not None
    dg13, sod = len(card.image.files[dg_fid(13)]), len(card.image.files[0x011D])
    r = _read(card, pki, extended=False)
    assert r.stats.identity_apdus == 8 + -(-sod // 223) + 1 + -(-(dg13 - 4) // 223)
    assert (r.stats.identity_apdus <= 22) == (dg13 <= 1119) and card.over_reads == 0


def _pace_session(card: VirtualCccd) -> CardSession:
    s = CardSession(CallableTransport(card.process))
    s.start_sm(pace.terminal_authenticate(s.raw, card.identity.can, pace.PW_CAN, PACE_INFO))
    s.select_applet()
    return s


def test_bare_6282_is_end_of_file_never_data(identity: Identity, pki: VirtualPki) -> None:
    """The field failure: asking past the end gets a 6282 without SM objects."""
    card = _card(identity, pki, "eof-6282-nomac")
    assert card.image is not None
    dg1 = card.image.files[dg_fid(1)]
    s = _pace_session(card)
    s.select_ef(dg_fid(1))
    assert s._read(0, len(dg1) + 50) == b""  # what the old first read asked: nothing kept
    assert card.over_reads == 1 and s.stats.over_reads == 1
    # Neither side counted the bare answer in its SSC: the session goes on.
    assert s.read_ef(dg_fid(1)) == dg1 and card.over_reads == 1


def test_file_shorter_than_its_header_is_a_clear_error(
    identity: Identity, pki: VirtualPki
) -> None:
    for quirks in ((), ("eof-6282-nomac",), ("le-partial",)):
        card = _card(identity, pki, *quirks)
        assert card.image is not None
        raw = card.image.files[dg_fid(13)]
        card.image.files[dg_fid(13)] = raw[:-40]  # the header still says the full length
        # A bare 6282 carries no bytes: that chip's read ends right after the header.
        got = 4 if quirks == ("eof-6282-nomac",) else len(raw) - 40
        r = _read(card, pki, photo=False)
        # The SOD lists DG13: a DG13 that will not read is a failed check, named.
        assert r.verification_failed and r.file_states[13] == "unreadable"
        assert f"EF 010D ended early at {got} of {len(raw)}" in r.failures[0]
        assert r.failures[0].startswith("DG13 is listed in EF.SOD but unreadable")


def test_missing_sod_and_com_probe_the_data_groups(identity: Identity, pki: VirtualPki) -> None:
    card = _card(identity, pki, "no-sod", "no-com")
    r = _read(card, pki)
    assert r.passive.level == "absent" and r.data_groups == (1, 2, 13, 14, 15)
    assert r.dg13 is not None and r.photo is not None


def test_no_identity_data_groups_is_an_error(identity: Identity, pki: VirtualPki) -> None:
    card = _card(identity, pki, "no-sod")
    assert card.image is not None
    del card.image.files[dg_fid(1)], card.image.files[dg_fid(13)]
    with pytest.raises(ParseError, match="neither DG13 nor DG1"):
        _read(card, pki)


def test_bac_card_without_card_access(identity: Identity, pki: VirtualPki) -> None:
    card = _card(identity, pki, pace=False)
    assert card.image is not None
    sod = len(card.image.files[0x011D])
    transport = CallableTransport(card.process, extended_length=False)
    r = read_card(transport, MrzKey("190123456", "900101", "300101"), photo=False,
                  active_auth=False)  # fmt: skip
    assert r.access == "BAC" and r.dg13 is not None and card.over_reads == 0
    # SFI 1C and SELECT 011C (both 6A82: SFI not proven yet), SELECT applet, GET
    # CHALLENGE, MUTUAL AUTHENTICATE; then the SOD (its first 231 bytes at once: it
    # cannot be shorter; 3DES: 231-byte reads), DG13 (353 B: header + 2); DG1 (header
    # + 1) follows the identity
    assert r.stats.read_size == "231"
    assert r.stats.identity_apdus == 5 + 1 + -(-(sod - 231) // 231) + 3
    assert r.stats.apdus == r.stats.identity_apdus + 2 and r.mrz is not None


def test_sfi_refused_falls_back_to_select_for_the_session(
    identity: Identity, pki: VirtualPki
) -> None:
    card = _card(identity, pki, "no-sfi")
    s = CardSession(CallableTransport(card.process))
    assert s.read_ef(EF_CARD_ACCESS) == card.image.files[EF_CARD_ACCESS]  # type: ignore[union-attr]
    refused_then_select_read = s.stats.apdus
    s._cache.clear()
    s.read_ef(EF_CARD_ACCESS)
    assert refused_then_select_read == 4 and s.stats.apdus - refused_then_select_read == 3


def test_sfi_answered_6a82_is_checked_with_select_until_sfi_worked(
    identity: Identity, pki: VirtualPki
) -> None:
    card = _card(identity, pki, "no-sfi-6a82")
    s = CardSession(CallableTransport(card.process))
    s.read_ef(EF_CARD_ACCESS)  # SFI 6A82, SELECT 9000: the card just does not do SFI
    first = s.stats.apdus
    s._cache.clear()
    s.read_ef(EF_CARD_ACCESS)
    assert first == 4 and s.stats.apdus - first == 3  # no SFI attempt any more


def test_6cxx_asks_again_for_exactly_what_is_left(identity: Identity, pki: VirtualPki) -> None:
    card = _card(identity, pki, "eof-6cxx")
    assert card.image is not None
    content = card.image.files[EF_CARD_ACCESS]
    s = CardSession(CallableTransport(card.process, extended_length=False))
    s.select_ef(EF_CARD_ACCESS)
    assert s._read_sized(0, 200) == content  # 6C16, then Le = 22
    assert s.stats.apdus == 3 and s.read_size == "256"  # the exact length did not stick
    assert s._read_sized(0, 200) == content and s.stats.apdus == 5


def test_parse_quirks() -> None:
    assert parse_quirks(" no-sfi, short-only ,") == {"no-sfi", "short-only"}
    assert parse_quirks(None) == frozenset()
    with pytest.raises(ValueError, match="unknown quirk.*bogus.*known: eof-6282-nomac"):
        parse_quirks("no-sfi,bogus")
    with pytest.raises(ValueError):
        dataclasses.replace(CardOptions(), quirks=frozenset({"bogus"}))
