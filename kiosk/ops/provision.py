"""`kiosk provision`: turn a Debian machine (or a directory standing in for its root)
into a kiosk: release installed, configuration and 0600 secrets written, units
installed and enabled. Idempotent: running it again changes nothing that is right.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import kiosk
from kiosk.config.loader import build as build_config
from kiosk.ops.install import current_version, install_release, release_dir, switch_current
from kiosk.ops.release import verify_bundle

# Keys that live only in the 0600 secrets file.
SECRET_KEYS: dict[str, tuple[str, ...]] = {
    "bhxh": ("password",), "ui": ("staff_pin",), "fleet": ("token",),
}
HIS_SECRET_KEYS = ("password", "token", "client_secret", "api_key")
UNITS_ENABLED = ("kiosk-ui.service", "kiosk-sync.service", "kiosk-update.timer")
SUPPORT_FILES = {
    "sysusers.d/kiosk.conf": "etc/sysusers.d/kiosk.conf",
    "tmpfiles.d/kiosk.conf": "etc/tmpfiles.d/kiosk.conf",
    "udev/70-kiosk-devices.rules": "etc/udev/rules.d/70-kiosk-devices.rules",
    "modprobe.d/kiosk-blacklist-pn533.conf": "etc/modprobe.d/kiosk-blacklist-pn533.conf",
    "polkit-1/rules.d/60-kiosk-pcscd.rules": "etc/polkit-1/rules.d/60-kiosk-pcscd.rules",
}


class ProvisionError(Exception):
    pass


@dataclass
class Summary:
    lines: list[str] = field(default_factory=list)

    def add(self, line: str) -> None:
        self.lines.append(line)


def units_dir() -> Path:
    return Path(kiosk.__file__).resolve().parent / "_systemd"


def split_secrets(raw: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    config = {k: dict(v) if isinstance(v, dict) else v for k, v in raw.items()}
    secrets: dict[str, Any] = {}
    for section, keys in SECRET_KEYS.items():
        for key in keys:
            if key in config.get(section, {}):
                secrets.setdefault(section, {})[key] = config[section].pop(key)
    his_settings = dict(config.get("his", {}).get("settings", {}))
    for key in HIS_SECRET_KEYS:
        if key in his_settings:
            secrets.setdefault("his", {}).setdefault("settings", {})[key] = his_settings.pop(key)
    if "his" in config:
        config["his"]["settings"] = his_settings
    return config, secrets


def _toml(data: dict[str, Any]) -> str:
    """A minimal TOML writer for the configuration's shapes (tables, arrays of tables)."""
    def value(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, int | float):
            return repr(v)
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        text = str(v).replace("\\", "\\\\").replace('"', '\\"')
        return f'"{text}"'

    out: list[str] = []

    def table(name: str, body: dict[str, Any], array: bool = False) -> None:
        out.append(f"\n[[{name}]]" if array else f"\n[{name}]")
        nested = []
        for k, v in body.items():
            if isinstance(v, dict):
                nested.append((k, v))
            else:
                out.append(f"{k} = {value(v)}")
        for k, v in nested:
            table(f"{name}.{k}", v)

    for name, body in data.items():
        if isinstance(body, list) and body and all(isinstance(x, dict) for x in body):
            for item in body:
                table(name, item, array=True)
        elif isinstance(body, dict):
            table(name, body)
    return "\n".join(out).lstrip() + "\n"


def _write(path: Path, text: str, mode: int) -> bool:
    """Write only when different; always enforce the mode. Returns True if changed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    changed = not path.exists() or path.read_text(encoding="utf-8") != text
    if changed:
        tmp = path.with_name(path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    path.chmod(mode)
    return changed


def provision(root: Path, provisioning_file: Path, bundle_dir: Path,
              overrides: dict[str, dict[str, Any]] | None = None) -> Summary:
    summary = Summary()
    raw = tomllib.loads(provisioning_file.read_text(encoding="utf-8"))
    for section, values in (overrides or {}).items():
        raw.setdefault(section, {}).update({k: v for k, v in values.items() if v is not None})
    raw.setdefault("kiosk", {}).setdefault("state_dir", "/var/lib/kiosk")
    raw["kiosk"]["secrets_file"] = "/etc/kiosk/secrets.toml"
    # Validate everything before touching the machine (every problem names its key).
    config = build_config(raw, source=str(provisioning_file), base_dir=provisioning_file.parent)
    keys = config.fleet.public_keys
    if not keys:
        raise ProvisionError("fleet.public_keys: required, the kiosk only installs signed releases")

    bundle = verify_bundle(bundle_dir, keys)
    already = current_version(root) == bundle.version and (
        release_dir(root, bundle.version) / ".installed").exists()
    install_release(bundle, root)
    switch_current(root, bundle.version)
    summary.add(f"release {bundle.version}: {'already installed' if already else 'installed'}"
                f" under {release_dir(root, bundle.version)}")

    config_raw, secrets = split_secrets(raw)
    etc = root / "etc" / "kiosk"
    etc.mkdir(parents=True, exist_ok=True)
    etc.chmod(0o750)
    changed_config = _write(etc / "kiosk.toml", _toml(config_raw), 0o640)
    changed_secrets = _write(etc / "secrets.toml", _toml(secrets), 0o600)
    word = {True: "written", False: "unchanged"}
    summary.add(f"configuration {etc / 'kiosk.toml'}: {word[changed_config]}; "
                f"secrets (0600): {word[changed_secrets]}")
    state = root / str(config.state_dir).lstrip("/")
    state.mkdir(parents=True, exist_ok=True)
    state.chmod(0o750)

    units = units_dir()
    system = root / "etc" / "systemd" / "system"
    for unit in sorted(units.glob("kiosk-*.*")):
        _write(system / unit.name, unit.read_text(encoding="utf-8"), 0o644)
    for source, target in SUPPORT_FILES.items():
        _write(root / target, (units / source).read_text(encoding="utf-8"), 0o644)
    _enable(root, state, summary)
    summary.add(f"kiosk {config.kiosk_id} for {config.facility.name} ({config.facility.code}); "
                f"HIS {config.his.adapter}; printer {config.printer.kind}; "
                f"fleet {config.fleet.hawkbit_url or 'not configured'}")
    return summary


def _enable(root: Path, state: Path, summary: Summary) -> None:
    live = root == Path("/")
    if live:
        for cmd in (["systemd-sysusers"], ["systemd-tmpfiles", "--create"],
                    ["systemctl", "daemon-reload"]):
            subprocess.run(cmd, check=True, timeout=120)
        _chown_for_service(Path("/etc/kiosk"), state)
    if shutil.which("systemctl") is None:
        raise ProvisionError("systemctl not found: cannot enable the units")
    cmd = ["systemctl", *([] if live else [f"--root={root}"]), "enable", *UNITS_ENABLED]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    if proc.returncode != 0:
        raise ProvisionError(f"enabling units failed: {proc.stderr.strip()}")
    summary.add(f"units enabled: {', '.join(UNITS_ENABLED)}")


def _chown_for_service(etc: Path, state: Path) -> None:
    """root owns the configuration (group kiosk may read it); the service user owns its
    secrets (0600: it must read them) and its state."""
    import grp
    import pwd

    uid, gid = pwd.getpwnam("kiosk").pw_uid, grp.getgrnam("kiosk").gr_gid
    os.chown(etc, 0, gid)
    os.chown(etc / "kiosk.toml", 0, gid)
    os.chown(etc / "secrets.toml", uid, gid)
    os.chown(state, uid, gid)
