"""Text helpers: NFC normalisation, diacritic-insensitive comparison, masking."""

from __future__ import annotations

import unicodedata


def nfc(text: str) -> str:
    """Vietnamese text as NFC: one code point per letter, as fonts and HIS expect."""
    return unicodedata.normalize("NFC", text)


def fold(text: str) -> str:
    """Case-, spacing- and diacritic-insensitive key ("Lê  Việt" == "le viet")."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    stripped = "".join(c for c in decomposed if unicodedata.category(c) != "Mn")
    return " ".join(stripped.casefold().split())


def mask_id(value: str | None) -> str:
    """Mask an identifier for logs and tickets: keep 4 leading and 4 trailing characters."""
    if not value:
        return ""
    if len(value) <= 8:
        return "*" * len(value)
    return value[:4] + "*" * (len(value) - 8) + value[-4:]


def mask_name(full_name: str) -> str:
    """Partly mask a name for a printed ticket: family and given name stay, middle names
    are reduced to initials ("Nguyễn Thị Minh Khai" -> "Nguyễn T. M. Khai")."""
    parts = nfc(full_name).split()
    if len(parts) <= 2:
        return " ".join(parts)
    middle = [p[0] + "." for p in parts[1:-1]]
    return " ".join([parts[0], *middle, parts[-1]])
