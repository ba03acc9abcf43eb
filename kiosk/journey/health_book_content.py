"""The health-book guide's words and pictures, as data the hospital can edit.

`assets/health_book/guide.toml` (format described in its header) holds, per
node of `kiosk.journey.health_book`, the title, body, spoken prompt, numbered
steps with the VNeID menu names they use, pictures and button labels, in
Vietnamese and English. `parse()` validates it completely, so a typo in an
edited file is reported at start-up with every problem at once, not as a
blank button in front of a patient.
"""

from __future__ import annotations

import tomllib
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kiosk.journey.health_book import Answer, Node

LANGS = ("vi", "en")
CONTENT_FILE = ("health_book", "guide.toml")
PRINT = "print"  # the "print the steps" button has a label but is not a guide answer


def picture_variant(name: str, lang: str) -> str:
    """File name of a picture's drawing for `lang`: `install.png` -> `install.en.png`.

    Vietnamese is the picture itself. Only pictures with translatable words get a
    variant; the screen falls back to the Vietnamese file when there is none.
    """
    if lang == LANGS[0]:
        return name
    stem, dot, ext = name.rpartition(".")
    return f"{stem}.{lang}.{ext}" if dot else f"{name}.{lang}"


class ContentError(ValueError):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Text:
    vi: str
    en: str

    def get(self, lang: str) -> str:
        return self.en if lang == "en" else self.vi


@dataclass(frozen=True)
class Label:
    text: Text
    picture: str | None = None


@dataclass(frozen=True)
class StepItem:
    text: Text
    menu: tuple[str, ...] = ()  # VNeID menu names, verbatim (checked against seed 004)
    picture: str | None = None
    show_card_number: bool = False  # print the BHYT number beside this step


@dataclass(frozen=True)
class NodeContent:
    node: Node
    title: Text
    body: Text
    speak: Text
    picture: str | None
    steps: tuple[StepItem, ...] = ()
    menu: tuple[str, ...] = ()
    answers: dict[str, Label] = field(default_factory=dict)  # overrides of the defaults
    explain: dict[str, Text] = field(default_factory=dict)  # e.g. what each status means

    def all_menu_names(self) -> tuple[str, ...]:
        return self.menu + tuple(m for s in self.steps for m in s.menu)

    def pictures(self) -> set[str]:
        found = {self.picture} | {s.picture for s in self.steps}
        found |= {label.picture for label in self.answers.values()}
        return {p for p in found if p}


@dataclass(frozen=True)
class Content:
    nodes: dict[Node, NodeContent]
    answers: dict[str, Label]
    handout: dict[Node, tuple[Node, ...]]
    stores: dict[str, str]
    source: str

    def label(self, node: Node, answer: Answer | str) -> Label:
        key = str(answer)
        own = self.nodes[node].answers.get(key)
        default = self.answers[key]
        if own is None:
            return default
        return Label(own.text, own.picture or default.picture)

    def pictures(self) -> set[str]:
        found = {p for n in self.nodes.values() for p in n.pictures()}
        return found | {a.picture for a in self.answers.values() if a.picture}

    def handout_nodes(self, node: Node) -> tuple[Node, ...]:
        return self.handout.get(node, (node,))


class _Reader:
    def __init__(self) -> None:
        self.problems: list[str] = []

    def text(self, value: Any, where: str, required: bool = True) -> Text | None:
        if value is None and not required:
            return None
        if not isinstance(value, dict):
            self.problems.append(f"{where}: needs vi and en texts")
            return None
        out = {}
        for lang in LANGS:
            raw = value.get(lang)
            if not isinstance(raw, str) or not raw.strip():
                self.problems.append(f"{where}.{lang}: missing text")
                return None
            if unicodedata.normalize("NFC", raw) != raw:
                self.problems.append(f"{where}.{lang}: not NFC (retype with a Unicode keyboard)")
            out[lang] = raw.strip()
        return Text(out["vi"], out["en"])

    def label(self, value: Any, where: str) -> Label | None:
        if not isinstance(value, dict):
            self.problems.append(f"{where}: must be a table")
            return None
        text = self.text(value, where)
        picture = value.get("picture")
        if picture is not None and not isinstance(picture, str):
            self.problems.append(f"{where}.picture: must be a file name")
        return Label(text, picture) if text else None

    def strings(self, value: Any, where: str) -> tuple[str, ...]:
        if value is None:
            return ()
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            self.problems.append(f"{where}: must be a list of menu names")
            return ()
        return tuple(value)


def parse(data: dict[str, Any]) -> Content:
    """Validate a decoded guide.toml; raises ContentError listing every problem."""
    r = _Reader()
    answers: dict[str, Label] = {}
    raw_answers = data.get("answers", {})
    for key in [*(a.value for a in Answer), PRINT]:
        label = r.label(raw_answers.get(key), f"answers.{key}")
        if label:
            answers[key] = label
    nodes: dict[Node, NodeContent] = {}
    raw_nodes = data.get("nodes", {})
    for unknown in set(raw_nodes) - {n.value for n in Node}:
        r.problems.append(f"nodes.{unknown}: no such screen in the guide")
    for node in Node:
        raw = raw_nodes.get(node.value)
        where = f"nodes.{node.value}"
        if not isinstance(raw, dict):
            r.problems.append(f"{where}: missing")
            continue
        title = r.text(raw.get("title"), f"{where}.title")
        body = r.text(raw.get("body"), f"{where}.body")
        speak = r.text(raw.get("speak"), f"{where}.speak", required=False) or title
        steps = []
        for i, step in enumerate(raw.get("steps", []), 1):
            sw = f"{where}.steps[{i}]"
            text = r.text(step, sw)
            if text is None:
                continue
            menu = r.strings(step.get("menu"), f"{sw}.menu")
            for name in menu:
                if name not in text.vi:
                    r.problems.append(f"{sw}: the Vietnamese text must contain {name!r} verbatim")
            steps.append(StepItem(text, menu, step.get("picture"),
                                  bool(step.get("show_card_number", False))))
        own = {}
        for key, value in raw.get("answers", {}).items():
            if key not in answers and key not in {a.value for a in Answer}:
                r.problems.append(f"{where}.answers.{key}: no such answer")
                continue
            label = r.label(value, f"{where}.answers.{key}")
            if label:
                own[key] = label
        explain = {}
        for key, value in raw.get("explain", {}).items():
            text = r.text(value, f"{where}.explain.{key}")
            if text:
                explain[key] = text
        if title and body and speak:
            nodes[node] = NodeContent(
                node, title, body, speak, raw.get("picture"), tuple(steps),
                r.strings(raw.get("menu"), f"{where}.menu"), own, explain,
            )
    handout: dict[Node, tuple[Node, ...]] = {}
    for key, value in data.get("handout", {}).items():
        try:
            handout[Node(key)] = tuple(Node(v) for v in value)
        except (ValueError, TypeError):
            r.problems.append(f"handout.{key}: screens must be node names")
    stores = {k: v for k, v in data.get("stores", {}).items() if isinstance(v, str)}
    if r.problems:
        raise ContentError(r.problems)
    return Content(nodes, answers, handout, stores, str(data.get("source", "")))


def load(path: Path | None = None) -> Content:
    """Read and validate the bundled (or the hospital's overriding) guide.toml."""
    if path is None:
        from kiosk.assets import asset_path

        path = asset_path(*CONTENT_FILE)
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ContentError([f"{path}: {exc}"]) from exc
    return parse(data)
