"""Wrong staff PINs: free tries, then an escalating wait, then a lockout.

The PIN pad sits in a public lobby, so guessing must be slow and seen:
* the first `FREE_TRIES` (5) wrong PINs in a row cost nothing (staff mistype);
* each one after that makes the pad wait, doubling: 30 s, 1, 2, 4 min;
* the `LOCKOUT_AFTER`-th (10th) locks the pad for `LOCKOUT_S` (1 h), and every
  wrong PIN after a lockout locks it again;
* every failure is logged (the journal: no digits, only counts) and counted in a
  running total, an anonymous number `kiosk metrics` reports.

A right PIN resets the streak (not the total). With a state file (in the kiosk's
state directory) the streak and the lockout survive a restart of the UI, so
pulling the plug does not buy more guesses.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from kiosk.runtime.safe_paths import foreign_owner, write_in

log = logging.getLogger("kiosk.staff.pin")

FREE_TRIES = 5
LOCKOUT_AFTER = 10
FIRST_DELAY_S = 30.0
LOCKOUT_S = 3600.0
STATE_NAME = "staff-pin.json"


@dataclass
class _State:
    streak: int = 0  # wrong PINs since the last right one
    total: int = 0  # every wrong PIN ever (anonymous count)
    blocked_until: float = 0.0  # wall clock (survives restarts)


class PinAttempts:
    def __init__(self, state_file: Path | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.state_file = state_file
        self.clock = clock
        self._state = self._load()

    @property
    def total_failures(self) -> int:
        return self._state.total

    @property
    def streak(self) -> int:
        return self._state.streak

    def wait_s(self) -> float:
        """Seconds before the pad takes another PIN (0: now)."""
        return max(0.0, self._state.blocked_until - self.clock())

    def locked(self) -> bool:
        return self._state.streak >= LOCKOUT_AFTER and self.wait_s() > 0

    def attempt(self, check: Callable[[], bool]) -> bool:
        """Run `check` (the slow hash) unless the pad is waiting; record the outcome."""
        if self.wait_s() > 0:
            log.warning("staff PIN refused unchecked: pad blocked for %.0f s more (%d wrong "
                        "in a row)", self.wait_s(), self._state.streak)
            return False
        if check():
            if self._state.streak:
                log.info("staff PIN accepted after %d wrong", self._state.streak)
            self._state.streak = 0
            self._state.blocked_until = 0.0
            self._save()
            return True
        self._fail()
        return False

    def reset(self) -> None:
        """A technician's unlock (`kiosk pin unlock`): the streak and wait go, the
        total stays."""
        log.warning("staff PIN pad unlocked by a technician after %d wrong in a row",
                    self._state.streak)
        self._state.streak = 0
        self._state.blocked_until = 0.0
        self._save()

    def _fail(self) -> None:
        s = self._state
        s.streak += 1
        s.total += 1
        delay = 0.0
        if s.streak >= LOCKOUT_AFTER:
            delay = LOCKOUT_S
        elif s.streak > FREE_TRIES:
            delay = FIRST_DELAY_S * 2 ** (s.streak - FREE_TRIES - 1)
        s.blocked_until = self.clock() + delay
        self._save()
        if s.streak >= LOCKOUT_AFTER:
            log.error("staff PIN: %d wrong in a row, pad locked for %.0f min (%d wrong in "
                      "total)", s.streak, delay / 60, s.total)
        else:
            log.warning("staff PIN: wrong (%d in a row, %d in total); next try in %.0f s",
                        s.streak, s.total, delay)

    def _load(self) -> _State:
        if self.state_file is None:
            return _State()
        try:
            data = json.loads(self.state_file.read_text(encoding="utf-8"))
            return _State(int(data["streak"]), int(data["total"]), float(data["blocked_until"]))
        except FileNotFoundError:
            return _State()
        except (OSError, ValueError, KeyError, TypeError):
            # A damaged record must not unlock the pad: treat it as a fresh lockout.
            log.error("staff PIN record %s unreadable: pad locked", self.state_file)
            return _State(LOCKOUT_AFTER, 0, self.clock() + LOCKOUT_S)

    def _save(self) -> None:
        if self.state_file is None:
            return
        s = self._state
        folder = self.state_file.parent
        text = json.dumps({"streak": s.streak, "total": s.total,
                           "blocked_until": s.blocked_until})
        try:
            # `kiosk pin unlock` runs as root in the kiosk user's folder: no link followed,
            # and the record stays the folder owner's so the UI can rewrite it.
            write_in(folder, self.state_file.name, text.encode(), 0o640, foreign_owner(folder))
        except OSError as exc:  # the in-memory record still counts
            log.warning("staff PIN record not saved: %s", exc.strerror)


def failures_total(state_dir: Path) -> int | None:
    """The anonymous running count for metrics (None: no record yet)."""
    try:
        return int(json.loads((state_dir / STATE_NAME).read_text(encoding="utf-8"))["total"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
