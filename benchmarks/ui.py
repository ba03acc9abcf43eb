"""Touchscreen performance under Xvfb (issue 7).

Measures, each in a fresh process on a private Xvfb (1920x1080):
* cold start: process start -> first frame of the attract screen, against a
  bare Kivy window with one label (the floor any Kivy app pays);
* card read -> identity screen: the ChipRead result posted from a worker
  thread -> the first frame showing the confirmation screen;
* frame time during screen transitions (p95), with the slide transition
  against no transition;
* resident memory after the run, over the scripted demo day, and over the same
  day with the camera and printer libraries loaded (with and without the
  fixed glibc mmap threshold of `hardening.tune_malloc`).
Targets: cold start <= 3 s, card->identity <= 100 ms, p95 frame <= 33 ms,
RSS <= 250 MiB.   Usage: python benchmarks/ui.py
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def child_bare(t0: float, _transition: float = 0.0) -> dict[str, float]:
    from kiosk.ui.hardening import DisplayOptions, apply

    apply(DisplayOptions(fullscreen=False, touch=False), audio=False)
    from kivy.app import App
    from kivy.core.window import Window
    from kivy.uix.label import Label

    out: dict[str, float] = {}

    class Bare(App):
        def build(self) -> Label:
            return Label(text="Xin chào")

        def on_start(self) -> None:
            def flip(*_: object) -> None:
                Window.unbind(on_flip=flip)
                out["cold_start_s"] = time.time() - t0
                self.stop()

            Window.bind(on_flip=flip)

    Bare().run()
    out["rss_mib"] = _rss_mib()
    return out


def child_kiosk(t0: float, transition: float) -> dict[str, float]:
    from kiosk.ui.hardening import DisplayOptions, apply

    apply(DisplayOptions(fullscreen=False, touch=False), audio=False)
    import tempfile

    from kivy.clock import Clock
    from kivy.core.window import Window

    from kiosk.config import demo_config
    from kiosk.domain.qr_payload import parse_qr
    from kiosk.journey import events as ev
    from kiosk.journey.ports import ChipReadError
    from kiosk.journey.state import Step
    from kiosk.services.wiring import build
    from kiosk.ui.app import KioskApp, UiOptions

    tmp = Path(tempfile.mkdtemp(prefix="ui-bench-"))
    assembly = build(demo_config(state_dir=tmp))
    patient = assembly.patients[0]
    release = threading.Event()

    class HeldChip:  # the read "finishes" when the benchmark posts the result itself
        def read_chip(self, key: object, on_identity: object = None) -> None:
            release.wait(5)
            raise ChipReadError("unreadable")  # its session has ended by then

    ports = assembly.ports
    ports.identity = HeldChip()  # type: ignore[assignment]
    options = UiOptions(animations=True, sound=False, transition_s=transition,
                        step_guard_s=0.0, idle_timeout_s=3600)
    out: dict[str, float] = {}
    lat: list[float] = []
    frames: list[float] = []

    def started(app: KioskApp) -> None:
        def first(*_: object) -> None:
            Window.unbind(on_flip=first)
            out["cold_start_s"] = time.time() - t0
            Clock.schedule_once(lambda _dt: round_(0), 0.3)

        Window.bind(on_flip=first)

        def round_(i: int) -> None:
            if i >= 15:
                release.set()
                return transitions()
            app.runner.dispatch(ev.CardPlaced())  # -> need key
            app.runner.dispatch(ev.QrScanned(parse_qr(patient.qr_payload)))  # -> reading

            def post(_dt: float) -> None:
                s = app.session
                assert s.step is Step.READING_CHIP, s.step
                start = time.perf_counter()

                def shown(*_: object) -> None:
                    if app.session.step is Step.CONFIRM_IDENTITY:
                        Window.unbind(on_flip=shown)
                        lat.append(time.perf_counter() - start)
                        app.runner.dispatch(ev.Cancelled())
                        app.runner.dispatch(ev.CardRemoved())
                        Clock.schedule_once(lambda _dt: round_(i + 1), 0.4)

                Window.bind(on_flip=shown)
                app.post(ev.ChipRead(s.id, patient.identity))  # as a worker thread would

            Clock.schedule_once(post, 0.4)

        def transitions() -> None:
            last = [time.perf_counter()]

            def flip(*_: object) -> None:
                now = time.perf_counter()
                if app.manager.transition.is_active or transition == 0:
                    frames.append(now - last[0])
                last[0] = now

            Window.bind(on_flip=flip)
            events = [ev.Touched(), ev.Cancelled()] * 8

            def step(_dt: float) -> None:
                if not events:
                    Window.unbind(on_flip=flip)
                    app.stop()
                    return
                app.runner.dispatch(events.pop(0))
                Window.canvas.ask_update()
                Clock.schedule_once(step, max(transition, 0.05) + 0.15)

            Clock.schedule_once(step, 0.1)

    KioskApp(options, ports, on_started=started).run()
    assembly.close()
    out["card_to_identity_ms_median"] = statistics.median(lat) * 1000
    out["card_to_identity_ms_max"] = max(lat) * 1000
    frames.sort()
    out["frames"] = len(frames)
    out["frame_ms_p95"] = frames[int(0.95 * (len(frames) - 1))] * 1000 if frames else 0.0
    out["rss_mib"] = _rss_mib()
    return out


def child_journey(t0: float, transition: float) -> dict[str, float]:
    """RSS across the scripted demo day (every patient kind, photos, tickets, the
    health-book guide) without the demo's screenshots, which production never takes."""
    del t0, transition  # same signature as the other children
    import io
    import tempfile

    from kiosk.config import demo_config
    from kiosk.demo.ui_demo import run_ui_demo

    tmp = Path(tempfile.mkdtemp(prefix="ui-bench-"))
    rc = run_ui_demo(demo_config(state_dir=tmp / "state"), tmp, io.StringIO(), scripted=True,
                     screenshots=False)
    samples = json.loads((tmp / "ui-report.json").read_text("utf-8"))["memory_mib"]
    return {"rc": rc, "patients": len(samples) - 1, "rss_first_patient_mib": samples[0],
            "rss_between_patients_max_mib": max(samples), "rss_end_mib": samples[-1],
            "rss_mib": _rss_mib()}


