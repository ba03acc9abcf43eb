"""Kiosk processes for the lobby tests: each registers patients in a loop exactly as
the kiosk UI does (RegistrationService over its own SQLite, numbers from the lobby),
and appends every number it would print to a log, one JSON line per ticket."""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import signal
import time
from pathlib import Path
from typing import Any

CARD = {"id_number": "001168000001", "full_name": "Nguyễn Thị Minh Khai",
        "date_of_birth": "1968-03-14", "sex": "Nữ", "residence": "Hà Nội",
        "authentication": {"access": "PACE", "passive": "verified", "active": True}}
SERVICES = ("KB-NOI", "KB-NGOAI")


def _append(path: Path, record: dict[str, Any]) -> None:
    # O_APPEND + one write: lines of concurrent writers never interleave
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, (json.dumps(record) + "\n").encode())
    finally:
        os.close(fd)


class _CrashAfterTake:
    """Dies by SIGKILL right after the lobby committed a number, before the kiosk's
    local write: the window decision 0071 is about. Notes the reference first."""

    def __init__(self, inner: Any, probability: float, log: Path, rng: random.Random) -> None:
        self.inner, self.probability, self.log, self.rng = inner, probability, log, rng

    def take_number(self, department: str, reg_ref: str) -> tuple[str, int]:
        day, seq = self.inner.take_number(department, reg_ref)
        if self.rng.random() < self.probability:
            _append(self.log, {"crashed_after_take": reg_ref, "seq": seq})
            os.kill(os.getpid(), signal.SIGKILL)
        return day, seq


def register_loop(start: Any, config_path: str, count: int, log_path: str, seed: int = 0,
                  crash_probability: float = 0.0, retry_after_s: float = 10.0,
                  pause_s: float = 0.0, stop_file: str | None = None) -> None:
    from kiosk.config import load_file
    from kiosk.lobby.client import LobbyClient
    from kiosk.services.patient_file import identity_from_json, insurance_from_json
    from kiosk.services.registration import RegistrationService
    from kiosk.store import connect

    config = load_file(Path(config_path))
    db = connect(config.database_path)
    lobby: Any = LobbyClient.from_config(config, retry_after_s=retry_after_s)
    lobby.warm(wait_s=30.0)  # as the kiosk UI does at start, before the first patient
    rng = random.Random(seed)
    log = Path(log_path)
    if crash_probability:
        lobby = _CrashAfterTake(lobby, crash_probability, log, rng)
    service = RegistrationService(db, config, lobby=lobby)
    identity = identity_from_json(CARD)
    insurance = insurance_from_json(None, identity, dt.datetime.now(dt.UTC))
    if start is not None:
        start.wait()
    for i in range(count):
        if stop_file and Path(stop_file).exists():
            break
        code = SERVICES[rng.randrange(len(SERVICES))]
        began = time.perf_counter()
        reg = service.register(identity, insurance, code, f"{seed}-{i}-{os.getpid()}")
        _append(log, {"id": reg.id, "number": reg.queue_number, "service": code,
                      "kiosk": config.kiosk_id, "ms": (time.perf_counter() - began) * 1000})
        if pause_s:
            time.sleep(pause_s)
    if lobby is not None and hasattr(lobby, "close"):
        lobby.close()
    db.conn.close()


def read_log(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
