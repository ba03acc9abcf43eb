"""Hostile input to every parser: a typed error (ParseError / EmrtdError), never a crash."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drivers.emrtd.apdu import Command, Response
from drivers.emrtd.errors import EmrtdError
from drivers.emrtd.lds.com import parse_com
from drivers.emrtd.lds.dg1 import encode_dg1, parse_dg1
from drivers.emrtd.lds.dg2 import encode_dg2, parse_dg2
from drivers.emrtd.lds.dg13 import encode_dg13, parse_dg13
from drivers.emrtd.lds.dg15 import parse_dg14, parse_dg15
from drivers.emrtd.lds.sod import parse_sod
from drivers.emrtd.mrz import parse_mrz
from drivers.emrtd.pace import parse_card_access
from drivers.emrtd.sm import AesSecureMessaging, Des3SecureMessaging
from drivers.emrtd.tlv import iter_tlv, tlv

PARSERS: dict[str, Callable[[bytes], Any]] = {
    "com": parse_com,
    "dg1": parse_dg1,
    "dg2": parse_dg2,
    "dg13": parse_dg13,
    "dg14": parse_dg14,
    "dg15": parse_dg15,
    "sod": parse_sod,
    "card_access": parse_card_access,
    "tlv": lambda b: list(iter_tlv(b)),
    "apdu": Command.decode,
    "response": Response.decode,
}
OUTER = {"com": 0x60, "dg1": 0x61, "dg2": 0x75, "dg13": 0x6D, "dg14": 0x6E, "dg15": 0x6F,
         "sod": 0x77, "card_access": 0x31}  # fmt: skip

SAMPLES = [
    encode_dg13({1: "001090123456", 2: "Lê Thị Ánh", 13: ["A", "B"], 14: []}),
    encode_dg1("IDVNM0901234562001090123456<<<9001011M3001019VNM<<<<<<<<<<<0NGUYEN<<VAN<A<<<<<<<<<<<<<<<<<"),
    encode_dg2(b"\xff\xd8\xff\xe0" + b"\x00" * 40, 10, 10),
]  # fmt: skip


def _nested(depth: int) -> st.SearchStrategy[bytes]:
    leaf = st.binary(max_size=40)
    return st.recursive(
        leaf,
        lambda inner: st.builds(
            lambda tag, parts: tlv(tag, b"".join(parts)),
            st.sampled_from(
                [
                    0x30,
                    0x31,
                    0x02,
                    0x06,
                    0x0C,
                    0x13,
                    0x5F1F,
                    0x7F61,
                    0x7F60,
                    0x5F2E,
                    0xA0,
                    0x04,
                    0x5C,
                ]
            ),
            st.lists(inner, max_size=4),
        ),
        max_leaves=12,
    )


def _check(fn: Callable[[bytes], Any], data: bytes) -> None:
    with contextlib.suppress(EmrtdError):
        fn(data)


@pytest.mark.parametrize("name", sorted(PARSERS))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_parsers_never_crash(name: str, data: st.DataObject) -> None:
    fn = PARSERS[name]
    raw = data.draw(st.binary(max_size=300))
    _check(fn, raw)
    body = data.draw(_nested(3))
    _check(fn, tlv(OUTER.get(name, 0x30), body))
    # truncations and a length that runs past the buffer
    sample = data.draw(st.sampled_from(SAMPLES))
    cut = data.draw(st.integers(0, len(sample)))
    _check(fn, sample[:cut])
    _check(fn, tlv(OUTER.get(name, 0x30), sample)[:-1])


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300), st.booleans())
def test_secure_messaging_rejects_garbage(raw: bytes, aes: bool) -> None:
    sm = (AesSecureMessaging if aes else Des3SecureMessaging)(b"k" * 16, b"m" * 16)
    try:
        sm.unprotect(raw + b"\x90\x00")
    except EmrtdError:
        return
    raise AssertionError("garbage was accepted as protected data")


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=120))
def test_mrz_text(text: str) -> None:
    with contextlib.suppress(EmrtdError):
        parse_mrz(text)


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(st.integers(1, 20), st.text(max_size=30), max_size=16))
def test_dg13_round_trip(values: dict[int, str]) -> None:
    import unicodedata

    encoded = encode_dg13(dict(values))
    parsed = parse_dg13(encoded) if values else None
    for n, v in values.items():
        assert parsed is not None
        if n <= 15:
            want = unicodedata.normalize("NFC", v).strip()
            assert parsed.fields[n] == (want,)
        else:
            assert n in parsed.raw
