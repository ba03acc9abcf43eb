"""`kiosk provision`: turn a Debian machine (or a directory standing in for its root)
into a kiosk: release installed (by the Debian package, or from a signed bundle),
configuration and secrets written root-owned and readable by the service group,
units enabled. Idempotent: running it again changes nothing that is right.

A `--root` tree must run once copied to a machine: no file in it names `root`
(see kiosk.ops.relocate), and owners are those of `root`'s own passwd/group.
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
from kiosk.config.loader import HIS_SECRET_KEYS, SECRET_KEYS, load_provisioning
from kiosk.domain.staff_pin import hash_pin, is_hashed, verify
from kiosk.ops.install import (
    current_version,
    install_release,
    is_installed,
    release_dir,
    switch_current,
)
from kiosk.ops.release import verify_bundle
from kiosk.runtime.safe_paths import set_owner_mode

UNITS_ENABLED = ("kiosk-ui.service", "kiosk-sync.service", "kiosk-update.timer",
                 "kiosk-metrics.timer")
SUPPORT_FILES = {
    "sysusers.d/kiosk.conf": "etc/sysusers.d/kiosk.conf",
    "tmpfiles.d/kiosk.conf": "etc/tmpfiles.d/kiosk.conf",
    "udev/70-kiosk-devices.rules": "etc/udev/rules.d/70-kiosk-devices.rules",
    "modprobe.d/kiosk-blacklist-pn533.conf": "etc/modprobe.d/kiosk-blacklist-pn533.conf",
    "polkit-1/rules.d/60-kiosk-pcscd.rules": "etc/polkit-1/rules.d/60-kiosk-pcscd.rules",
    "logind.conf.d/kiosk.conf": "etc/systemd/logind.conf.d/kiosk.conf",
}


class ProvisionError(Exception):
    """What stopped provisioning, in both languages; `unavailable`: a system service
    (systemctl, systemd-sysusers) failed, not the provisioning file."""

    def __init__(self, en: str, vi: str, unavailable: bool = False) -> None:
        super().__init__(f"{vi} / {en}")
        self.unavailable = unavailable


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


def provision(root: Path, provisioning_file: Path, bundle_dir: Path | None = None,
              overrides: dict[str, dict[str, Any]] | None = None) -> Summary:
    """Set up `root` as a kiosk. Without `bundle_dir` the release must already be
    installed (by the Debian package); with it, the signed bundle is installed."""
    summary = Summary()
    # Validate everything before touching the machine: the rules of `kiosk config check
    # --production`, every problem one line naming its key.
    raw, config = load_provisioning(provisioning_file, overrides)
    keys = config.fleet.public_keys
    if os.geteuid() != 0:
        raise ProvisionError("run as root: the configuration must belong to root and group kiosk",
                             "hãy chạy bằng root: cấu hình phải thuộc root, nhóm kiosk")

    if bundle_dir is not None:
        bundle = verify_bundle(bundle_dir, keys)
        already = current_version(root) == bundle.version and (
            release_dir(root, bundle.version) / ".installed").exists()
        install_release(bundle, root)
        switch_current(root, bundle.version)
        summary.add(f"release {bundle.version}: {'already installed' if already else 'installed'}"
                    f" under {release_dir(root, bundle.version)}")
    else:
        version = current_version(root)
        if version is None or not is_installed(root, version):
            raise ProvisionError("no kiosk release is installed: install the Debian package "
                                 "(apt install ./vn-hospital-kiosk_….deb) or pass --bundle",
                                 "chưa cài bản phát hành nào: cài gói Debian "
                                 "(apt install ./vn-hospital-kiosk_….deb) hoặc dùng --bundle")
        summary.add(f"release {version}: already installed under {release_dir(root, version)}")

    _guide(release_dir(root, current_version(root) or ""))
    packaged = _packaged_units(root)
    if not packaged:
        units = units_dir()
        system = root / "etc" / "systemd" / "system"
        for unit in sorted(units.glob("kiosk-*.*")):
            _write(system / unit.name, unit.read_text(encoding="utf-8"), 0o644)
        for source, target in SUPPORT_FILES.items():
            _write(root / target, (units / source).read_text(encoding="utf-8"), 0o644)
        # The package's /usr/bin/kiosk, for a bundle install: in the admin's own place.
        command = root / "usr/local/bin/kiosk"
        if not command.is_symlink() and not command.exists():
            command.parent.mkdir(parents=True, exist_ok=True)
            command.symlink_to("/opt/kiosk/current/venv/bin/kiosk")
    _system_users(root)
    kiosk_ids = service_ids(root)

    config_raw, secrets = split_secrets(raw)
    pin = secrets.get("ui", {}).get("staff_pin")
    if pin and not is_hashed(pin):
        # Only the scrypt hash is stored; re-provisioning with the same digits is a no-op.
        old = _written_secret(root, "ui", "staff_pin")
        secrets["ui"]["staff_pin"] = old if old and verify(old, pin) else hash_pin(pin)
    etc = root / "etc" / "kiosk"
    etc.mkdir(parents=True, exist_ok=True)
    _own(etc, 0o750, 0, kiosk_ids[1])
    # Root owns both files; the services' group may read them, nobody else.
    changed_config = _write(etc / "kiosk.toml", _toml(config_raw), 0o640)
    changed_secrets = _write(etc / "secrets.toml", _toml(secrets), 0o640)
    _own(etc / "kiosk.toml", 0o640, 0, kiosk_ids[1])
    _own(etc / "secrets.toml", 0o640, 0, kiosk_ids[1])
    word = {True: "written", False: "unchanged"}
    summary.add(f"configuration {etc / 'kiosk.toml'}: {word[changed_config]}; "
                f"secrets (root:kiosk 0640): {word[changed_secrets]}")
    state = root / str(config.state_dir).lstrip("/")
    state.mkdir(parents=True, exist_ok=True)
    _own(state, 0o750, *kiosk_ids)
    _enable(root, summary)
    summary.add(f"units {'from the Debian package' if packaged else 'installed in /etc'}")
    summary.add(f"kiosk {config.kiosk_id} for {config.facility.name} ({config.facility.code}); "
                f"HIS {config.his.adapter}; printer {config.printer.kind}; "
                f"fleet {config.fleet.hawkbit_url or 'not configured'}")
    return summary


def _written_secret(root: Path, section: str, key: str) -> str | None:
    try:
        data = tomllib.loads((root / "etc/kiosk/secrets.toml").read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        return None
    value = data.get(section, {}).get(key)
    return value if isinstance(value, str) else None


def _guide(release: Path) -> None:
    """The units' Documentation= (/opt/kiosk/current/share/doc/deployment.md): the
    release installs its own; one whose package lacks it gets this kiosk's."""
    guide = release / "share" / "doc" / "deployment.md"
    ours = Path(kiosk.__file__).resolve().parent / "_docs" / "deployment.md"
    if not guide.exists():
        _write(guide, ours.read_text(encoding="utf-8"), 0o644)


