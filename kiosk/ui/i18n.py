"""Interface strings as data (assets/i18n/<lang>.json), Vietnamese and English."""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path
from typing import Literal

from kiosk.assets import asset_path

Lang = Literal["vi", "en"]
LANGS: tuple[Lang, ...] = ("vi", "en")


class Strings:
    def __init__(self, tables: dict[str, dict[str, str]]) -> None:
        self.tables = tables

    @classmethod
    def load(cls, directory: Path | None = None) -> Strings:
        base = directory or asset_path("i18n")
        tables: dict[str, dict[str, str]] = {}
        for lang in LANGS:
            raw = json.loads((base / f"{lang}.json").read_text("utf-8"))
            tables[lang] = {
                k: unicodedata.normalize("NFC", v) for k, v in raw.items() if not k.startswith("_")
            }
        return cls(tables)

    def get(self, key: str, lang: str, **values: object) -> str:
        table = self.tables.get(lang) or self.tables["vi"]
        text = table.get(key)
        if text is None:  # a missing translation falls back to Vietnamese, then the key
            text = self.tables["vi"].get(key, key)
        return text.format(**values) if values else text

    def keys(self) -> set[str]:
        return set(self.tables["vi"])

    def longest(self, key: str) -> str:
        """The longest variant across languages (for fit checks)."""
        return max((t.get(key, "") for t in self.tables.values()), key=len)
