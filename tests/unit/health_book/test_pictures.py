"""The guide's pictures in the patient's language: every picture with translatable
words has a committed English drawing (`<stem>.en.png`), pictures without words
(or whose only words are VNeID's own menu names) have none, and the screen picks
the English file in English, the Vietnamese one otherwise or when there is no variant.
"""

from __future__ import annotations

import importlib.util
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest
from PIL import Image

from kiosk.assets import asset_path
from kiosk.journey import health_book_content as hc

ROOT = Path(__file__).resolve().parents[3]
SCRIPT = ROOT / "scripts" / "generate_health_book_assets.py"


@pytest.fixture(scope="module")
def generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("generate_health_book_assets", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def content() -> hc.Content:
    return hc.load()


@pytest.fixture(scope="module")
def translated(generator: ModuleType, content: hc.Content) -> set[str]:
    """Pictures whose English drawing differs from the Vietnamese one."""
    found = set()
    for name, (menu, caption) in generator.pictures(content).items():
        vi = generator.render(name, menu, caption, "vi")
        en = generator.render(name, menu, caption, "en")
        if vi.tobytes() != en.tobytes():
            found.add(name)
    return found


def _pixels(path: Path) -> bytes:
    with Image.open(path) as image:
        return image.convert("RGB").tobytes()


def test_picture_variant_names() -> None:
    assert hc.picture_variant("install_1.png", "en") == "install_1.en.png"
    assert hc.picture_variant("install_1.png", "vi") == "install_1.png"


def test_the_generator_draws_every_picture_the_guide_names(generator: ModuleType,
                                                           content: hc.Content) -> None:
    assert set(generator.pictures(content)) == content.pictures()


def test_every_picture_with_english_words_has_an_english_file(
        content: hc.Content, translated: set[str]) -> None:
    folder = asset_path("images", "health_book")
    missing, extra = [], []
    for name in sorted(content.pictures()):
        variant = folder / hc.picture_variant(name, "en")
        if name in translated and not variant.exists():
            missing.append(variant.name)
        if name not in translated and variant.exists():
            extra.append(variant.name)
    assert missing == [] and extra == []
    for name in translated:
        variant = folder / hc.picture_variant(name, "en")
        with Image.open(variant) as image:
            assert image.size == (360, 360)
        assert variant.stat().st_size < 8000
        assert _pixels(variant) != _pixels(folder / name)


def test_no_orphan_english_files(content: hc.Content) -> None:
    named = {hc.picture_variant(n, "en") for n in content.pictures()}
    on_disk = {p.name for p in asset_path("images", "health_book").glob("*.en.png")}
    assert on_disk <= named


def test_what_is_translated(content: hc.Content, translated: set[str]) -> None:
    # Captions, status badges and the police sign are in the patient's language...
    assert {"step_login.png", "q_installed.png", "status_verified.png",
            "status_pending.png", "police.png"} <= translated
    # ...the VNeID menu names on the phone stay the app's own Vietnamese, and pictures
    # without words (answer arrows, the BHYT card, the child and parent) need nothing.
    menu_pictures = {s.picture for n in content.nodes.values() for s in n.steps if s.menu}
    assert menu_pictures and not menu_pictures & translated
    assert not {"answer_yes.png", "answer_next.png", "bhyt_card.png", "parent.png"} & translated


Source = Callable[[str | None, str], str]


@pytest.fixture
def picture_source() -> Source:
    pytest.importorskip("kivy")
    from kiosk.ui.health_book import picture_source

    return picture_source


def test_the_screen_picks_the_picture_for_its_language(picture_source: Source,
                                                        translated: set[str]) -> None:
    name = sorted(translated)[0]
    assert Path(picture_source(name, "en")).name == hc.picture_variant(name, "en")
    assert Path(picture_source(name, "vi")).name == name
    assert Path(picture_source("answer_yes.png", "en")).name == "answer_yes.png"
    assert picture_source(None, "en") == ""


def test_a_hospitals_picture_without_a_variant_falls_back_quietly(
        picture_source: Source, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    folder = tmp_path / "images" / "health_book"
    folder.mkdir(parents=True)
    (folder / "police.png").write_bytes(b"the hospital's own drawing")
    monkeypatch.setenv("KIOSK_ASSETS", str(tmp_path))
    assert picture_source("police.png", "en") == str(folder / "police.png")
    assert picture_source("police.png", "vi") == str(folder / "police.png")
    assert not caplog.records
    assert picture_source("later.png", "en") == ""  # neither file: empty, and logged
    assert "later.png" in caplog.text
