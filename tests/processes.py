"""Several processes doing the same thing at the same moment (the UI and the sync
daemon on one kiosk)."""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Sequence
from typing import Any


def run_at_once(method: str, target: Callable[..., None], args: Sequence[tuple[Any, ...]],
                timeout_s: float = 60) -> None:
    """One process per args tuple; each gets a shared start event as its first argument
    and must wait on it, so they all begin together. Every process must exit 0."""
    ctx = multiprocessing.get_context(method)
    start = ctx.Event()
    procs = [ctx.Process(target=target, args=(start, *a)) for a in args]
    for p in procs:
        p.start()
    start.set()
    for p in procs:
        p.join(timeout_s)
        assert p.exitcode == 0, f"a process exited with {p.exitcode}"
