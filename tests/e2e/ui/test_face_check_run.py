"""Done-when of issue 29: `kiosk run --script` with `[biometric] face_match = "required"`,
the virtual CCCD (through real pcscd and vpcd) holding a real face as its DG2 photo
(a chip-sized JPEG 2000 made from a test image), and the camera fed from a video of
image files. The holder's face → registered `biometric_verified` (and the HIS gets the
extension); another person's face → the desk message, not verified. Afterwards no
face image or descriptor is in the state folder, the database or the logs."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from drivers.face import FaceMatcher, decode_image
from kiosk.services.his.fhir.server import FhirTestServer
from tests import face_images as fi
from tests.chip_identity import BASE
from tests.cli_helpers import KIOSK, run_kiosk
from tests.e2e.his_helpers import fhir_validate
from tests.e2e.pcsc_fixtures import Pcscd, wait_card_state
from tests.e2e.ui.test_kiosk_run_script import production_config, run_script

pytestmark = pytest.mark.e2e

HOLDER = ("obama.jpg", "obama3.jpg")  # the card holder, two head poses
OTHER = ("biden.jpg", "astronaut.png")
START = [
    {"type": BASE["id_number"][-6:]},  # the CAN: the last six digits
    {"wait": "confirm_identity", "timeout": 60},
    {"tap": "confirm.yes"},
    {"wait": "face_consent", "timeout": 20},
    {"tap": "face.consent.yes"},
]
REGISTER = [
    {"wait": ["insurance_result", "choose_service"], "timeout": 40},
    {"tap": "continue", "optional": True},
    {"wait": "choose_service", "timeout": 20},
    {"tap": "service.KB-NOI"},
    {"wait": "confirm_service"},
    {"tap": "register"},
    {"wait": "ticket", "timeout": 30},
]


@pytest.fixture(scope="module")
def boxes() -> dict[str, tuple[int, int, int, int]]:
    matcher = FaceMatcher()
    found = {n: matcher.analyse(fi.rgb(n)).face for n in (*HOLDER, *OTHER, "obama2.jpg")}
    return {n: f.box for n, f in found.items() if f is not None}


@pytest.fixture(scope="module")
def card(pcscd: Pcscd, tmp_path_factory: pytest.TempPathFactory,
         boxes: dict[str, tuple[int, int, int, int]]) -> Iterator[tuple[Path, bytes]]:
    """`kiosk card simulate` with the holder's chip-sized photo as DG2; yields the
    trust store and the photo's bytes. One card for both runs."""
    root = tmp_path_factory.mktemp("face-card")
    photo = fi.chip_photo("obama2.jpg", boxes["obama2.jpg"], "jp2")
    (root / "photo.jp2").write_bytes(photo)
    ident = root / "identity.json"
    ident.write_text(json.dumps({**BASE, "photo_file": "photo.jp2"}, ensure_ascii=False),
                     encoding="utf-8")
    proc = subprocess.Popen(
        [KIOSK, "card", "simulate", "--identity", str(ident), "--vpcd-port", str(pcscd.port),
         "--pki", str(root / "pki")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=dict(os.environ))
    try:
        wait_card_state(pcscd.reader, True, timeout=20)
        yield root / "pki" / "trust", photo
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        wait_card_state(pcscd.reader, False, timeout=5)


def camera_video(path: Path, names: tuple[str, ...],
                 boxes: dict[str, tuple[int, int, int, int]]) -> Path:
    """A 1280×720 MJPEG video showing each person's portrait in turn (5 fps, looped by
    the kiosk's camera): a face in front of the kiosk, moving between poses."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), 5, (1280, 720))
    for name in names:
        portrait = np.asarray(fi.portrait(name, boxes[name], (576, 720)))
        frame = np.full((720, 1280, 3), 90, np.uint8)
        frame[:, 352:928] = cv2.cvtColor(portrait, cv2.COLOR_RGB2BGR)
        writer.write(frame)
    writer.release()
    return path


def face_config(tmp_path: Path, fhir: FhirTestServer, trust: Path, video: Path) -> Path:
    config = production_config(tmp_path, fhir, trust)
    text = config.read_text("utf-8")
    camera = next(line for line in text.splitlines() if line.startswith("camera = "))
    text = text.replace(camera, f'camera = "{video}"')
    # A generous budget: seven test runs share this 2-core machine (the real figure is
    # benchmarks/face.py's). Not verified → still registered, flagged (the default).
    text += '\n[biometric]\nface_match = "required"\nbudget_ms = 8000\n'
    config.write_text(text, "utf-8")
    return config


@pytest.fixture
def fhir() -> Iterator[FhirTestServer]:
    server = FhirTestServer(validator=fhir_validate)
    server.start()
    yield server
    server.stop()


def stored(tmp_path: Path, reg_id: str) -> dict[str, object]:
    db = sqlite3.connect(tmp_path / "state" / "kiosk.sqlite3")
    try:
        [text] = db.execute("SELECT biometric_json FROM registrations WHERE id = ?",
                            (reg_id,)).fetchone()
    finally:
        db.close()
    return json.loads(text)


def assert_no_face_data(tmp_path: Path, photo: bytes, logs: str) -> None:
    """No face image, chip photo or descriptor anywhere the kiosk writes: any image file
    in the state folder (Kivy keeps its icons there) is searched for a face."""
    state = tmp_path / "state"
    magic = (b"\xff\xd8\xff", b"\x89PNG", b"\x00\x00\x00\x0cjP  ", b"\xff\x4f\xff\x51")
    matcher = FaceMatcher()
    for path in state.rglob("*"):
        if not path.is_file():
            continue
        data = path.read_bytes()
        assert photo[100:164] not in data, path
        if data.startswith(magic):
            probe = matcher.analyse(decode_image(data), reference=True)
            assert probe.face is None, path
    db = sqlite3.connect(state / "kiosk.sqlite3")
    try:
        for (table,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'"):
            for row in db.execute(f"SELECT * FROM {table}"):
                for cell in row:
                    if isinstance(cell, bytes | str):
                        blob = cell.encode() if isinstance(cell, str) else cell
                        assert len(blob) < 4096 and not blob.startswith(magic), table
    finally:
        db.close()
    assert "descriptor" not in logs and "distance" not in logs.lower()


def test_the_holder_is_verified_and_someone_else_is_sent_kindly_to_the_desk(
        card: tuple[Path, bytes], fhir: FhirTestServer, tmp_path: Path,
        boxes: dict[str, tuple[int, int, int, int]]) -> None:
    trust, photo = card
    # 1. The card holder in front of the camera.
    holder = tmp_path / "holder"
    holder.mkdir()
    config = face_config(holder, fhir, trust, camera_video(holder / "cam.avi", HOLDER, boxes))
    code, out, err = run_script(config, holder, START + REGISTER)
    assert code == 0, (out, err[-3000:])
    steps = [s["step"] for s in out["steps"]]
    assert steps.index("face_consent") < steps.index("face_match") < steps.index(
        "checking_insurance"), steps
    assert "face_desk" not in steps
    reg = out["registration"]
    verified = stored(holder, reg["registration_id"])
    assert verified["status"] == "verified" and set(verified) == {
        "status", "distance", "threshold", "reason"}
    assert verified["distance"] <= verified["threshold"] == 0.5
    assert_no_face_data(holder, photo, err)
    sync = run_kiosk("--config", str(config), "sync", "--once", "--json", timeout=60)
    assert sync.returncode == 0, sync.stderr
    [visit] = [v for v in fhir.resources("Encounter") + fhir.resources("Appointment")
               if reg["registration_id"] in json.dumps(v)]
    assert {"url": "urn:vn-kiosk:biometric-check", "valueCode": "verified"} in visit["extension"]

    # 2. Someone else holding the same card.
    other = tmp_path / "other"
    other.mkdir()
    config = face_config(other, fhir, trust, camera_video(other / "cam.avi", OTHER, boxes))
    code, out, err = run_script(config, other, [
        *START, {"wait": "face_desk", "timeout": 60},
        {"tap": "face.desk.continue"}, *REGISTER])
    assert code == 0, (out, err[-3000:])
    steps = [s["step"] for s in out["steps"]]
    assert steps.count("face_match") >= 1 and "face_desk" in steps, steps
    not_verified = stored(other, out["registration"]["registration_id"])
    assert not_verified["status"] == "not_verified" and not_verified["reason"] == "no_match"
    assert not_verified["distance"] > not_verified["threshold"]
    assert_no_face_data(other, photo, err)
