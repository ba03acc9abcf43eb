"""Every branch of the health-book guide through the real Kivy screen on Xvfb, with
simulated touches on its buttons (subprocess: Kivy owns its process)."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kiosk.journey.health_book_content import picture_variant

pytestmark = [pytest.mark.e2e,
              pytest.mark.skipif(shutil.which("Xvfb") is None, reason="Xvfb not installed")]

CARD = "HS4010120878811"
Y, N, NEXT = "hb.answer.yes", "hb.answer.no", "hb.answer.next"
PATHS = {
    "present": ["installed", CARD, [Y, Y, Y, Y] + [NEXT] * 4 + [Y]],
    "activate": ["installed", CARD, [Y, Y, Y, N] + [NEXT] * 7 + [NEXT] * 4 + [Y]],
    "integrate_verified": ["installed", CARD, [Y, Y, N] + [NEXT] * 9
                           + ["hb.answer.verified"] + [NEXT] * 7 + [NEXT] * 4 + [N]],
    "integrate_pending": ["installed", CARD, [Y, Y, N] + [NEXT] * 9
                          + ["hb.answer.pending", "hb.answer.done"]],
    "integrate_failed": ["installed", CARD, [Y, Y, N] + [NEXT] * 9
                         + ["hb.answer.failed", "hb.print", "hb.answer.done"]],
    "police": ["installed", CARD, [Y, N, "hb.back", N, "hb.answer.done"]],
    "install_later": ["installed", CARD, [N, NEXT, NEXT, "hb.back", "hb.answer.later",
                                          "hb.answer.done"]],
    "no_smartphone": ["installed", CARD, ["hb.answer.no_smartphone", "hb.answer.done"]],
    "no_bhyt": ["installed", None, [Y, Y, N, "hb.answer.done"]],
    "under_14_parent": ["under_14", None, ["hb.answer.parent", Y, Y, Y, Y, Y]
                        + [NEXT] * 4 + [Y]],
    "under_14_no": ["under_14", None, ["hb.answer.done"]],
    "quit": ["installed", CARD, [Y, "hb.quit"]],
    "install_later_en": ["installed", CARD, [N, NEXT, NEXT, "hb.back", "hb.answer.later",
                                             "hb.answer.done"], "en"],
    "status_en": ["installed", CARD, [Y, Y, N] + [NEXT] * 9 + ["hb.answer.pending",
                                                                "hb.answer.done"], "en"],
}
PICTURES = Path(__file__).resolve().parents[2] / "assets" / "images" / "health_book"


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    from kiosk.ui.xvfb import Xvfb

    home = tmp_path_factory.mktemp("kivy")
    xvfb = Xvfb(1280, 720)
    display = xvfb.start()
    try:
        proc = subprocess.run(
            [sys.executable, str(Path(__file__).with_name("health_book_ui_driver.py")),
             str(home)],
            env={**os.environ, "DISPLAY": display, "HB_PATHS": json.dumps(PATHS)},
            capture_output=True, text=True, timeout=240, check=False)
    finally:
        xvfb.stop()
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_the_guide_replaces_the_placeholder(run):
    assert run["screen"] == "HealthBookGuideScreen"


@pytest.mark.parametrize(("name", "end"), [
    ("present", ["done", None, None]),
    ("activate", ["done", None, None]),
    ("integrate_verified", ["done", None, None]),
    ("integrate_pending", ["done", None, None]),
    ("integrate_failed", ["done", None, None]),
    ("police", ["done", None, None]),
    ("install_later", ["done", None, None]),
    ("no_smartphone", ["done", None, None]),
    ("no_bhyt", ["done", None, None]),
    ("under_14_parent", ["done", None, None]),
    ("under_14_no", ["done", None, None]),
    ("quit", ["done", None, None]),
    ("install_later_en", ["done", None, None]),
    ("status_en", ["done", None, None]),
])
def test_every_branch_by_touch(run, name, end):
    trail = run["paths"][name]
    assert trail["missing"] is None, trail
    assert trail["end"] == end


def test_nodes_visited(run):
    p = run["paths"]
    assert "present" in p["present"]["nodes"] and "confirm" in p["present"]["nodes"]
    assert {"integrate", "status", "activate"} <= set(p["integrate_verified"]["nodes"])
    assert p["integrate_pending"]["nodes"][-2] == "pending"
    assert p["integrate_failed"]["nodes"][-2] == "failed"
    assert "police" in p["police"]["nodes"]
    assert {"install", "later"} <= set(p["install_later"]["nodes"])
    assert "has_bhyt" in p["under_14_parent"]["nodes"]


def test_menu_names_and_card_number_on_screen(run):
    texts = run["paths"]["integrate_verified"]["texts"]
    bodies = [t[1] for t in texts]
    assert "Chọn mục: Ví giấy tờ" in bodies and "Chọn: Gửi yêu cầu" in bodies
    assert any(t[2] == CARD for t in texts)  # shown large on the card-number step
    assert all(t[2] == "" for t in run["paths"]["under_14_parent"]["texts"])


@pytest.mark.parametrize(("paths", "lang"), [(("install_later", "integrate_pending"), "vi"),
                                             (("install_later_en", "status_en"), "en")])
def test_pictures_in_the_patients_language(run, paths, lang):
    """English shows a picture's English drawing wherever one exists, else the Vietnamese
    one (no words to translate); Vietnamese never shows an English drawing."""
    shown = [name for path in paths for view in run["paths"][path]["pictures"] for name in view]
    assert shown
    for name in shown:
        base = name.replace(".en.png", ".png")
        wanted = picture_variant(base, lang)
        assert name == (wanted if (PICTURES / wanted).exists() else base), name
    english = [n for n in shown if n.endswith(".en.png")]
    if lang == "en":  # the main picture and the status badges on the answer buttons
        assert {"q_installed.en.png", "later.en.png", "status_pending.en.png"} <= set(english)
    else:
        assert english == []
