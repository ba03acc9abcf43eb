"""`kiosk decommission`: retire a kiosk. Everything of a patient's and every credential
on this machine goes; what lives on servers is named, to be revoked there.

It reads the main configuration without validating it (a broken file must not keep
a kiosk from being wiped) and removes trees with `shutil.rmtree`, which unlinks
symbolic links instead of following them: root never follows the kiosk user's links.
"""

from __future__ import annotations

import shutil
import subprocess
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from kiosk.ops.provision import UNITS_ENABLED

# Besides the state folder: the updater's own state, the metrics file, the
# configuration and secrets (fleet token, BHXH and lobby passwords, staff PIN hash).
FIXED_PATHS = ("var/lib/kiosk-update", "var/lib/node_exporter/textfile_collector/kiosk.prom",
               "etc/kiosk")


# Never wiped, whatever a (broken or hostile) configuration names as its state folder.
PROTECTED = {"/", "/etc", "/var", "/var/lib", "/usr", "/opt", "/home", "/root", "/srv", "/tmp",
             "/boot", "/lib", "/bin", "/sbin", "/dev", "/proc", "/sys", "/run"}


def _wipeable(path: str) -> bool:
    return path.startswith("/") and path.rstrip("/") not in PROTECTED and ".." not in path


@dataclass
class Plan:
    paths: list[Path] = field(default_factory=list)
    revoke: list[str] = field(default_factory=list)


def _raw(root: Path) -> dict[str, Any]:
    try:
        return tomllib.loads((root / "etc/kiosk/kiosk.toml").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return {}


def _text(raw: dict[str, Any], section: str, key: str) -> str:
    table = raw.get(section)
    value = table.get(key) if isinstance(table, dict) else None
    return value if isinstance(value, str) else ""


def plan(root: Path) -> Plan:
    raw = _raw(root)
    state = _text(raw, "kiosk", "state_dir")
    found = Plan()
    candidates = [root / p for p in ("var/lib/kiosk", *FIXED_PATHS)]
    tickets = _text(raw, "printer", "target") if _text(raw, "printer", "kind") == "file" else ""
    candidates += [root / p.lstrip("/") for p in (state, tickets) if _wipeable(p)]
    found.paths = list(dict.fromkeys(p for p in candidates if p.is_symlink() or p.exists()))
    kiosk_id = _text(raw, "kiosk", "id") or "?"
    fleet = _text(raw, "fleet", "hawkbit_url")
    if fleet:
        target = _text(raw, "fleet", "controller_id") or kiosk_id
        found.revoke.append(f"fleet: delete target {target!r} on {urlsplit(fleet).hostname} "
                            "(its token stops working) / xóa thiết bị trên máy chủ cập nhật")
    lobby = _text(raw, "lobby", "url")
    if lobby:
        parts = urlsplit(lobby)
        found.revoke.append(f"lobby: DROP ROLE {parts.username} (or ALTER ROLE … NOLOGIN) on "
                            f"{parts.hostname} / thu hồi tài khoản CSDL sảnh")
        found.revoke.append("lobby: if this disk leaves the hospital, a new [lobby] "
                            "holding_key on every other kiosk of the lobby (decision 0143) / "
                            "đổi khóa holding_key trên các ki-ốt còn lại")
    username = _text(raw, "bhxh", "username")
    if username:
        found.revoke.append(f"BHXH: change the password of gateway account {username!r} (other "
                            "kiosks of the facility use it too: give them the new one) / đổi "
                            "mật khẩu tài khoản cổng BHXH")
    return found


def decommission(root: Path, found: Plan) -> list[str]:
    """Disable the units, then remove every planned path. Returns what was done."""
    done = []
    live = root == Path("/")
    if shutil.which("systemctl"):
        base = ["systemctl"] if live else ["systemctl", f"--root={root}"]
        cmd = [*base, "disable", *(["--now"] if live else []), *UNITS_ENABLED]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
        done.append("units disabled" if proc.returncode == 0 else
                    f"units: {proc.stderr.strip()[-200:]}")
    for path in found.paths:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)
        done.append(f"removed {path}")
    return done
