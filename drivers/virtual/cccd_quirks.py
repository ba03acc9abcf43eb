"""Quirk profiles of the virtual CCCD: behaviours of real chips, named, to test against.

Each is something a conformant or nearly conformant chip (or a reader in
front of it) does in the field (issue 18, DOMAIN.md §3 and §10). They
combine: `--quirks no-sfi,short-only,eof-6282-nomac`.
"""

from __future__ import annotations

QUIRKS: dict[str, str] = {
    "eof-6282-nomac": "a protected READ BINARY past a file's end gets a bare 6282 (no SM objects)",
    "com-garbage": "EF.COM's tag list written as ASCII digits (does not parse)",
    "no-com": "no EF.COM",
    "no-sod": "no EF.SOD (passive authentication absent; EF.COM is the only list)",
    "no-sfi": "READ BINARY with a short EF identifier refused (6A86): SELECT first",
    "no-sfi-6a82": "READ BINARY with a short EF identifier answered 6A82 (as if no such file)",
    "short-only": "extended length refused (6700), as behind an ACR122U",
    "dg2-bare": "DG2 without its outer tag 75 (starts with 7F61)",
    "dg2-multi": "DG2 with two biometric templates, the first with an image format nobody reads",
    "dg2-jp2": "the face image stored as JPEG 2000",
    "dg2-no-image": "DG2 whose only template holds no JPEG / JPEG 2000 (identity must survive)",
    "eof-6cxx": "a READ BINARY past a file's end gets 6Cxx, xx = the bytes left (ISO 7816-4)",
    "le-partial": "a READ BINARY gets at most 200 bytes with 9000, whatever Le asks (Le=00 too)",
    "ga-chaining": "PACE GENERAL AUTHENTICATE 1-3 must be chained (CLA 10), else 6883",
    "errors-plain": "error status words (6A82, 6A86, 6B00, 6982…) answered without SM objects",
}
PARTIAL_MAX = 200  # le-partial: the chip's I/O buffer


def parse_quirks(text: str | None) -> frozenset[str]:
    """`a,b` -> {"a", "b"}; ValueError naming the unknown ones and the known."""
    names = {n.strip() for n in (text or "").split(",") if n.strip()}
    unknown = sorted(names - QUIRKS.keys())
    if unknown:
        raise ValueError(f"unknown quirk(s) {', '.join(unknown)}; known: {', '.join(QUIRKS)}")
    return frozenset(names)
