"""`kiosk face match` and the doctor's face check, through the CLI's entry point."""

import json
import sys

import pytest

from kiosk.cli import main
from kiosk.config import demo_config
from kiosk.ops.doctor_face import check_face
from tests import face_images as fi


@pytest.fixture
def card(tmp_path, faces):
    path = tmp_path / "card.jp2"
    path.write_bytes(fi.chip_photo("obama2.jpg", faces["obama2.jpg"].box))
    return path


@pytest.fixture(autouse=True)
def demo_env(monkeypatch, tmp_path):
    monkeypatch.setenv("KIOSK_CONFIG", "")
    monkeypatch.setenv("KIOSK_STATE_DIR", str(tmp_path / "state"))


@pytest.mark.parametrize(("image", "decision", "reason"), [
    ("obama3.jpg", "match", None), ("biden.jpg", "no_match", None),
    (fi.NO_FACE, "cannot_tell", "no_face"),
])
def test_match_prints_the_decision_and_exits_0(card, image, decision, reason, capsys):
    assert main(["face", "match", "--photo", str(card), "--image", str(fi.path(image)),
                 "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["decision"], out["reason"], out["threshold"]) == (decision, reason, 0.5)
    assert (out["distance"] is None) == (decision == "cannot_tell")
    assert {"load", "decode", "live_detect"} <= set(out["ms"])


def test_threshold_option_and_unreadable_image(card, tmp_path, capsys):
    assert main(["face", "match", "--photo", str(card), "--image", str(fi.path("obama3.jpg")),
                 "--threshold", "0.2", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["decision"] == "no_match"
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 truncated")
    assert main(["face", "match", "--photo", str(bad), "--image", str(card), "--json"]) == 2
    error = json.loads(capsys.readouterr().err)["error"]
    assert error["kind"] == "bad_input" and "bad.jpg" in error["message"]


def test_without_the_extra_match_exits_6_and_doctor_says_so(card, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "dlib", None)  # as if dlib-bin were not installed
    assert main(["face", "match", "--photo", str(card), "--image", str(card)]) == 6
    assert "[face]" in capsys.readouterr().err
    config = demo_config()
    assert check_face(config).status == "pass"  # face_match is off: nothing missing
    from dataclasses import replace
    required = replace(config, biometric=replace(config.biometric, face_match="required"))
    check = check_face(required)
    assert check.status == "fail" and "not installed" in check.detail


def test_doctor_reports_speed_when_installed(matcher):
    check = check_face(demo_config())
    assert check.status == "pass" and "installed" in check.detail
    assert "1280×720 frame" in check.detail


def test_the_debian_package_never_ships_the_68_point_model(tmp_path):
    """If the [face] extra is ever bundled, build_deb drops the non-commercial model
    and keeps the three the kiosk uses (and the installed extra holds them all)."""
    import importlib.util
    from pathlib import Path

    from drivers.face import model_dir

    root = Path(__file__).resolve().parents[3]
    spec = importlib.util.spec_from_file_location("build_deb", root / "packaging/build_deb.py")
    build_deb = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build_deb)
    installed = {p.name for p in model_dir().iterdir()}
    assert set(build_deb.UNLICENSED_MODELS) <= installed  # the extra does carry it
    models = tmp_path / "venv/lib/python3.11/site-packages/face_recognition_models/models"
    models.mkdir(parents=True)
    for name in installed:
        (models / name).write_bytes(b"x")
    dropped = build_deb.drop_unlicensed_models(tmp_path / "venv")
    assert [p.name for p in dropped] == ["shape_predictor_68_face_landmarks.dat"]
    assert {p.name for p in models.iterdir()} == installed - {dropped[0].name}


def test_the_staff_screen_gets_todays_face_counts_only(tmp_path):
    import dataclasses
    import types

    from kiosk.services.statistics import SqliteStatistics
    from kiosk.store import connect
    from kiosk.ui.staff_status import staff_status

    config = demo_config()
    db = connect(tmp_path / "k.sqlite3")
    stats = SqliteStatistics(db, config.kiosk_id, config.facility.timezone)
    for metric in ("face.verified", "face.verified", "face.declined", "face.offered"):
        stats.count(metric)
    assembly = types.SimpleNamespace(config=config, db=db)
    assert staff_status(assembly).face_counts == {}  # face_match = "off": nothing shown
    on = dataclasses.replace(config, biometric=dataclasses.replace(
        config.biometric, face_match="offered"))
    assembly.config = on
    assert staff_status(assembly).face_counts == {"verified": 2, "not_verified": 0,
                                                  "declined": 1}


def test_face_check_sees_a_face_on_a_camera_fed_from_a_file(matcher, capsys):
    assert main(["face", "check", "--file", str(fi.path("obama.jpg")), "--seconds", "1.5",
                 "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["results"].get("face", 0) >= 1 and out["face_width_px_median"] > 200
    assert main(["face", "check", "--file", str(fi.path(fi.NO_FACE)), "--seconds", "1",
                 "--json"]) == 1  # a camera that sees no face fails the self-test
    assert set(json.loads(capsys.readouterr().out)["results"]) == {"no_face"}
