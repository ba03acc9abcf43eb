"""Strict, typed access to one TOML table.

A `Table` records every key a section parser reads; `Schema.finish()` then
reports each key nobody read as unknown, naming the nearest known key, so a
typo (`budegt_s`) can never silently fall back to a default. Problems are kept
in English and Vietnamese, like doctor's hints.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")

_KIND = {str: ("a string", "chuỗi ký tự"), int: ("an integer", "số nguyên"),
         float: ("a number", "số"), bool: ("true or false", "true hoặc false")}
_LOOPBACK = re.compile(r"(127\.\d+\.\d+\.\d+|localhost|::1)$", re.ASCII)


@dataclass(frozen=True)
class Problem:
    key: str
    en: str
    vi: str

    def __str__(self) -> str:
        return f"{self.key}: {self.en}"

    def to_json(self) -> dict[str, str]:
        return {"key": self.key, "message_en": self.en, "message_vi": self.vi}


class ConfigError(Exception):
    """Raised with every problem found, each naming its key. `problems` are the
    English lines (`key: what is wrong`); `details` carry both languages."""

    def __init__(self, problems: list[str] | list[Problem]) -> None:
        self.details = [p if isinstance(p, Problem) else _split(p) for p in problems]
        self.problems = [str(p) for p in self.details]
        super().__init__("; ".join(self.problems))


def _split(text: str) -> Problem:
    key, _, message = text.partition(": ")
    return Problem(key, message or text, message or text)


def suggestion(key: str, known: list[str] | set[str]) -> str | None:
    close = difflib.get_close_matches(key, sorted(known), n=1, cutoff=0.6)
    return close[0] if close else None


class Schema:
    """All tables of one configuration: collects problems, checks unknown keys at the end."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.tables: list[Table] = []

    def add(self, key: str, en: str, vi: str) -> None:
        self.problems.append(Problem(key, en, vi))

    def table(self, raw: Any, name: str) -> Table:
        table = Table(raw, name, self)
        self.tables.append(table)
        return table

    def unknown(self, key: str, known: set[str], what: str = "key") -> None:
        """One unknown key, with the nearest known one or the table it belongs to."""
        name = key.rsplit(".", 1)[-1].rsplit("]", 1)[-1]
        parent = key[: len(key) - len(name)].rstrip(".")
        close = suggestion(name, known)
        elsewhere = [t.name for t in self.tables if name in t.read and t.name != parent]
        en, vi = f"unknown {what}", "khóa không hợp lệ" if what == "key" else "mục không hợp lệ"
        if close:
            en += f"; did you mean {close!r}?"
            vi += f"; có phải là {close!r}?"
        elif elsewhere:
            en += f"; it belongs in [{elsewhere[0]}]"
            vi += f"; khóa này thuộc mục [{elsewhere[0]}]"
        self.add(key, en, vi)

    def finish(self) -> None:
        for table in self.tables:
            for key in table.raw:
                if key not in table.read:
                    self.unknown(table.path(key), table.read,
                                 "key" if table.name else "section")


