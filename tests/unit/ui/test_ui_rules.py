"""Accessibility and content rules computed from the theme and the string tables
(no window needed): contrast, sizes, touch targets, translations, prompts."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
import wave

import pytest

from kiosk.assets import asset_path
from kiosk.domain.insurance import InsuranceResult
from kiosk.domain.registration import PrintResult
from kiosk.journey.state import Session, Step
from kiosk.ui.hardening import Blanking, DisplayOptions, OpeningHours, kivy_settings
from kiosk.ui.i18n import Strings
from kiosk.ui.prompts import PromptPlayer, all_prompt_keys, prompt_for
from kiosk.ui.theme import THEME, WCAG_AA, contrast_ratio

STRINGS = Strings.load()


def test_contrast_known_answers() -> None:
    assert contrast_ratio("#000000", "#FFFFFF") == pytest.approx(21.0)
    assert contrast_ratio("#777777", "#FFFFFF") == pytest.approx(4.48, abs=0.01)


@pytest.mark.parametrize("pair", sorted(THEME.pairs()))
def test_every_text_colour_pair_meets_wcag_aa(pair: str) -> None:
    fg, bg = THEME.pairs()[pair]
    assert contrast_ratio(fg, bg) >= WCAG_AA, pair


def test_text_sizes_for_elderly_at_1080p() -> None:
    s = THEME.sizes
    scale = THEME.scale(1920, 1080)
    assert scale == 1.0
    for role in ("body", "small", "subheading", "button_text"):
        assert getattr(s, role) * scale >= 32, role
    assert s.heading * scale >= 56
    assert THEME.scale(3840, 2160) == 2.0  # a 4K panel doubles every size


def test_touch_targets_at_least_12_mm_on_the_densest_panel() -> None:
    for name, px in THEME.touch_targets().items():
        assert THEME.target_mm(px) >= THEME.min_target_mm, name


def test_both_languages_have_every_key_in_nfc() -> None:
    vi, en = STRINGS.tables["vi"], STRINGS.tables["en"]
    assert set(vi) == set(en)
    for table in (vi, en):
        for key, text in table.items():
            assert text.strip(), key
            assert unicodedata.normalize("NFC", text) == text, key
    # same placeholders in both
    for key in vi:
        assert set(re.findall(r"{(\w+)}", vi[key])) == set(re.findall(r"{(\w+)}", en[key])), key


def test_every_prompt_has_text_and_sound_and_speaks_no_personal_data() -> None:
    for lang in ("vi", "en"):
        for key in all_prompt_keys():
            text = STRINGS.tables[lang][f"prompt.{key}"]
            assert "{" not in text and not re.search(r"\d", text), (lang, key)
            path = asset_path("sounds", lang, f"{key}.wav")
            with wave.open(str(path)) as w:
                assert w.getnchannels() == 1
                assert w.getnframes() / w.getframerate() > 0.5, (lang, key)


def _insurance(outcome: str) -> InsuranceResult:
    now = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    base = InsuranceResult.not_checked("x", "test", now)
    from dataclasses import replace

    return replace(base, outcome=outcome)  # type: ignore[arg-type]


def test_a_prompt_for_every_screen() -> None:
    for step in Step:
        session = Session(step=step, insurance=_insurance("usable"),
                          print_result=PrintResult(True), error="card_unreadable")
        key = prompt_for(session)
        assert key in all_prompt_keys(), step
    assert prompt_for(Session(step=Step.TICKET)) is None  # still printing: wait
    assert prompt_for(Session(step=Step.TICKET, print_result=PrintResult(False, problem="paper_out"))
                      ) == "ticket_not_printed"
    assert prompt_for(Session(step=Step.CONFIRM_IDENTITY, idle_warning=True)) == "idle_warning"
    assert prompt_for(Session(step=Step.INSURANCE_RESULT, insurance=_insurance("misconfigured"))
                      ) == "insurance_unavailable"


def test_prompt_player_survives_missing_sounds(tmp_path: object) -> None:
    played = []

    class Sound:
        def play(self) -> None:
            played.append(1)

        def stop(self) -> None:
            pass

    player = PromptPlayer(asset_path("sounds"), loader=lambda _p: Sound())
    player.play("idle", "vi")
    player.play("no_such_prompt", "vi")  # logged, not raised
    assert played == [1]
    assert player.played == ["vi/idle", "vi/no_such_prompt"]


def test_kiosk_input_has_exactly_one_provider() -> None:
    touch = dict(((s, k), v) for s, k, v in kivy_settings(DisplayOptions(touch=True)))
    assert touch[("input", "mouse")] == ""  # SDL's emulated mouse would double every tap
    assert touch[("input", "%(name)s")].startswith("probesysfs")
    assert touch[("graphics", "show_cursor")] == "0"
    assert touch[("kivy", "exit_on_escape")] == "0"
    desk = dict(((s, k), v) for s, k, v in kivy_settings(DisplayOptions(touch=False)))
    assert desk[("input", "%(name)s")] == "" and desk[("input", "mouse")].startswith("mouse")
    with pytest.raises(ValueError):
        kivy_settings(DisplayOptions(rotation=45))


def test_opening_hours_and_blanking() -> None:
    day = OpeningHours.parse("06:30-17:00")
    assert day.is_open(dt.time(6, 30)) and not day.is_open(dt.time(17, 0))
    assert OpeningHours.parse("00:00-24:00").is_open(dt.time(23, 59, 59))
    night = OpeningHours.parse("22:00-06:00")
    assert night.is_open(dt.time(23, 0)) and night.is_open(dt.time(5, 0))
    assert not night.is_open(dt.time(12, 0))
    with pytest.raises(ValueError):
        OpeningHours.parse("7-17")
    blank = Blanking(day, quiet_s=60)
    assert blank.should_blank(dt.time(20, 0), idle=True, quiet_for=61)
    assert not blank.should_blank(dt.time(20, 0), idle=False, quiet_for=600)  # mid-journey
    assert not blank.should_blank(dt.time(20, 0), idle=True, quiet_for=10)
    assert not blank.should_blank(dt.time(9, 0), idle=True, quiet_for=600)
