"""Reading the configuration and secrets files; validation is in `sections`."""

from __future__ import annotations

import os
import stat
import tomllib
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from kiosk.config.fileinfo import describe, whoami
from kiosk.config.model import Config
from kiosk.config.production import demo_values
from kiosk.config.rest_mapping import SECRET_FIELDS
from kiosk.config.sections import (
    DEFAULT_STATE_DIR,
    DEMO_SOURCE,
    HIS_ADAPTERS,
    PRINTER_KINDS,
    SECTIONS,
    Context,
)
from kiosk.config.table import ConfigError, Problem, Schema

DEFAULT_PATH = Path("/etc/kiosk/kiosk.toml")
DEMO_STAFF_PIN = "246802"  # the built-in demo's, in memory only (printed by `make demo`)
__all__ = ["DEFAULT_PATH", "DEFAULT_STATE_DIR", "HIS_ADAPTERS", "PRINTER_KINDS", "ConfigError",
           "Problem", "build", "chosen_path", "demo_config", "demo_config_text", "load",
           "load_file"]

# The only keys the secrets file may hold, and the ones the main file never may
# (decision 0106). Anything else there is refused: a secrets file that could set
# `fleet.public_keys` or a URL would be a way around the reviewed main file.
SECRET_KEYS: dict[str, tuple[str, ...]] = {
    "bhxh": ("password",), "ui": ("staff_pin",), "fleet": ("token",),
    "lobby": ("password", "holding_key"),
}
HIS_SECRET_KEYS = SECRET_FIELDS


def secret_paths(raw: Mapping[str, Any]) -> list[tuple[str, ...]]:
    """Every secret key present in a parsed file, as a key path."""
    found: list[tuple[str, ...]] = [
        (section, key) for section, keys in SECRET_KEYS.items()
        for key in keys if isinstance(raw.get(section), Mapping) and key in raw[section]]
    his = raw.get("his")
    settings = his.get("settings") if isinstance(his, Mapping) else None
    if isinstance(settings, Mapping):
        found += [("his", "settings", key) for key in HIS_SECRET_KEYS if key in settings]
    return found