def child_journey_hw(t0: float, transition: float) -> dict[str, float]:
    """The same day with the libraries of a camera and a USB printer loaded (OpenCV
    and python-escpos; the demo's scanner and printer need neither)."""
    import cv2  # noqa: F401
    from escpos import printer  # noqa: F401

    return child_journey(t0, transition)


def child_journey_hw_untuned(t0: float, transition: float) -> dict[str, float]:
    """The camera + printer day with glibc's dynamic mmap threshold (no tune_malloc)."""
    from kiosk.ui import hardening

    hardening.tune_malloc = lambda: False
    return child_journey_hw(t0, transition)


def run_child(kind: str, display: str, transition: float = 0.25) -> dict[str, float]:
    env = {**os.environ, "DISPLAY": display}
    t0 = time.time()
    proc = subprocess.run([sys.executable, __file__, "--child", kind, str(t0), str(transition)],
                          env=env, capture_output=True, text=True, timeout=180, cwd=ROOT)
    if proc.returncode != 0:
        raise SystemExit(f"{kind} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    from kiosk.ui.xvfb import Xvfb

    with Xvfb(1920, 1080) as x:
        bare = run_child("bare", x.display)
        slide = run_child("kiosk", x.display, 0.25)
        none = run_child("kiosk", x.display, 0.0)
        day = run_child("journey", x.display)
        hw = run_child("journey_hw", x.display)
        untuned = run_child("journey_hw_untuned", x.display)
    print("touchscreen under Xvfb 1920x1080 (llvmpipe), 2 cores")
    print(f"cold start to attract screen: {slide['cold_start_s']:.2f} s "
          f"(bare Kivy label window {bare['cold_start_s']:.2f} s, ratio "
          f"{slide['cold_start_s'] / bare['cold_start_s']:.1f}x)   target <= 3 s")
    print(f"card read -> identity screen: median {slide['card_to_identity_ms_median']:.1f} ms, "
          f"max {slide['card_to_identity_ms_max']:.1f} ms (15 reads; no transition: median "
          f"{none['card_to_identity_ms_median']:.1f} ms)   target <= 100 ms")
    print(f"frame time during slide transitions: p95 {slide['frame_ms_p95']:.1f} ms over "
          f"{slide['frames']:.0f} frames (no transition p95 {none['frame_ms_p95']:.1f} ms)"
          "   target <= 33 ms")
    print(f"resident memory after the run: {slide['rss_mib']:.0f} MiB (bare Kivy "
          f"{bare['rss_mib']:.0f} MiB)   target <= 250 MiB")
    print(f"resident memory over the scripted day ({day['patients']:.0f} patients, exit "
          f"{day['rc']:.0f}): {day['rss_first_patient_mib']:.0f} MiB at the first patient, "
          f"max {day['rss_between_patients_max_mib']:.0f} MiB between patients, "
          f"{day['rss_end_mib']:.0f} MiB at the end   target <= 250 MiB")
    print(f"the same day with OpenCV and python-escpos loaded (camera + USB printer kiosk): "
          f"max {hw['rss_between_patients_max_mib']:.0f} MiB between patients, "
          f"{hw['rss_end_mib']:.0f} MiB at the end (glibc's dynamic mmap threshold: "
          f"{untuned['rss_end_mib']:.0f} MiB, ratio "
          f"{untuned['rss_end_mib'] / hw['rss_end_mib']:.2f}x)   target <= 250 MiB")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        kind, t0, transition = sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
        child = {"bare": child_bare, "kiosk": child_kiosk, "journey": child_journey,
                 "journey_hw": child_journey_hw,
                 "journey_hw_untuned": child_journey_hw_untuned}[kind]
        result = child(t0, transition)
        print(json.dumps(result))
    else:
        main()
