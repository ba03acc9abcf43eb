"""LDS files (ICAO 9303-10): one module per file, parse and encode side by side."""

from __future__ import annotations

# File identifiers and short EF identifiers of the eMRTD application.
EF_CARD_ACCESS = 0x011C
EF_COM = 0x011E
EF_SOD = 0x011D


def dg_fid(n: int) -> int:
    return 0x0100 + n


# DG number -> LDS tag of the file's outer object.
DG_TAGS = {1: 0x61, 2: 0x75, 3: 0x63, 11: 0x6B, 12: 0x6C, 13: 0x6D, 14: 0x6E, 15: 0x6F}
TAG_DG = {v: k for k, v in DG_TAGS.items()}
