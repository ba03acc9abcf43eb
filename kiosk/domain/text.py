"""Text helpers: NFC normalisation, diacritic-insensitive comparison, masking."""

from __future__ import annotations

import unicodedata


def is_ascii_digits(text: str) -> bool:
    """True for a non-empty run of 0-9 only. `str.isdigit()` also accepts "²" and "٣",
    which `int()` then rejects or silently converts: card numbers are ASCII."""
    return text.isascii() and text.isdigit()


def has_foreign_digit(text: str) -> bool:
    """A digit other than 0-9 ("²", "٣", "３"): worth its own message, never a number."""
    return any(ch.isdigit() and not ch.isascii() for ch in text)


def has_surrogate(text: str) -> bool:
    """A lone UTF-16 surrogate (JSON "\\ud800", undecodable bytes): not text any file,
    database or printer can hold."""
    return any("\ud800" <= ch <= "\udfff" for ch in text)


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
