"""The guide's content (assets/health_book/guide.toml) against the official wording.

VNeID menu names must be shown WORD FOR WORD as in seed 004 (Phụ lục I–III),
so the patient finds on the phone exactly what the kiosk says to tap.
"""

import unicodedata
import wave
from pathlib import Path

import pytest

from kiosk.assets import asset_path
from kiosk.journey import health_book as hb
from kiosk.journey import health_book_content as hc

ROOT = Path(__file__).resolve().parents[3]
SEEDS = ROOT.parent / "shared" / "seeds"


@pytest.fixture(scope="module")
def content():
    return hc.load()


@pytest.fixture(scope="module")
def seed():
    found = sorted(SEEDS.glob("004_*.txt"))
    if not found:
        pytest.skip(f"seed 004 not present under {SEEDS}")
    return unicodedata.normalize("NFC", found[0].read_text("utf-8"))


def test_every_menu_name_is_verbatim_in_seed_004(content, seed):
    names = {m for n in content.nodes.values() for m in n.all_menu_names()}
    assert len(names) >= 20
    # The step lists in the seed are in capitals ("CHỌN MỤC: VÍ GIẤY TỜ"); elsewhere the
    # same names appear in the app's own case. Either form, character for character.
    missing = sorted(n for n in names if n not in seed and n.upper() not in seed)
    assert missing == []


def test_the_issues_menu_paths_are_all_used(content):
    integrate = [m for s in content.nodes[hb.Node.INTEGRATE].steps for m in s.menu]
    assert integrate[:6] == ["Ví giấy tờ", "Tích hợp giấy tờ", "Tạo mới yêu cầu",
                             "Loại thông tin", "Thẻ Bảo hiểm y tế", "Đơn vị cấp thẻ"]
    assert integrate[6:] == ["Bảo hiểm xã hội Việt Nam", "Số thẻ BHYT",
                             "Tôi xác nhận các thông tin ở trên là đúng", "Gửi yêu cầu"]
    activate = [m for s in content.nodes[hb.Node.ACTIVATE].steps for m in s.menu]
    assert activate[:2] == ["Hồ sơ sức khỏe", "Sổ sức khỏe điện tử"]
    statuses = {content.label(hb.Node.STATUS, a).text.vi
                for a in (hb.Answer.VERIFIED, hb.Answer.PENDING, hb.Answer.FAILED)}
    assert statuses == {"Đã xác thực", "Chờ xác thực", "Xác thực không đạt"}


def test_a_wrong_menu_name_would_be_caught(seed):
    assert "Ví tài liệu" not in seed and "VÍ TÀI LIỆU" not in seed


def test_every_screen_and_answer_has_both_languages(content):
    assert set(content.nodes) == set(hb.Node)
    for node in hb.Node:
        g = hb.Guide(node, "HS4010120878811", history=(hb.Node.INSTALLED,))
        for a in g.answers():
            label = content.label(node, a)
            assert label.text.vi and label.text.en
    explain = content.nodes[hb.Node.STATUS].explain
    assert set(explain) == {"verified", "pending", "failed"}


def test_pictures_and_prompts_exist(content):
    for name in content.pictures():
        assert asset_path("images", "health_book", name).stat().st_size > 500
    for lang in hc.LANGS:
        for node in hb.Node:
            with wave.open(str(asset_path("sounds", "health_book", lang, f"{node}.wav"))) as w:
                assert w.getnframes() / w.getframerate() > 0.5


def test_handout_covers_every_handout_section(content):
    for node in set(hb.HANDOUT.values()):
        assert content.handout_nodes(node)


@pytest.mark.parametrize(("mutate", "problem"), [
    (lambda d: d["nodes"]["integrate"]["steps"][1].update(menu=["Ví tài liệu"]),
     "must contain 'Ví tài liệu' verbatim"),
    (lambda d: d["nodes"]["level2"]["title"].pop("en"), "nodes.level2.title.en"),
    (lambda d: d["nodes"].pop("police"), "nodes.police: missing"),
    (lambda d: d["nodes"]["police"]["title"].update(vi="Cong an\u0301"), "not NFC"),
    (lambda d: d["handout"].update(police=["nowhere"]), "handout.police"),
    (lambda d: d["nodes"].update(bogus={}), "nodes.bogus"),
])
def test_edited_content_errors_are_reported(mutate, problem):
    import tomllib
    data = tomllib.loads(asset_path(*hc.CONTENT_FILE).read_text("utf-8"))
    mutate(data)
    with pytest.raises(hc.ContentError) as err:
        hc.parse(data)
    assert any(problem in p for p in err.value.problems), err.value.problems