def _packaged_units(root: Path) -> bool:
    """The Debian package ships the units under /lib (or /usr/lib) itself."""
    return any((root / d / "systemd/system/kiosk-ui.service").exists()
               for d in ("lib", "usr/lib"))


def _system_users(root: Path) -> None:
    """The kiosk user and its directories, from sysusers.d/tmpfiles.d, inside `root`."""
    for cmd in (["systemd-sysusers", f"--root={root}", "kiosk.conf"],
                ["systemd-tmpfiles", "--create", f"--root={root}", "kiosk.conf"]):
        _system(cmd, "kiosk.conf")


def service_ids(root: Path, user: str = "kiosk") -> tuple[int, int]:
    """The service user's uid and gid as `root`'s own passwd/group files say (not the
    build machine's: an image's kiosk user may have another number)."""
    def lookup(name: str, table: str) -> int:
        path = root / "etc" / table
        for line in path.read_text(encoding="utf-8").splitlines():
            fields = line.split(":")
            if len(fields) > 2 and fields[0] == name:
                return int(fields[2])
        raise ProvisionError(f"{path}: no {name!r} entry (systemd-sysusers did not create it)",
                             f"{path}: không có {name!r} (systemd-sysusers chưa tạo)", True)

    return lookup(user, "passwd"), lookup(user, "group")


def _own(path: Path, mode: int, uid: int, gid: int) -> None:
    set_owner_mode(path, mode, (uid, gid))  # on an O_NOFOLLOW descriptor


def _system(cmd: list[str], what: str) -> None:
    """Run a system tool; its failure names the tool and what it worked on (exit 5)."""
    if shutil.which(cmd[0]) is None:
        raise ProvisionError(f"{cmd[0]} not found: cannot set up {what}",
                             f"không có {cmd[0]}: không thiết lập được {what}", True)
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ProvisionError(f"{' '.join(cmd[:2])} ({what}) failed: {exc}",
                             f"{' '.join(cmd[:2])} ({what}) lỗi: {exc}", True) from None
    if proc.returncode != 0:
        err = proc.stderr.strip()[-400:]
        raise ProvisionError(f"{' '.join(cmd[:2])} ({what}) failed: {err}",
                             f"{' '.join(cmd[:2])} ({what}) lỗi: {err}", True)


SYSTEMD_RUNNING = Path("/run/systemd/system")  # sd_booted(): systemd is this machine's init


def _enable(root: Path, summary: Summary) -> None:
    live = root == Path("/")
    # Not booted with systemd (a chroot building an image, a container): nothing to
    # reload, and `systemctl enable` links the units for the next boot by itself.
    if live and SYSTEMD_RUNNING.is_dir():
        _system(["systemctl", "daemon-reload"], "the kiosk's units")
    _system(["systemctl", *([] if live else [f"--root={root}"]), "enable", *UNITS_ENABLED],
            ", ".join(UNITS_ENABLED))
    summary.add(f"units enabled: {', '.join(UNITS_ENABLED)}")
