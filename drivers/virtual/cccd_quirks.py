"""Quirk profiles of the virtual CCCD: behaviours of real chips, named, to test against.

`QUIRKS`: something a conformant or nearly conformant chip (or a reader in front of
it) does in the field (issue 18, DOMAIN.md §3 and §10); the same identity reads,
verified. `ODD_CARDS`: honest cards laid out unlike a CCCD; they still give their
holder. `CLONES`: what a copy of a genuine card's files without its private
active-authentication key looks like (issue 24); they must be refused. They combine:
`--quirks no-sfi,short-only,eof-6282-nomac`.
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
ODD_CARDS: dict[str, str] = {
    "empty-optional": "an empty file at 010D (a bare 6282) and no EF.SOD, like upstream "
    "vsmartcard's ePass; no active authentication",
    "bac-6988": "a BAC-only card that answers a wrong key with 6988 at MUTUAL AUTHENTICATE",
}
CLONES: dict[str, str] = {
    "clone-hide-aa": "the genuine SOD lists DG14 and DG15, the clone does not serve them",
    "clone-bad-dg15": "DG15 names a curve nobody implements (its hash is in the SOD)",
    "clone-aa-wrong-key": "DG15 served as signed; INTERNAL AUTHENTICATE signed by another key",
    "clone-dg-swapped": "DG13 of another person: its hash does not match the SOD",
}
KNOWN: dict[str, str] = QUIRKS | ODD_CARDS | CLONES
PARTIAL_MAX = 200  # le-partial: the chip's I/O buffer


def parse_quirks(text: str | None) -> frozenset[str]:
    """`a,b` -> {"a", "b"}; ValueError naming the unknown ones and the known."""
    names = {n.strip() for n in (text or "").split(",") if n.strip()}
    unknown = sorted(names - KNOWN.keys())
    if unknown:
        raise ValueError(f"unknown quirk(s) {', '.join(unknown)}; known: {', '.join(KNOWN)}")
    return frozenset(names)
