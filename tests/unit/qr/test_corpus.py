"""Every payload kind, with Vietnamese diacritics, under every degradation: the
reader must return the exact text and the parser the exact fields."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import cv2
import pytest

from drivers.qr import QrReader, ZbarDecoder, ZxingDecoder, to_gray
from drivers.virtual.qrcorpus import PAYLOADS, Sample
from drivers.virtual.qrscene import DISTORTIONS, render_code
from kiosk.domain.qr_payload import parse_qr

# Hand-written expectations (not derived from the parser under test).
EXPECTED = {
    "cccd_2021": {
        "kind": "cccd", "id_number": "001185012345", "old_id_number": "012345678",
        "full_name": "Nguyễn Thị Hồng Nhung", "date_of_birth": "1985-03-14", "sex": "Nữ",
        "residence": "Số 12 Hàng Bột, Đống Đa, Hà Nội", "issue_date": "2021-07-02",
    },
    "can_cuoc_2024": {
        "kind": "cccd", "id_number": "038058004321", "old_id_number": None,
        "full_name": "Lê Văn Thưởng", "date_of_birth": "1958-11-02", "sex": "Nam",
        "residence": "Thôn Đông, Quảng Xương, Thanh Hóa", "issue_date": "2024-01-20",
        "extra_fields": ["", "Lê Văn Ất", "Trần Thị Bưởi", ""],
    },
    "vneid_wallet": {
        "kind": "cccd", "id_number": "079303001234", "full_name": "Trần Ngọc Ánh",
        "date_of_birth": "2003-06-05", "sex": "Nữ",
        "residence": "Phường Bến Nghé, Quận 1, Thành phố Hồ Chí Minh",
    },
    "bhyt_card": {
        "kind": "bhyt", "card_number": "HS4010120878811", "full_name": "Phạm Thị Lợi",
        "date_of_birth": "1950-01-01", "sex": "Nữ", "address": "Xã Đức Thượng, Hoài Đức, Hà Nội",
        "registered_facility": "01043", "valid_to": "2024-12-31",
    },
    "vssid_bhxh10": {
        "kind": "bhyt", "card_number": "0123456789", "full_name": "Đỗ Quang Huy",
        "date_of_birth": "1990", "sex": "Nam", "address": "Ấp Mỹ Lợi, Cái Bè, Tiền Giang",
        "registered_facility": "82001", "valid_to": None, "area_code": "K1",
    },
    "vneid_token": {"kind": "unknown", "reason": "vneid_token"},
    "url": {"kind": "unknown", "reason": "url"},
    "payment": {"kind": "unknown", "reason": "payment"},
}


def test_expectations_cover_every_payload() -> None:
    assert set(EXPECTED) == set(PAYLOADS)


def test_corpus_decodes_exactly(corpus: list[tuple[Sample, Path]]) -> None:
    reader = QrReader()
    failures = []
    stages: dict[str, int] = {}
    for sample, path in corpus:
        reader.reset()
        image = cv2.imread(str(path))
        result = reader.read(image)
        if result.symbol is None or result.symbol.text != sample.payload:
            failures.append(sample.id)
            continue
        stages[result.stage] = stages.get(result.stage, 0) + 1
        fields = parse_qr(result.symbol.text).to_json()
        expected = EXPECTED[sample.name]
        assert {k: fields[k] for k in expected} == expected, sample.id
        for key in ("full_name", "residence", "address"):
            if key in fields:
                assert unicodedata.is_normalized("NFC", fields[key])
    assert failures == [], f"{len(failures)}/{len(corpus)} not decoded: {failures}"
    # The cheap passes carry most frames (the rescue passes are for the hard ones).
    assert stages.get("half", 0) + stages.get("full", 0) > len(corpus) // 2


def test_corpus_covers_every_kind_and_degradation(corpus: list[tuple[Sample, Path]]) -> None:
    assert {s.name for s, _ in corpus} == set(PAYLOADS)
    assert {s.distortion for s, _ in corpus} == set(DISTORTIONS)
    assert len(corpus) >= 100


def test_rendering_is_deterministic() -> None:
    sample = Sample("cccd_2021", "glare", 1, PAYLOADS["cccd_2021"])
    assert (sample.render() == sample.render()).all()


@pytest.mark.parametrize("text", ["Lê Lợi", "Nữ", "Hưng", "Đỗ", "Nguyễn Thị Hồng Nhung"])
def test_zbar_binary_mode_keeps_short_utf8(text: str) -> None:
    # Short UTF-8 texts are what zbar's charset guessing garbles (DOMAIN.md §4).
    image = render_code(text, module_px=6)
    symbols = ZbarDecoder(binary=True).decode(image)
    assert [s.text for s in symbols] == [text]
    assert symbols[0].raw == text.encode("utf-8")


@pytest.mark.parametrize("text", ["Lê Lợi", "Nữ"])
def test_zxing_returns_utf8_from_raw_bytes(text: str) -> None:
    symbols = ZxingDecoder().decode(render_code(text, module_px=6))
    assert [s.text for s in symbols] == [text]


def test_zbar_fallback_decodes_corpus_frames(corpus: list[tuple[Sample, Path]]) -> None:
    """The fallback is a real second decoder, not dead code: it reads the clean frames."""
    zbar = ZbarDecoder()
    clean = [(s, p) for s, p in corpus if s.distortion == "clean"]
    ok = 0
    for sample, path in clean:
        symbols = zbar.decode(to_gray(cv2.imread(str(path))))
        ok += any(sym.text == sample.payload for sym in symbols)
    assert ok == len(clean)


def test_reader_reports_positions_in_frame_coordinates(corpus: list[tuple[Sample, Path]]) -> None:
    sample, path = next((s, p) for s, p in corpus if s.distortion == "clean")
    image = cv2.imread(str(path))
    reader = QrReader()
    first = reader.read(image)
    assert first.symbol is not None
    xs = [x for x, _ in first.symbol.corners]
    ys = [y for _, y in first.symbol.corners]
    assert 0 <= min(xs) < max(xs) <= image.shape[1]
    assert 0 <= min(ys) < max(ys) <= image.shape[0]
    # The next frame of a card held still is found in the remembered region.
    second = reader.read(image)
    assert second.stage == "roi"
    assert second.symbol is not None and second.symbol.text == sample.payload


def test_large_frames_are_downscaled_and_positions_scaled_back() -> None:
    payload = PAYLOADS["bhyt_card"]
    sample = Sample("bhyt_card", "clean", 0, payload)
    big = sample.render(size=(1920, 1080))
    result = QrReader(roi=False).read(big)
    assert result.symbol is not None and result.symbol.text == payload
    assert max(x for x, _ in result.symbol.corners) > 0
    assert max(x for x, _ in result.symbol.corners) <= 1920


def test_no_code_means_no_symbol() -> None:
    from drivers.virtual.qrscene import render_background

    result = QrReader().read(render_background(3))
    assert result.symbol is None and result.stage == ""
