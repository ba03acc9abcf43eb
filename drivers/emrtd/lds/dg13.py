"""DG13: Vietnamese personal data (DOMAIN.md §3), parsed by field number.

Layout seen on CCCDs: 6D { 30 { 02 version, 06 OID, 31 { 30 { 02 NN, value… } … } } }.
Issuers have shifted fields between card generations, so nothing here relies
on offsets or order: each SEQUENCE that starts with a small INTEGER is field
NN; its values are the string(s) after it (nested SEQUENCEs flattened in
order); unknown field numbers are kept raw.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from dataclasses import dataclass, field

from drivers.emrtd.errors import ParseError
from drivers.emrtd.tlv import expect, iter_tlv, read_tlv, tlv

_STRING_TAGS = {0x0C, 0x13, 0x16, 0x14, 0x1E, 0x04, 0x1A}
_NO_EXPIRY_TEXTS = ("không thời hạn", "khong thoi han", "kh\u00f4ng th\u1eddi h\u1ea1n")
OID_UTF8 = bytes.fromhex("28D316010008")
MAX_FIELDS = 64


@dataclass(frozen=True)
class Dg13:
    fields: dict[int, tuple[str, ...]]
    raw: dict[int, bytes] = field(default_factory=dict)

    def text(self, n: int, index: int = 0) -> str | None:
        values = self.fields.get(n, ())
        value = values[index] if index < len(values) else None
        return value or None

    @property
    def id_number(self) -> str | None:
        return self.text(1)

    @property
    def full_name(self) -> str | None:
        return self.text(2)

    @property
    def date_of_birth(self) -> dt.date | None:
        return parse_dmy(self.text(3))

    @property
    def sex(self) -> str | None:
        return self.text(4)

    @property
    def issue_date(self) -> dt.date | None:
        return parse_dmy(self.text(11))

    @property
    def expiry_date(self) -> dt.date | None:
        """None both for a card without expiry and for a missing field."""
        return parse_dmy(self.text(12))


def parse_dmy(text: str | None) -> dt.date | None:
    if not text:
        return None
    parts = text.strip().split("/")
    if len(parts) != 3 or not all(p.isdigit() for p in parts):
        return None  # e.g. "Không thời hạn"
    try:
        return dt.date(int(parts[2]), int(parts[1]), int(parts[0]))
    except ValueError:
        return None


def _decode(tag: int, value: bytes) -> str:
    text = value.decode("utf-16-be" if tag == 0x1E else "utf-8", "replace")
    return unicodedata.normalize("NFC", text).strip()


def _strings(value: bytes, depth: int = 0) -> list[str]:
    if depth > 8:
        raise ParseError("DG13 nested too deeply")
    out: list[str] = []
    for tag, v in iter_tlv(value):
        if tag in _STRING_TAGS:
            out.append(_decode(tag, v))
        elif tag in (0x30, 0x31):
            inner = _strings(v, depth + 1)
            out.extend(inner if inner else [""])
    return out


def _collect(
    value: bytes, fields: dict[int, tuple[str, ...]], raw: dict[int, bytes], depth: int
) -> None:
    if depth > 6:
        raise ParseError("DG13 nested too deeply")
    for tag, v in iter_tlv(value):
        if tag not in (0x30, 0x31):
            continue
        items = list(iter_tlv(v))
        # A field is SEQUENCE { INTEGER NN, value… }; the wrapper that starts
        # with the version INTEGER is told apart by its OID / SET members.
        is_field = items and items[0][0] == 0x02 and 1 <= len(items[0][1]) <= 2
        if is_field and not any(t in (0x06, 0x31) for t, _ in items[1:]):
            n = int.from_bytes(items[0][1], "big")
            if n in fields or n in raw or len(fields) + len(raw) >= MAX_FIELDS:
                continue
            body = v[_first_len(v) :]
            if 1 <= n <= 15:
                fields[n] = tuple(_strings(body))
            else:
                raw[n] = body
        else:
            _collect(v, fields, raw, depth + 1)


def _first_len(v: bytes) -> int:
    return read_tlv(v, 0)[2]


def parse_dg13(raw_file: bytes) -> Dg13:
    fields: dict[int, tuple[str, ...]] = {}
    raw: dict[int, bytes] = {}
    _collect(expect(raw_file, 0x6D), fields, raw, 0)
    if not fields and not raw:
        raise ParseError("DG13 holds no numbered fields")
    return Dg13(fields, raw)


def encode_dg13(values: dict[int, list[str] | str], raw: dict[int, bytes] | None = None) -> bytes:
    """Build a DG13 in the CCCD layout (virtual card). Field 13/14 take lists."""
    items = []
    for n in sorted(set(values) | set(raw or {})):
        number = tlv(0x02, bytes((n,)))
        if raw and n in raw:
            items.append(tlv(0x30, number + raw[n]))
            continue
        v = values[n]
        if isinstance(v, list):
            inner = b"".join(tlv(0x30, tlv(0x0C, s.encode())) for s in v)
            body = tlv(0x30, inner)
        else:
            body = tlv(0x13 if n in (1, 15) else 0x0C, v.encode())
        items.append(tlv(0x30, number + body))
    head = tlv(0x02, b"\x01") + tlv(0x06, OID_UTF8)
    return tlv(0x6D, tlv(0x30, head + tlv(0x31, b"".join(items))))
