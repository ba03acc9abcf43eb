"""The strict loader: unknown keys anywhere, suggestions, values checked at load."""

import dataclasses
import tomllib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.config import ConfigError
from kiosk.config.his import FHIR_SYSTEMS, SYNC_INTEGERS, SYNC_NUMBERS
from kiosk.config.loader import build, demo_config_text


def demo_raw():
    return tomllib.loads(demo_config_text())


def problems_of(raw):
    with pytest.raises(ConfigError) as info:
        build(raw, source="test.toml", base_dir=Path("/tmp"))
    return info.value


def test_the_demo_configuration_is_clean():
    config = build(demo_raw(), source="built-in demo", base_dir=Path("/tmp"))
    assert config.demo and config.his.use_his_catalogue is False


@pytest.mark.parametrize("section, key, suggestion", [
    ("bhxh", "budegt_s", "budget_s"),
    ("ui", "opening_hour", "opening_hours"),
    ("facility", "timezon", "timezone"),
    ("devices", "camera_with", "camera_width"),
])
def test_typo_names_the_key_and_the_nearest_known_one(section, key, suggestion):
    raw = demo_raw()
    raw[section][key] = raw[section].get(suggestion, 1)
    error = problems_of(raw)
    assert f"{section}.{key}: unknown key; did you mean {suggestion!r}?" in error.problems
    detail = next(d for d in error.details if d.key == f"{section}.{key}")
    assert suggestion in detail.vi and "khóa không hợp lệ" in detail.vi


def test_unknown_keys_in_nested_tables_and_arrays():
    raw = demo_raw()
    raw["his"]["setting"] = {"url": "x"}
    raw["services"][1]["romm"] = "101"
    raw["bogus"] = {}
    problems = problems_of(raw).problems
    assert "his.setting: unknown key; did you mean 'settings'?" in problems
    assert "services[1].romm: unknown key; did you mean 'room'?" in problems
    assert "bogus: unknown section" in problems


def test_a_key_in_the_wrong_table_says_where_it_belongs():
    raw = demo_raw()
    raw["his"]["settings"] = {"use_his_catalogue": True}
    assert ("his.settings.use_his_catalogue: unknown key; it belongs in [his]"
            in problems_of(raw).problems)


def test_every_adapter_knows_its_own_keys_only():
    raw = demo_raw()
    raw["his"] = {"adapter": "gnuhealth", "settings": {
        "url": "https://his.example", "database": "health", "username": "u", "password": "p",
        "visit_resource": "Encounter"}}
    assert problems_of(raw).problems == ["his.settings.visit_resource: unknown key"]
    raw["his"]["settings"].pop("visit_resource")
    raw["his"]["settings"].pop("database")
    assert problems_of(raw).problems == ["his.settings.database: required"]


def test_rest_templates_are_checked_at_load():
    raw = demo_raw()
    raw["his"] = {"adapter": "rest", "settings": {
        "url": "https://his.example",
        "create_patient": {"path": "/p", "body": {"ten": "{ful_name}"}},
        "create_visit": {"path": "/v", "body": {"so": "{queue_number}"}}}}
    [problem] = problems_of(raw).problems
    assert problem.startswith("his.settings.create_patient.body: unknown field(s) ful_name")


@pytest.mark.parametrize("hours", ["07:00-24:59", "24:00-25:00", "7:00-16:00", "07:60-08:00",
                                   "07:00 - 16:00", "٠٧:00-16:00"])
def test_impossible_hours_fail_at_load(hours):
    raw = demo_raw()
    raw["services"][0]["hours"] = hours
    assert any(p.startswith("services[0].hours:") for p in problems_of(raw).problems)


def test_sync_and_fhir_key_lists_match_the_code_that_reads_them():
    from kiosk.services.his.fhir.resources import Systems
    from kiosk.services.sync import SyncSettings

    fields = {f.name: f.type for f in dataclasses.fields(SyncSettings)}
    assert set(fields) == set(SYNC_INTEGERS) | set(SYNC_NUMBERS)
    assert {f.name for f in dataclasses.fields(Systems)} == set(FHIR_SYSTEMS)


SECTION_KEYS = st.sampled_from(["kiosk", "facility", "devices", "bhxh", "his", "printer", "ui",
                                "retention", "fleet"])
VALUES = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True),
                   st.text(max_size=20), st.lists(st.integers(), max_size=3),
                   st.dictionaries(st.text(max_size=5), st.integers(), max_size=2))


@settings(max_examples=150, deadline=None)
@given(section=SECTION_KEYS, key=st.text(min_size=1, max_size=15), value=VALUES)
def test_any_key_and_value_loads_or_is_named(section, key, value):
    raw = demo_raw()
    table = raw.setdefault(section, {})
    table[key] = value
    try:
        build(raw, source="test.toml", base_dir=Path("/tmp"))
    except ConfigError as exc:
        assert exc.problems and all(p.split(":", 1)[0] for p in exc.problems)
