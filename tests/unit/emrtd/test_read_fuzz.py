"""Hostile file contents and TLV headers against the header-first reader (issue 18).

EF.CardAccess is readable without access control, so the session reads any bytes
the virtual CCCD is given there through real APDUs (SFI, SELECT fallback, partial
answers) without the cost of PACE per example.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.emrtd.errors import EmrtdError, ParseError
from drivers.emrtd.lds import EF_CARD_ACCESS
from drivers.emrtd.lds.dg2 import encode_dg2, facial_record, parse_dg2
from drivers.emrtd.session import MAX_FILE, CardSession
from drivers.emrtd.tlv import encode_length, header_bytes_needed, header_length
from drivers.emrtd.transport import CallableTransport
from drivers.virtual.cccd import CardImage, CardOptions, Identity, VirtualCccd
from drivers.virtual.cccd_pki import VirtualPki

IDENTITY = Identity.from_json({"id_number": "001190123456", "full_name": "Lê Văn A",
                               "date_of_birth": "1990-01-01", "sex": "Nam",
                               "issue_date": "2021-05-10"})  # fmt: skip
JPEG = b"\xff\xd8\xff\xe0" + bytes(60)


def _headers() -> st.SearchStrategy[bytes]:
    """Tag + length the way files start, lengths honest or not, plus raw noise."""
    tag = st.sampled_from([b"\x31", b"\x77", b"\x6d", b"\x7f\x61", b"\x5f\x1f", b"\x1f\xff\xff",
                           b"\x9f\x81\x01"])  # fmt: skip
    length = st.integers(0, 0x20000).map(encode_length) | st.sampled_from(
        [b"\x80", b"\x85\x00\x00\x00\x00\x01", b"\x84\xff\xff\xff\xff", b"\x82\x01"]
    )
    return st.builds(lambda t, n: t + n, tag, length) | st.binary(max_size=6)


@settings(max_examples=60, deadline=None)
@given(head=_headers(), body=st.binary(max_size=600), quirks=st.sampled_from(
    [(), ("no-sfi",), ("le-partial",), ("no-sfi", "le-partial")]), short=st.booleans())
def test_read_any_file_reads_its_tlv_or_fails_clearly(
    pki: VirtualPki, head: bytes, body: bytes, quirks: tuple[str, ...], short: bool
) -> None:
    content = head + body
    options = CardOptions(quirks=frozenset(quirks))
    card = VirtualCccd(IDENTITY, options, CardImage({EF_CARD_ACCESS: content}, None, pki))
    s = CardSession(CallableTransport(card.process, extended_length=not short))
    try:
        hsize, total = header_length(content)
    except ParseError:
        hsize, total = -1, -1
    try:
        got = s.read_ef(EF_CARD_ACCESS)
    except EmrtdError as exc:
        # Only a malformed, truncated or oversized file may fail, and with a ParseError.
        assert isinstance(exc, ParseError), exc
        assert total < 0 or total > len(content) or total > MAX_FILE or not content
        return
    assert 0 <= total <= len(content) and got == content[:total]
    if len(content) >= max(hsize, 4):
        assert card.over_reads == 0  # never asked for a byte the file does not hold


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=12))
def test_header_bytes_needed_agrees_with_header_length(buf: bytes) -> None:
    """Feeding the reader exactly what header_bytes_needed asks for finds the same header."""
    k = 0
    try:
        while (need := header_bytes_needed(buf[:k])) > k:
            if need > len(buf):
                raise ParseError("truncated")
            k = need
    except ParseError:
        with pytest.raises(ParseError):
            header_length(buf)
        return
    assert header_length(buf)[0] == k


def test_dg2_variants() -> None:
    jp2 = b"\x00\x00\x00\x0cjP  \r\n\x87\n" + bytes(40)
    odd = facial_record(bytes(80), 8, 8, image_type=2)
    assert parse_dg2(encode_dg2(JPEG, 10, 12)).format == "jpeg"
    assert parse_dg2(encode_dg2(JPEG, 10, 12, bare=True)).width == 10
    face = parse_dg2(encode_dg2(jp2, 7, 9, records=(odd,)))
    assert (face.format, face.width, face.height, face.data) == ("jp2", 7, 9, jp2)
    with pytest.raises(ParseError, match="no JPEG or JPEG 2000 image \\(2 template"):
        parse_dg2(encode_dg2(bytes(50), 8, 8, records=(odd,)))
    with pytest.raises(ParseError, match="starts with tag 61"):
        parse_dg2(b"\x61\x03\x5f\x1f\x00")


@settings(max_examples=100, deadline=None)
@given(cut=st.integers(0, 200), bare=st.booleans(), extra=st.integers(0, 2))
def test_dg2_truncated_or_multi_never_crashes(cut: int, bare: bool, extra: int) -> None:
    records = tuple(facial_record(bytes(20 + i), 4, 4, image_type=2) for i in range(extra))
    raw = encode_dg2(JPEG, 10, 12, records=records, bare=bare)
    try:
        face = parse_dg2(raw[: len(raw) - cut])
    except EmrtdError as exc:
        assert isinstance(exc, ParseError) and cut > 0
        return
    assert face.data.startswith(JPEG[:3])
