"""EF.COM: LDS version and the list of data groups present.

Unsigned: the reader takes the data groups from EF.SOD and uses this file
only as a hint when there is no SOD (issue 18).
"""

from __future__ import annotations

from dataclasses import dataclass

from drivers.emrtd.errors import ParseError
from drivers.emrtd.lds import DG_TAGS, TAG_DG
from drivers.emrtd.tlv import expect, parse_dict, tlv


@dataclass(frozen=True)
class Com:
    lds_version: str
    unicode_version: str
    data_groups: tuple[int, ...]

    def encode(self) -> bytes:
        tags = bytes(DG_TAGS[n] for n in self.data_groups)
        body = tlv(0x5F01, self.lds_version.encode()) + tlv(0x5F36, self.unicode_version.encode())
        return tlv(0x60, body + tlv(0x5C, tags))


def parse_com(raw: bytes) -> Com:
    fields = parse_dict(expect(raw, 0x60))
    if 0x5C not in fields:
        raise ParseError("EF.COM has no tag list (5C)")
    groups = tuple(sorted({TAG_DG[t] for t in fields[0x5C] if t in TAG_DG}))
    if fields[0x5C] and not groups:
        # e.g. the list written as ASCII digits ("0102…"): nothing to trust
        raise ParseError("EF.COM tag list names no known data group")
    return Com(
        fields.get(0x5F01, b"").decode("ascii", "replace"),
        fields.get(0x5F36, b"").decode("ascii", "replace"),
        groups,
    )
