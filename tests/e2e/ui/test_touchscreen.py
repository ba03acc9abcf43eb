"""The touchscreen end to end: scripted patients through the real widgets with
simulated touches, in one Kivy process under an Xvfb the fixture starts.

The app runs in a subprocess (Kivy allows one app per process and keeps
global state); it writes a report, screenshots and tickets, which these
tests inspect. Set UPDATE_UI_REFERENCES=1 to refresh the reference images
after an intended visual change (then look at them before committing).
"""

from __future__ import annotations

import itertools
import json
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from kiosk.ops.activity import BUSY_STATUS, IDLE_STATUS
from kiosk.ui.xvfb import Xvfb

pytestmark = pytest.mark.e2e
REFERENCES = Path(__file__).parent / "reference"
THUMB = (480, 270)
TOLERANCE = 4.0  # mean absolute difference per channel (0-255) at thumbnail size
NOT_OURS = ("health-book",)  # screens owned by kiosk.ui.health_book


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("ui-demo")
    with Xvfb(1920, 1080) as x, NotifySocket(out / "notify.sock") as notify:
        env = {**os.environ, "DISPLAY": x.display, "NOTIFY_SOCKET": str(notify.path)}
        proc = subprocess.run([sys.executable, "-m", "kiosk.demo.ui_demo", str(out)], env=env,
                              capture_output=True, text=True, timeout=240)
    report = json.loads((out / "ui-report.json").read_text("utf-8"))
    return {"out": out, "report": report, "rc": proc.returncode, "stdout": proc.stdout,
            "stderr": proc.stderr, "notifications": notify.messages}


class NotifySocket:
    """What systemd would receive from the UI on its $NOTIFY_SOCKET."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.messages: list[str] = []
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._sock.bind(str(path))
        self._sock.settimeout(0.2)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._collect, daemon=True)

    def _collect(self) -> None:
        while not self._stop.is_set():
            try:
                self.messages.append(self._sock.recv(4096).decode("utf-8"))
            except TimeoutError:
                continue

    def __enter__(self) -> NotifySocket:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sock.close()


def test_every_scripted_patient_gets_through(demo: dict[str, Any]) -> None:
    report = demo["report"]
    assert demo["rc"] == 0, demo["stdout"][-2000:] + demo["stderr"][-2000:]
    assert report["failures"] == []
    steps = {p["key"]: p["steps"] for p in report["patients"]}
    for key in ("chip_insured", "qr_insured", "uninsured", "gateway_down", "no_paper",
                "follow_up"):
        assert "ticket" in steps[key], key
    assert "appointment" in steps["follow_up"] and "choose_service" not in steps["follow_up"]
    assert "error" in steps["card_unreadable"]
    assert steps["walk_away"][-1] == "idle"


def test_card_to_ticket_in_at_most_four_taps(demo: dict[str, Any]) -> None:
    taps = {p["key"]: p["taps_card_to_ticket"] for p in demo["report"]["patients"]}
    assert taps["chip_insured"] == 3  # confirm identity, choose clinic, register
    assert taps["follow_up"] == 2  # confirm identity, check in for today's appointment
    for key in ("chip_insured", "qr_insured", "gateway_down", "no_paper"):
        assert taps[key] is not None and taps[key] <= 4, key


def test_every_string_fits_in_vietnamese_and_english(demo: dict[str, Any]) -> None:
    assert demo["report"]["fit_problems"] == {}


def test_idle_reset_wipes_personal_data_from_every_widget(demo: dict[str, Any]) -> None:
    report = demo["report"]
    assert report["wipe_leaks"] == []
    walk_away = next(p for p in report["patients"] if p["key"] == "walk_away")
    assert "idle-warning" in " ".join(walk_away["screenshots"])


def test_only_what_is_on_display_keeps_text_pixels(demo: dict[str, Any]) -> None:
    # Screens and overlays off display let their label textures go (they are
    # rendered again when shown: the reference screenshots cover that), and no
    # label keeps its SDL surface once copied into the texture.
    report = demo["report"]
    assert len(report["memory_mib"]) >= 8
    assert report["off_display_textures"] == []
    assert report["kept_text_surfaces"] == 0


def test_a_prompt_is_spoken_on_every_screen(demo: dict[str, Any]) -> None:
    spoken = {p.split("/", 1)[1] for p in demo["report"]["prompts"]}
    for key in ("idle", "need_key", "reading", "confirm_identity", "checking",
                "insurance_usable", "insurance_warning", "insurance_not_usable",
                "insurance_unavailable", "choose_service", "confirm_service", "registering",
                "ticket_printed", "ticket_not_printed", "health_book_offer", "done",
                "error_card", "idle_warning", "notice", "appointment"):
        assert key in spoken, key
    assert any(p.startswith("en/") for p in demo["report"]["prompts"])  # the English patient


def test_tickets_are_printed_except_when_out_of_paper(demo: dict[str, Any]) -> None:
    tickets = list((demo["out"] / "tickets").glob("ticket-*"))
    assert len(tickets) >= 4


def _thumb(path: Path) -> Any:
    from PIL import Image

    return Image.open(path).convert("RGB").resize(THUMB, Image.Resampling.BILINEAR)


def test_screens_match_the_reference_images(demo: dict[str, Any]) -> None:
    import numpy as np

    shots = sorted((demo["out"] / "screens").glob("*.png"))
    assert len(shots) >= 20
    update = os.environ.get("UPDATE_UI_REFERENCES") == "1"
    if update:
        REFERENCES.mkdir(exist_ok=True)
    differences = {}
    for shot in shots:
        if any(name in shot.name for name in NOT_OURS):
            continue
        ref = REFERENCES / shot.name
        if update:
            _thumb(shot).save(ref, optimize=True)
            continue
        assert ref.exists(), f"no reference for {shot.name} (UPDATE_UI_REFERENCES=1)"
        a = np.asarray(_thumb(shot), dtype=np.float32)
        b = np.asarray(_thumb(ref), dtype=np.float32)
        differences[shot.name] = float(np.abs(a - b).mean())
    bad = {k: round(v, 2) for k, v in differences.items() if v > TOLERANCE}
    assert not bad, bad


def test_the_unit_status_says_when_a_patient_is_at_the_kiosk(demo: dict[str, Any]) -> None:
    """The updater reads this STATUS= back (kiosk.ops.activity) to wait for idle."""
    notes = demo["notifications"]
    assert notes[0] == f"READY=1\nSTATUS={IDLE_STATUS}"
    statuses = [n.removeprefix("STATUS=") for n in notes if n.startswith("STATUS=")]
    patients = len(demo["report"]["patients"])
    assert statuses.count(BUSY_STATUS) >= patients
    assert all(a != b for a, b in itertools.pairwise(statuses))  # only changes
    assert statuses[-1] == IDLE_STATUS
    assert any(n == "WATCHDOG=1" for n in notes)