def _leaves(raw: Mapping[str, Any], prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    out: list[tuple[str, ...]] = []
    for key, value in raw.items():
        out += _leaves(value, (*prefix, key)) if isinstance(value, Mapping) else [(*prefix, key)]
    return out


def _secret_names() -> str:
    names = [f"{s}.{k}" for s, keys in SECRET_KEYS.items() for k in keys]
    return ", ".join([*names, "his.settings." + "/".join(HIS_SECRET_KEYS)])


def _deep_merge(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _deep_merge(dict(merged[key]), value)
        else:
            merged[key] = value
    return merged


def _read_toml(path: Path, what: str) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError([Problem(what, f"file {path} not found",
                                   f"không có tệp {path}")]) from None
    except PermissionError:
        raise _unreadable(what, path) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([Problem(what, f"{path} is not valid TOML ({exc})",
                                   f"{path} không phải TOML hợp lệ ({exc})")]) from None
    except (OSError, UnicodeDecodeError, RecursionError) as exc:
        reason = getattr(exc, "strerror", None) or type(exc).__name__
        raise ConfigError([Problem(what, f"cannot read {path} ({reason})",
                                   f"không đọc được {path} ({reason})")]) from None


def _unreadable(what: str, path: Path) -> ConfigError:
    """Who cannot read which file, with its mode and owner (decision 0120)."""
    who, where = whoami(), describe(path)
    return ConfigError([Problem(what, f"{where} is not readable by this user, {who}: it must "
                                "be 0640 root:kiosk",
                                f"{who} không đọc được tệp {where}: tệp phải là 0640 "
                                "root:kiosk")])


def _owner_and_mode(path: Path, key: str, forbidden: int, why_en: str, why_vi: str) -> None:
    """The one rule for the kiosk's files (decision 0120): root owns them (or the user
    running the kiosk, for a file of their own), mode 0640 root:kiosk, and no bit of
    `forbidden` set. Root-run commands (the updater) read them: nobody else may write."""
    try:
        st = path.stat()
    except FileNotFoundError:
        raise ConfigError([Problem(key, f"{path} not found", f"không có tệp {path}")]) from None
    except PermissionError:
        raise _unreadable(key, path) from None
    except OSError as exc:
        raise ConfigError([Problem(key, f"{path}: {exc.strerror}",
                                   f"không đọc được {path}")]) from None
    mode = stat.S_IMODE(st.st_mode)
    if mode & forbidden:
        raise ConfigError([Problem(
            key, f"{path} has mode {mode:04o}; {why_en}: it must be 0640 root:kiosk "
            f"(chown root:kiosk {path}; chmod 0640 {path})",
            f"{path} có quyền {mode:04o}; {why_vi}: phải là 0640 root:kiosk "
            f"(chown root:kiosk {path}; chmod 0640 {path})")])
    if st.st_uid not in (0, os.geteuid()):
        raise ConfigError([Problem(
            key, f"{path} belongs to uid {st.st_uid}; {why_en}: it must belong to root "
            f"(chown root:kiosk {path}); the service must not be able to change it",
            f"{path} thuộc uid {st.st_uid}; {why_vi}: phải thuộc root "
            f"(chown root:kiosk {path})")])


def _read_secrets(path: Path) -> dict[str, Any]:
    """0640 root:kiosk: the service group may read it, nobody else. Only secrets in it."""
    key = "kiosk.secrets_file"
    _owner_and_mode(path, key, stat.S_IRWXO | stat.S_IWGRP | stat.S_IXGRP,
                    "it holds passwords", "tệp chứa mật khẩu")
    raw = _read_toml(path, key)
    wrong = sorted(".".join(p) for p in set(_leaves(raw)) - set(secret_paths(raw)))
    if wrong:
        raise ConfigError([Problem(
            key, f"{name} is not a secret (it belongs in the main configuration file); only "
            f"{_secret_names()} go in {path}",
            f"{name} không phải bí mật (ghi vào tệp cấu hình chính)") for name in wrong])
    return raw


def config_text(name: str) -> str:
    """A configuration shipped with the kiosk: demo.toml, or new.toml (`config new`)."""
    return resources.files("kiosk.config").joinpath(name).read_text(encoding="utf-8")


def demo_config_text() -> str:
    return config_text("demo.toml")


def demo_config(state_dir: Path | None = None) -> Config:
    """The built-in demo configuration (simulators everywhere). Its one secret, the
    staff PIN the demo prints, is added here in memory: no file holds it."""
    raw = tomllib.loads(demo_config_text())
    raw["ui"]["staff_pin"] = DEMO_STAFF_PIN
    if state_dir is not None:
        raw["kiosk"]["state_dir"] = str(state_dir)
    return build(raw, source=DEMO_SOURCE, base_dir=Path.cwd())


def load_file(path: Path, production: bool = False) -> Config:
    """A configuration file: root's (or this user's), writable by its owner only, with
    no secret in it (they come from `kiosk.secrets_file`, relative to this file's
    folder). `production`: also refuse the demo's values (as a provisioned file does)."""
    _owner_and_mode(path, "config", stat.S_IWGRP | stat.S_IWOTH,
                    "root-run commands (the updater) trust it", "lệnh chạy bằng root tin tệp này")
    raw = _read_toml(path, "config")
    kiosk = raw.get("kiosk", {})
    secrets_name = kiosk.get("secrets_file") if isinstance(kiosk, Mapping) else None
    if secrets_name is not None and not isinstance(secrets_name, str):
        raise ConfigError([Problem("kiosk.secrets_file", "must be a file name",
                                   "phải là tên tệp")])
    # The main file never holds a secret, whatever else it says (decision 0106): the
    # problem names the key, never its value.
    inline = secret_paths(raw)
    if inline:
        raise ConfigError([Problem(
            ".".join(p), f"a secret in {path}: put it in the secrets file named by "
            "kiosk.secrets_file (0640 root:kiosk), never in the main file",
            "là bí mật: ghi vào tệp bí mật (kiosk.secrets_file, 0640 root:kiosk), không ghi "
            "vào tệp cấu hình chính") for p in inline])
    if secrets_name:
        secrets_path = Path(secrets_name)
        if not secrets_path.is_absolute():
            secrets_path = path.parent / secrets_path
        raw = _deep_merge(raw, _read_secrets(secrets_path))
    return build(raw, source=str(path), base_dir=path.parent, production=production)


def load_provisioning(path: Path, overrides: Mapping[str, Mapping[str, Any]] | None = None,
                      ) -> tuple[dict[str, Any], Config]:
    """A provisioning file (secrets may be in it) as `kiosk provision` will write it,
    validated with the production rules: `kiosk provision` and `kiosk config check
    --production` both call this, so one passes exactly what the other accepts."""
    raw = _read_toml(path, "--config-file")
    for section, values in (overrides or {}).items():
        table = raw.setdefault(section, {})
        if isinstance(table, dict):
            table.update({k: v for k, v in values.items() if v is not None})
    kiosk = raw.setdefault("kiosk", {})
    if not isinstance(kiosk, dict):
        raise ConfigError([Problem("kiosk", "must be a table", "phải là một bảng [..]")])
    kiosk.setdefault("state_dir", str(DEFAULT_STATE_DIR))
    kiosk["secrets_file"] = "/etc/kiosk/secrets.toml"
    kiosk["provisioned"] = True  # every later load applies the production rules too
    return raw, build(raw, source=str(path), base_dir=path.parent, production=True)


def chosen_path(path: str | os.PathLike[str] | None = None) -> Path | None:
    """The file `load(path)` reads: `path`, `$KIOSK_CONFIG`, the default path, or None
    for the built-in demo."""
    chosen = path or os.environ.get("KIOSK_CONFIG")
    if chosen:
        return Path(chosen)
    # $KIOSK_DEFAULT_CONFIG: where a provisioned machine's file is (images, tests: the
    # test suite points it away so the machine's own /etc/kiosk never counts).
    default = Path(os.environ.get("KIOSK_DEFAULT_CONFIG") or DEFAULT_PATH)
    return default if default.exists() else None


def load(path: str | os.PathLike[str] | None = None) -> Config:
    """Load the configuration from `path`, `$KIOSK_CONFIG`, the default path, or the demo."""
    chosen = chosen_path(path)
    return demo_config() if chosen is None else load_file(chosen)


def build(raw: Mapping[str, Any], source: str, base_dir: Path,
          production: bool = False) -> Config:
    """Validate a parsed configuration; raise `ConfigError` listing all problems.

    Every section in `SECTIONS` parses its own table; keys nobody read are then
    reported as unknown (with the nearest known key), so nothing is ignored. A
    `production` file (`kiosk provision`, `config check --production`, or one that says
    `kiosk.provisioned = true`) also may not carry a demo value (`production`)."""
    schema = Schema()
    root = schema.table(raw, "")
    ctx = Context(source=source, base_dir=base_dir)
    for name, parse in SECTIONS.items():
        ctx.parsed[name] = parse(root, ctx)
    schema.finish()
    if production or ctx.parsed["kiosk"].provisioned:
        wrong = {p.key for p in schema.problems}
        schema.problems += [p for p in demo_values(ctx) if p.key not in wrong]
    if schema.problems:
        raise ConfigError(schema.problems)
    kiosk = ctx.parsed.pop("kiosk")
    services = ctx.parsed.pop("services")
    return Config(kiosk_id=kiosk.id, state_dir=kiosk.state_dir, services=services,
                  source=source, demo=source == DEMO_SOURCE,
                  provisioned=kiosk.provisioned, **ctx.parsed)
