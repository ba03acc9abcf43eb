"""DG1: the MRZ as stored on the chip."""

from __future__ import annotations

from drivers.emrtd.errors import ParseError
from drivers.emrtd.mrz import Mrz, parse_mrz
from drivers.emrtd.tlv import expect, parse_dict, tlv


def parse_dg1(raw: bytes) -> Mrz:
    fields = parse_dict(expect(raw, 0x61))
    data = fields.get(0x5F1F)
    if data is None:
        raise ParseError("DG1 has no MRZ (5F1F)")
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError:
        raise ParseError("DG1 MRZ is not ASCII") from None
    n = len(text)
    if n == 90:
        return parse_mrz("\n".join(text[i : i + 30] for i in range(0, 90, 30)))
    if n == 88:
        return parse_mrz("\n".join(text[i : i + 44] for i in range(0, 88, 44)))
    raise ParseError(f"DG1 MRZ has {n} characters (expected 90 or 88)")


def encode_dg1(mrz_text: str) -> bytes:
    return tlv(0x61, tlv(0x5F1F, mrz_text.replace("\n", "").encode("ascii")))