class Table:
    """Typed access to one TOML table; records problems instead of raising."""

    def __init__(self, raw: Any, name: str, schema: Schema) -> None:
        if raw is None:
            raw = {}
        if not isinstance(raw, Mapping):
            schema.add(name, "must be a table", "phải là một bảng [..]")
            raw = {}
        self.raw: Mapping[str, Any] = raw
        self.name = name
        self.schema = schema
        self.read: set[str] = set()

    def path(self, key: str) -> str:
        return f"{self.name}.{key}" if self.name else key

    def problem(self, key: str, en: str, vi: str) -> None:
        self.schema.add(self.path(key), en, vi)

    def known(self, *keys: str) -> None:
        """Keys that are valid here but read by someone else (e.g. merged secrets)."""
        self.read.update(keys)

    def get(self, key: str) -> Any:
        self.read.add(key)
        return self.raw.get(key)

    def _get(self, key: str, kind: type[T], default: T | None, required: bool) -> T | None:
        self.read.add(key)
        if key not in self.raw or (self.raw[key] == "" and required):
            if required:
                self.problem(key, "required", "bắt buộc phải có")
            return default
        value = self.raw[key]
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            en, vi = _KIND.get(kind, (kind.__name__, kind.__name__))
            self.problem(key, f"must be {en}", f"phải là {vi}")
            return default
        if isinstance(value, str) and any("\ud800" <= c <= "\udfff" for c in value):
            self.problem(key, "holds an invalid character", "có ký tự không hợp lệ")
            return default
        return value

    def text(self, key: str, default: str = "", required: bool = False) -> str:
        return self._get(key, str, default, required) or default

    def opt_str(self, key: str) -> str | None:
        return self._get(key, str, None, False) or None

    def integer(self, key: str, default: int, low: int, high: int) -> int:
        value = self._get(key, int, default, False)
        assert value is not None
        if not low <= value <= high:
            self.problem(key, f"must be between {low} and {high}", f"phải từ {low} đến {high}")
            return default
        return value

    def number(self, key: str, default: float, low: float, high: float) -> float:
        value = self._get(key, float, default, False)
        assert value is not None
        if not low <= value <= high:
            self.problem(key, f"must be between {low:g} and {high:g}",
                         f"phải từ {low:g} đến {high:g}")
            return default
        return value

    def flag(self, key: str, default: bool) -> bool:
        value = self._get(key, bool, default, False)
        return default if value is None else value

    def choice(self, key: str, choices: tuple[str, ...], default: str | None = None) -> str:
        value = self.text(key, default or "", required=default is None)
        if value and value not in choices:
            close = suggestion(value, set(choices))
            hint = f" (did you mean {close!r}?)" if close else ""
            self.problem(key, f"must be one of {', '.join(choices)}{hint}",
                         f"phải là một trong: {', '.join(choices)}")
            return default or choices[0]
        return value or (default or choices[0])

    def sub(self, key: str, required: bool = False) -> Table:
        """A nested table (`[his.settings]`), itself checked for unknown keys."""
        self.read.add(key)
        if required and key not in self.raw:
            self.problem(key, "required", "bắt buộc phải có")
        return self.schema.table(self.raw.get(key), self.path(key))

    def tables(self, key: str) -> list[Table]:
        """An array of tables (`[[services]]`); one table alone is accepted too."""
        self.read.add(key)
        raw = self.raw.get(key)
        if raw is None:
            return []
        if isinstance(raw, Mapping):
            raw = [raw]
        if not isinstance(raw, list):
            self.problem(key, "must be an array of tables", "phải là một mảng bảng [[..]]")
            return []
        return [self.schema.table(item, f"{self.path(key)}[{i}]") for i, item in enumerate(raw)]

    def strings(self, key: str) -> tuple[str, ...]:
        self.read.add(key)
        value = self.raw.get(key, [])
        if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
            self.problem(key, "must be a list of strings", "phải là danh sách chuỗi ký tự")
            return ()
        return tuple(value)

    def url(self, key: str, required: bool = False, allow_http: bool = False) -> str:
        """An http(s) URL: https, or plain http to a loopback address (a simulator)
        unless `allow_http` (a trusted hospital LAN)."""
        value = self.text(key, "", required=required)
        if not value:
            return ""
        from urllib.parse import urlsplit

        try:
            parts = urlsplit(value)
            scheme, host, _port = parts.scheme, parts.hostname, parts.port  # port: ":x" raises
        except ValueError:
            scheme, host = "", None
        if scheme not in ("http", "https") or not host:
            self.problem(key, f"{value!r} is not an http(s) URL",
                         f"{value!r} không phải địa chỉ http(s)")
        elif scheme == "http" and not allow_http and not _LOOPBACK.match(host):
            self.problem(key, "plain http is only allowed to a loopback address; use https://",
                         "chỉ dùng http cho địa chỉ nội bộ 127.0.0.1; hãy dùng https://")
        return value.rstrip("/")

    def hours(self, key: str, default: str) -> str:
        """Opening hours `07:00-16:30` (`22:00-06:00` spans midnight; `24:00` ends a day)."""
        from kiosk.domain.errors import DomainError
        from kiosk.domain.queue import opening_minutes

        value = self.text(key, default)
        try:
            opening_minutes(value)
        except DomainError:
            self.problem(key, f"{value!r} must be opening hours like 07:00-16:30 "
                         "(00:00-24:00 for all day)",
                         f"{value!r} phải là giờ mở cửa dạng 07:00-16:30 "
                         "(00:00-24:00 cho cả ngày)")
            return default
        return value
