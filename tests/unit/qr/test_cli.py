"""`kiosk qr decode` and `kiosk camera test` as real subprocesses."""

from __future__ import annotations

import json
from pathlib import Path

import cv2

from drivers.virtual.qrcorpus import PAYLOADS, Sample
from drivers.virtual.qrscene import render_background
from tests.cli_helpers import run_json, run_kiosk


def test_qr_decode_json_contract(corpus: list[tuple[Sample, Path]], tmp_path: Path) -> None:
    picks = {s.name: p for s, p in corpus if s.distortion == "perspective" and s.seed == 0}
    blank = tmp_path / "blank.png"
    cv2.imwrite(str(blank), render_background(7))
    files = [str(picks["cccd_2021"]), str(picks["bhyt_card"]), str(picks["vneid_token"]),
             str(blank)]
    out = run_json("qr", "decode", *files, "--json")
    assert [e["file"] for e in out] == files
    for entry in out:
        assert set(entry) == {"file", "found", "kind", "fields", "decoder", "ms"}
    cccd, bhyt, token, none = out
    assert (cccd["found"], cccd["kind"], cccd["decoder"]) == (True, "cccd", "zxing-cpp")
    # `fields` has exactly what `kiosk qr parse` prints for the same payload.
    assert cccd["fields"] == run_json("qr", "parse", input=PAYLOADS["cccd_2021"])
    assert bhyt["fields"]["full_name"] == "Phạm Thị Lợi"
    assert token["kind"] == "unknown" and token["fields"]["reason"] == "vneid_token"
    assert none["found"] is False and none["kind"] is None and none["fields"] is None
    assert isinstance(none["ms"], float)


def test_qr_decode_unreadable_file_exits_2(tmp_path: Path) -> None:
    junk = tmp_path / "photo.jpg"
    junk.write_bytes(b"not a jpeg")
    proc = run_kiosk("qr", "decode", str(junk), str(tmp_path / "missing.png"), "--json")
    assert proc.returncode == 2
    out = json.loads(proc.stdout)
    assert [e["error"] for e in out] == ["not a readable image", "no such file"]
    assert "cannot read" in proc.stderr


def test_qr_decode_malformed_card(tmp_path: Path) -> None:
    path = tmp_path / "forged.png"
    forged = PAYLOADS["cccd_2021"].replace("14031985", "14031986")  # ID says 1985
    cv2.imwrite(str(path), Sample("x", "clean", 0, forged).render())
    proc = run_kiosk("qr", "decode", str(path))
    assert proc.returncode == 0
    assert "malformed" in proc.stdout


def test_camera_test_with_a_video_file(tmp_path: Path) -> None:
    path = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), 30.0, (1280, 720))
    frame = Sample("cccd_2021", "blur", 0, PAYLOADS["cccd_2021"]).render()
    for _ in range(10):
        writer.write(frame)
    writer.release()
    report = run_json("camera", "test", "--file", str(path), "--seconds", "1", "--json")
    assert report["frames"] > 5
    assert report["frames_with_code"] >= 1
    assert report["decode_rate"] > 0.5
    assert report["decoders"] == {"zxing-cpp": report["frames_with_code"]}


def test_camera_test_virtual_camera_from_demo_config() -> None:
    report = run_json("camera", "test", "--seconds", "1", "--json")
    assert report["source"] == "virtual" and report["frames_with_code"] >= 1


def test_camera_test_without_a_camera_exits_5() -> None:
    proc = run_kiosk("camera", "test", "--device", "/dev/video-not-here", "--seconds", "0.5")
    assert proc.returncode == 5
