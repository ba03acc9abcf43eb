"""Reading the configuration and secrets files; validation is in `sections`."""

from __future__ import annotations

import os
import stat
import tomllib
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from kiosk.config.model import Config
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
__all__ = ["DEFAULT_PATH", "DEFAULT_STATE_DIR", "HIS_ADAPTERS", "PRINTER_KINDS", "ConfigError",
           "Problem", "build", "chosen_path", "demo_config", "demo_config_text", "load",
           "load_file"]

# The only keys the secrets file may hold, and the only ones the main file may not
# (when it names a secrets file). Anything else there is refused: a secrets file that
# could set `fleet.public_keys` or a URL would be a way around the reviewed main file.
SECRET_KEYS: dict[str, tuple[str, ...]] = {
    "bhxh": ("password",), "ui": ("staff_pin",), "fleet": ("token",), "lobby": ("password",),
}
HIS_SECRET_KEYS = ("password", "token", "client_secret", "api_key")


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
        raise ConfigError([Problem(what, f"file {path} is not readable by this user",
                                   f"người dùng này không đọc được tệp {path}")]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([Problem(what, f"{path} is not valid TOML ({exc})",
                                   f"{path} không phải TOML hợp lệ ({exc})")]) from None
    except (OSError, UnicodeDecodeError, RecursionError) as exc:
        reason = getattr(exc, "strerror", None) or type(exc).__name__
        raise ConfigError([Problem(what, f"cannot read {path} ({reason})",
                                   f"không đọc được {path} ({reason})")]) from None


def _read_secrets(path: Path) -> dict[str, Any]:
    """Root (or the user running the kiosk) owns it; the service group may read it;
    nobody else may read it and only the owner may write it. Only secrets in it."""
    key = "kiosk.secrets_file"
    try:
        st = path.stat()
    except FileNotFoundError:
        raise ConfigError([Problem(key, f"{path} not found", f"không có tệp {path}")]) from None
    except OSError as exc:
        raise ConfigError([Problem(key, f"{path}: {exc.strerror}",
                                   f"không đọc được {path}")]) from None
    mode = st.st_mode
    if mode & (stat.S_IRWXO | stat.S_IWGRP | stat.S_IXGRP):
        raise ConfigError([Problem(
            key,
            f"{path} has mode {stat.S_IMODE(mode):04o}; it holds passwords and must be 0640 "
            f"root:kiosk or 0600 (chmod 640 {path})",
            f"{path} có quyền {stat.S_IMODE(mode):04o}; tệp chứa mật khẩu phải có quyền 0640 "
            f"root:kiosk hoặc 0600 (chmod 640 {path})")])
    if st.st_uid not in (0, os.geteuid()):
        raise ConfigError([Problem(
            key, f"{path} must belong to root (chown root:kiosk {path}); the service must not "
            "be able to change its own secrets",
            f"{path} phải thuộc root (chown root:kiosk {path})")])
    raw = _read_toml(path, key)
    wrong = sorted(".".join(p) for p in set(_leaves(raw)) - set(secret_paths(raw)))
    if wrong:
        raise ConfigError([Problem(
            key, f"{name} is not a secret (it belongs in the main configuration file); only "
            f"{_secret_names()} go in {path}",
            f"{name} không phải bí mật (ghi vào tệp cấu hình chính)") for name in wrong])
    return raw


def demo_config_text() -> str:
    return resources.files("kiosk.config").joinpath("demo.toml").read_text(encoding="utf-8")


def demo_config(state_dir: Path | None = None) -> Config:
    """The built-in demo configuration (simulators everywhere, no secrets file)."""
    raw = tomllib.loads(demo_config_text())
    if state_dir is not None:
        raw["kiosk"]["state_dir"] = str(state_dir)
    return build(raw, source=DEMO_SOURCE, base_dir=Path.cwd())


def load_file(path: Path) -> Config:
    raw = _read_toml(path, "config")
    kiosk = raw.get("kiosk", {})
    secrets_name = kiosk.get("secrets_file") if isinstance(kiosk, Mapping) else None
    if secrets_name is not None and not isinstance(secrets_name, str):
        raise ConfigError([Problem("kiosk.secrets_file", "must be a file name",
                                   "phải là tên tệp")])
    if secrets_name:
        secrets_path = Path(secrets_name)
        if not secrets_path.is_absolute():
            secrets_path = path.parent / secrets_path
        inline = secret_paths(raw)
        if inline:
            raise ConfigError([Problem(
                ".".join(p), f"a secret; it belongs in the secrets file ({secrets_name}), not "
                f"in {path}", f"là bí mật: ghi vào tệp bí mật ({secrets_name})")
                for p in inline])
        raw = _deep_merge(raw, _read_secrets(secrets_path))
    return build(raw, source=str(path), base_dir=path.parent)


def chosen_path(path: str | os.PathLike[str] | None = None) -> Path | None:
    """The file `load(path)` reads: `path`, `$KIOSK_CONFIG`, the default path, or None
    for the built-in demo."""
    chosen = path or os.environ.get("KIOSK_CONFIG")
    if chosen:
        return Path(chosen)
    return DEFAULT_PATH if DEFAULT_PATH.exists() else None


def load(path: str | os.PathLike[str] | None = None) -> Config:
    """Load the configuration from `path`, `$KIOSK_CONFIG`, the default path, or the demo."""
    chosen = chosen_path(path)
    return demo_config() if chosen is None else load_file(chosen)


def build(raw: Mapping[str, Any], source: str, base_dir: Path) -> Config:
    """Validate a parsed configuration; raise `ConfigError` listing all problems.

    Every section in `SECTIONS` parses its own table; keys nobody read are then
    reported as unknown (with the nearest known key), so nothing is ignored."""
    schema = Schema()
    root = schema.table(raw, "")
    ctx = Context(source=source, base_dir=base_dir)
    for name, parse in SECTIONS.items():
        ctx.parsed[name] = parse(root, ctx)
    schema.finish()
    if schema.problems:
        raise ConfigError(schema.problems)
    kiosk = ctx.parsed.pop("kiosk")
    services = ctx.parsed.pop("services")
    return Config(kiosk_id=kiosk.id, state_dir=kiosk.state_dir, services=services,
                  source=source, demo=source == DEMO_SOURCE, **ctx.parsed)
