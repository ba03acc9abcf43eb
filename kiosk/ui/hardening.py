"""Kiosk hardening decided before Kivy starts, and opening hours for blanking.

Kivy reads its configuration when its modules are first imported, so
`apply()` must run before anything imports `kivy.core.window`.

Input: a touchscreen reaches Kivy twice by default, once through the kernel
(probesysfs/hidinput) and once as SDL's emulated mouse, which presses every
button twice. We keep exactly one provider: the kernel touch device on the
kiosk, the SDL mouse (multitouch emulation off) on a desktop or under Xvfb.
"""

from __future__ import annotations

import ctypes
import datetime as dt
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

Setting = tuple[str, str, str]
_HOURS = re.compile(r"^(\d{2}):(\d{2})-(\d{2}):(\d{2})$")


@dataclass(frozen=True)
class DisplayOptions:
    fullscreen: bool = True
    rotation: int = 0  # 0, 90, 180, 270 (portrait panels)
    touch: bool = True  # real touch hardware: kernel provider only, no cursor
    width: int = 1920
    height: int = 1080


def kivy_settings(opts: DisplayOptions) -> list[Setting]:
    if opts.rotation not in (0, 90, 180, 270):
        raise ValueError(f"rotation must be 0, 90, 180 or 270, not {opts.rotation}")
    settings: list[Setting] = [
        ("kivy", "exit_on_escape", "0"),  # no way out except the staff screen
        ("kivy", "pause_on_minimize", "0"),
        ("kivy", "log_level", "warning"),
        ("graphics", "rotation", str(opts.rotation)),
        ("graphics", "fullscreen", "auto" if opts.fullscreen else "0"),
        ("graphics", "borderless", "1" if opts.fullscreen else "0"),
        ("graphics", "show_cursor", "0" if opts.touch else "1"),
        ("graphics", "multisamples", "0"),  # llvmpipe and small GPUs: cheaper frames
        ("graphics", "maxfps", "60"),
        ("input", "mouse", "" if opts.touch else "mouse,disable_multitouch"),
        ("input", "%(name)s", "probesysfs,provider=hidinput" if opts.touch else ""),
        ("postproc", "double_tap_time", "0"),  # single taps only: no double-tap detection
        ("postproc", "triple_tap_time", "0"),
        ("widgets", "scroll_distance", "10000"),  # no swipes
    ]
    if not opts.fullscreen:
        settings += [("graphics", "width", str(opts.width)),
                     ("graphics", "height", str(opts.height)),
                     ("graphics", "resizable", "0")]
    return settings


M_MMAP_THRESHOLD = -3  # glibc <malloc.h>
MMAP_THRESHOLD_BYTES = 128 * 1024  # glibc's initial value, now fixed


def tune_malloc() -> bool:
    """Keep large blocks in mmap for the life of the UI (glibc; True if applied).

    glibc raises its mmap threshold to the size of the largest mmapped block
    freed, up to 32 MiB. After the first multi-megabyte text surface or texture
    is freed, every later one comes from the heap and leaves it fragmented for
    good: 11 MiB over the camera + printer day of benchmarks/ui.py. Setting the
    threshold also turns that adjustment off (mallopt(3))."""
    try:
        libc = ctypes.CDLL(None)
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES))


def apply(opts: DisplayOptions, kivy_home: Path | None = None, audio: bool = True) -> None:
    """Set Kivy's environment and configuration (before importing the window)."""
    tune_malloc()
    os.environ.setdefault("KIVY_NO_ARGS", "1")  # our CLI owns sys.argv
    # Kivy logs through Python's logging and leaves sys.stderr alone (journald gets it).
    os.environ.setdefault("KIVY_LOG_MODE", "PYTHON")
    # SDL would turn SIGTERM/SIGINT into a window "quit" request; the app handles
    # signals itself (systemd stops it with SIGTERM) and refuses other close requests.
    os.environ.setdefault("SDL_NO_SIGNAL_HANDLERS", "1")
    if not os.environ.get("KIOSK_UI_DEBUG"):
        os.environ.setdefault("KIVY_NO_CONSOLELOG", "1")
    os.environ.setdefault("KIVY_NO_FILELOG", "1")
    # Kivy writes a config file into its home: keep it out of the service user's $HOME.
    home = kivy_home or Path(tempfile.gettempdir()) / f"kiosk-kivy-{os.getuid()}"
    home.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("KIVY_HOME", str(home))
    if not audio:
        os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
    import logging

    # urllib3 logs request URLs at DEBUG, and some gateways take credentials in the
    # query string: never let them reach the journal from the UI process.
    logging.getLogger("urllib3").setLevel(logging.WARNING)
    from kivy.config import Config

    for section, key, value in kivy_settings(opts):
        if not Config.has_section(section):
            Config.add_section(section)
        Config.set(section, key, value)
    if Config.has_section("input"):  # drop providers we did not choose
        for key, value in list(Config.items("input")):
            if not value:
                Config.remove_option("input", key)


@dataclass(frozen=True)
class OpeningHours:
    start: dt.time
    end: dt.time  # 24:00 is written as time.max

    @classmethod
    def parse(cls, text: str) -> OpeningHours:
        m = _HOURS.match(text.strip())
        if not m:
            raise ValueError(f"opening hours must look like 06:30-17:00, not {text!r}")
        h1, m1, h2, m2 = (int(x) for x in m.groups())
        end = dt.time.max if (h2, m2) == (24, 0) else dt.time(h2, m2)
        return cls(dt.time(h1, m1), end)

    def is_open(self, local: dt.time) -> bool:
        if self.start <= self.end:
            return self.start <= local < self.end or self.end == dt.time.max
        return local >= self.start or local < self.end  # past midnight (night clinic)


@dataclass
class Blanking:
    """When to blank the screen: outside opening hours, on the attract screen,
    after a quiet minute. Pure; the app feeds it times and asks."""

    hours: OpeningHours
    quiet_s: float = 60.0
    blanked: bool = False

    def should_blank(self, local: dt.time, idle: bool, quiet_for: float) -> bool:
        return idle and quiet_for >= self.quiet_s and not self.hours.is_open(local)
