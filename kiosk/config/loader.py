"""Reading and validating the configuration and secrets files."""

from __future__ import annotations

import os
import re
import stat
import tomllib
import zoneinfo
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

from kiosk.config.model import (
    BhxhConfig,
    Config,
    DevicesConfig,
    FacilityConfig,
    FleetConfig,
    HisConfig,
    PrinterConfig,
    RetentionConfig,
    ServiceConfig,
    UiConfig,
)
from kiosk.domain.staff_pin import setting_problem

DEFAULT_PATH = Path("/etc/kiosk/kiosk.toml")
DEFAULT_STATE_DIR = Path("/var/lib/kiosk")
HIS_ADAPTERS = ("simulator", "fhir", "gnuhealth", "rest")
PRINTER_KINDS = ("file", "usb", "serial", "network", "none")
_HOURS = re.compile(r"([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-4]):[0-5]\d")

T = TypeVar("T")


class ConfigError(Exception):
    """Raised with every problem found, each naming its key."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


class _Section:
    """Typed access to one TOML table that records problems instead of raising."""

    def __init__(self, raw: Any, name: str, problems: list[str]) -> None:
        if raw is None:
            raw = {}
        if not isinstance(raw, Mapping):
            problems.append(f"{name}: must be a table")
            raw = {}
        self.raw = raw
        self.name = name
        self.problems = problems

    def problem(self, key: str, message: str) -> None:
        self.problems.append(f"{self.name}.{key}: {message}")

    def _get(self, key: str, kind: type[T], default: T | None, required: bool) -> T | None:
        if key not in self.raw or (self.raw[key] == "" and required):
            if required:
                self.problem(key, "required")
            return default
        value = self.raw[key]
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            self.problem(key, f"must be {_KIND_NAMES.get(kind, kind.__name__)}")
            return default
        return value

    def text(self, key: str, default: str = "", required: bool = False) -> str:
        return self._get(key, str, default, required) or default

    def opt_str(self, key: str) -> str | None:
        return self._get(key, str, None, False) or None

    def integer(self, key: str, default: int, low: int, high: int) -> int:
        value = self._get(key, int, default, False)
        assert value is not None
        if not low <= value <= high:
            self.problem(key, f"must be between {low} and {high}")
            return default
        return value

    def number(self, key: str, default: float, low: float, high: float) -> float:
        value = self._get(key, float, default, False)
        assert value is not None
        if not low <= value <= high:
            self.problem(key, f"must be between {low:g} and {high:g}")
            return default
        return value

    def flag(self, key: str, default: bool) -> bool:
        value = self._get(key, bool, default, False)
        return default if value is None else value

    def choice(self, key: str, choices: tuple[str, ...], default: str | None = None) -> str:
        value = self.text(key, default or "", required=default is None)
        if value and value not in choices:
            self.problem(key, f"must be one of {', '.join(choices)}")
            return default or choices[0]
        return value or (default or choices[0])

    def table(self, key: str) -> dict[str, Any]:
        value = self.raw.get(key, {})
        if not isinstance(value, Mapping):
            self.problem(key, "must be a table")
            return {}
        return dict(value)


_KIND_NAMES = {str: "a string", int: "an integer", float: "a number", bool: "true or false"}


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
        raise ConfigError([f"{what}: file {path} not found"]) from None
    except PermissionError:
        raise ConfigError([f"{what}: file {path} is not readable by this user"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"{what}: {path} is not valid TOML ({exc})"]) from None


# The only keys the secrets file may hold, and the only ones the main file may not
# (when it names a secrets file). Anything else there is refused: a secrets file that
# could set `fleet.public_keys` or a URL would be a way around the reviewed main file.
SECRET_KEYS: dict[str, tuple[str, ...]] = {
    "bhxh": ("password",), "ui": ("staff_pin",), "fleet": ("token",),
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


def _read_secrets(path: Path) -> dict[str, Any]:
    """Root (or the user running the kiosk) owns it; the service group may read it;
    nobody else may read it and only the owner may write it. Only secrets in it."""
    try:
        st = path.stat()
    except FileNotFoundError:
        raise ConfigError([f"kiosk.secrets_file: {path} not found"]) from None
    mode = st.st_mode
    if mode & (stat.S_IRWXO | stat.S_IWGRP | stat.S_IXGRP):
        raise ConfigError(
            [
                f"kiosk.secrets_file: {path} has mode {stat.S_IMODE(mode):04o}; "
                f"it holds passwords and must be 0640 root:kiosk or 0600 "
                f"(chmod 640 {path})"
            ]
        )
    if st.st_uid not in (0, os.geteuid()):
        raise ConfigError([f"kiosk.secrets_file: {path} must belong to root "
                           f"(chown root:kiosk {path}); the service must not be able to "
                           f"change its own secrets"])
    raw = _read_toml(path, "kiosk.secrets_file")
    wrong = sorted(".".join(p) for p in set(_leaves(raw)) - set(secret_paths(raw)))
    if wrong:
        raise ConfigError([f"kiosk.secrets_file: {key} is not a secret (it belongs in the "
                           f"main configuration file); only {_secret_names()} go in {path}"
                           for key in wrong])
    return raw


def _secret_names() -> str:
    names = [f"{s}.{k}" for s, keys in SECRET_KEYS.items() for k in keys]
    return ", ".join([*names, "his.settings." + "/".join(HIS_SECRET_KEYS)])


def demo_config_text() -> str:
    return resources.files("kiosk.config").joinpath("demo.toml").read_text(encoding="utf-8")


def demo_config(state_dir: Path | None = None) -> Config:
    """The built-in demo configuration (simulators everywhere, no secrets file)."""
    raw = tomllib.loads(demo_config_text())
    if state_dir is not None:
        raw["kiosk"]["state_dir"] = str(state_dir)
    return build(raw, source="built-in demo", base_dir=Path.cwd())


def load_file(path: Path) -> Config:
    raw = _read_toml(path, "config")
    kiosk = raw.get("kiosk", {})
    secrets_name = kiosk.get("secrets_file") if isinstance(kiosk, Mapping) else None
    if secrets_name:
        inline = secret_paths(raw)
        if inline:
            raise ConfigError([f"{'.'.join(p)}: a secret; it belongs in the secrets file "
                               f"({secrets_name}), not in {path}" for p in inline])
        secrets_path = Path(secrets_name)
        if not secrets_path.is_absolute():
            secrets_path = path.parent / secrets_path
        raw = _deep_merge(raw, _read_secrets(secrets_path))
    return build(raw, source=str(path), base_dir=path.parent)


def load(path: str | os.PathLike[str] | None = None) -> Config:
    """Load the configuration from `path`, `$KIOSK_CONFIG`, the default path, or the demo."""
    chosen = path or os.environ.get("KIOSK_CONFIG")
    if chosen:
        config = load_file(Path(chosen))
    elif DEFAULT_PATH.exists():
        config = load_file(DEFAULT_PATH)
    else:
        config = demo_config()
    return config


def _parse_services(raw: Any, problems: list[str]) -> tuple[ServiceConfig, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        problems.append("services: must be an array of tables ([[services]])")
        return ()
    services = []
    seen: set[str] = set()
    for index, item in enumerate(raw):
        s = _Section(item, f"services[{index}]", problems)
        code = s.text("code", required=True)
        if code in seen:
            s.problem("code", f"duplicate service code {code!r}")
        seen.add(code)
        hours = s.text("hours", "00:00-24:00")
        if not _HOURS.fullmatch(hours):
            s.problem("hours", "must look like 07:00-16:30")
        prefix = s.text("prefix", required=True)
        if prefix and not re.fullmatch(r"[A-Z0-9]{1,3}", prefix):
            s.problem("prefix", "must be 1–3 capital letters or digits")
        services.append(
            ServiceConfig(
                code=code,
                name=s.text("name", required=True),
                name_en=s.text("name_en", required=True),
                room=s.text("room", required=True),
                department=s.text("department", code),
                prefix=prefix,
                fee=s.integer("fee", 0, 0, 100_000_000),
                hours=hours,
                icon=s.opt_str("icon"),
            )
        )
    return tuple(services)


def _queue_format(f: _Section) -> str:
    from kiosk.domain.errors import DomainError
    from kiosk.domain.queue import DEFAULT_QUEUE_FORMAT, check_queue_format

    fmt = f.text("queue_format", DEFAULT_QUEUE_FORMAT)
    try:
        check_queue_format(fmt)
    except DomainError as exc:
        f.problem("queue_format", str(exc))
        return DEFAULT_QUEUE_FORMAT
    return fmt


def build(raw: Mapping[str, Any], source: str, base_dir: Path) -> Config:
    """Validate a parsed configuration; raise `ConfigError` listing all problems."""
    problems: list[str] = []
    known = {"kiosk", "facility", "devices", "bhxh", "his", "printer", "ui", "retention",
             "fleet", "services"}
    for key in raw:
        if key not in known:
            problems.append(f"{key}: unknown section")

    k = _Section(raw.get("kiosk"), "kiosk", problems)
    kiosk_id = k.text("id", required=True)
    if kiosk_id and not re.fullmatch(r"[A-Za-z0-9._-]{1,64}", kiosk_id):
        k.problem("id", "use letters, digits, '.', '_' or '-' (at most 64)")
    state_dir = Path(
        os.environ.get("KIOSK_STATE_DIR") or k.text("state_dir", str(DEFAULT_STATE_DIR))
    )
    if not state_dir.is_absolute():
        state_dir = base_dir / state_dir if source != "built-in demo" else Path.cwd() / state_dir

    f = _Section(raw.get("facility"), "facility", problems)
    code = f.text("code", required=True)
    if code and not re.fullmatch(r"[0-9A-Z]{5}", code):
        f.problem("code", "must be 5 characters (the BHXH MA_CSKCB, e.g. 01824)")
    timezone = f.text("timezone", "Asia/Ho_Chi_Minh")
    try:
        zoneinfo.ZoneInfo(timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        f.problem("timezone", f"unknown time zone {timezone!r}")
    facility = FacilityConfig(
        code=code,
        name=f.text("name", required=True),
        timezone=timezone,
        logo=f.opt_str("logo"),
        health_book_url=f.opt_str("health_book_url"),
        queue_format=_queue_format(f),
    )

    d = _Section(raw.get("devices"), "devices", problems)
    devices = DevicesConfig(
        reader=d.text("reader", "auto"),
        camera=str(d.raw.get("camera", "0")),
        camera_width=d.integer("camera_width", 1280, 160, 4096),
        camera_height=d.integer("camera_height", 720, 120, 4096),
        camera_fps=d.integer("camera_fps", 30, 1, 120),
        trust_store=d.opt_str("trust_store"),
    )

    b = _Section(raw.get("bhxh"), "bhxh", problems)
    url = b.text("url", required=True)
    if url == "simulator":
        pass  # the embedded BHXH gateway simulator (demo and tests)
    elif url and not re.match(r"https?://", url):
        b.problem("url", "must start with https:// (or http:// for a loopback simulator)")
    elif url.startswith("http://") and not re.match(r"http://(127\.|localhost|\[::1\])", url):
        b.problem("url", "plain http is only allowed for a loopback simulator; use https://")
    operator_cccd = b.text("operator_cccd", required=True)
    if operator_cccd and not re.fullmatch(r"\d{12}", operator_cccd):
        b.problem("operator_cccd", "must be the operator's 12-digit personal ID")
    bhxh = BhxhConfig(
        url=url.rstrip("/"),
        username=b.text("username", required=True),
        password=b.text("password", required=True),
        operator_name=b.text("operator_name", required=True),
        operator_cccd=operator_cccd,
        timeout_s=b.number("timeout_s", 5.0, 0.1, 120.0),
        budget_s=b.number("budget_s", 6.0, 0.5, 120.0),
        verify_tls=b.flag("verify_tls", True),
        checkin=b.flag("checkin", False),
        province_code=b.text("province_code"),
    )
    if bhxh.province_code and not re.fullmatch(r"\d{2}", bhxh.province_code):
        b.problem("province_code", "must be the 2-digit province code (maTinh)")

    h = _Section(raw.get("his"), "his", problems)
    his = HisConfig(adapter=h.choice("adapter", HIS_ADAPTERS), settings=h.table("settings"))

    p = _Section(raw.get("printer"), "printer", problems)
    paper = p.integer("paper_mm", 80, 58, 80)
    if paper not in (58, 80):
        p.problem("paper_mm", "must be 58 or 80")
    printer = PrinterConfig(kind=p.choice("kind", PRINTER_KINDS, "none"),
                            target=p.text("target", ""), paper_mm=paper)
    if printer.kind not in ("none", "file") and not printer.target:
        p.problem("target", f"required for a {printer.kind} printer")
    # A file printer keeps every ticket (masked name, insurance status) and handout (full
    # BHYT number) as an image on disk: only where everything else is simulated too.
    simulated = url == "simulator" or url.startswith("http://") or his.adapter == "simulator"
    if printer.kind == "file" and not simulated:
        p.problem("kind", "file keeps patients' tickets as images on disk: only for the demo "
                          "and tests (simulated BHXH or HIS); use usb, serial, network or none")

    u = _Section(raw.get("ui"), "ui", problems)
    language = u.choice("language", ("vi", "en"), "vi")
    rotation = u.integer("rotation", 0, 0, 270)
    if rotation % 90:
        u.problem("rotation", "must be 0, 90, 180 or 270")
    staff_pin = u.text("staff_pin", "")
    pin_problem = setting_problem(staff_pin) if staff_pin else None
    if pin_problem:
        u.problem("staff_pin", pin_problem)
    opening = u.text("opening_hours", "00:00-24:00")
    if not _HOURS.fullmatch(opening):
        u.problem("opening_hours", "must look like 06:30-17:00")
    ui = UiConfig(
        language=language,
        idle_timeout_s=u.integer("idle_timeout_s", 45, 10, 600),
        idle_warning_s=u.integer("idle_warning_s", 15, 3, 120),
        fullscreen=u.flag("fullscreen", True),
        rotation=rotation,
        staff_pin=staff_pin,
        opening_hours=opening,
    )

    r = _Section(raw.get("retention"), "retention", problems)
    retention = RetentionConfig(
        personal_data_hours=r.integer("personal_data_hours", 24, 0, 24 * 90),
        unsynced_days=r.integer("unsynced_days", 7, 1, 90),
    )

    fl = _Section(raw.get("fleet"), "fleet", problems)
    keys = fl.raw.get("public_keys", [])
    if not isinstance(keys, list) or not all(isinstance(x, str) for x in keys):
        fl.problem("public_keys", "must be a list of strings")
        keys = []
    hawkbit_url = fl.opt_str("hawkbit_url")
    fleet = FleetConfig(
        hawkbit_url=hawkbit_url,
        tenant=fl.text("tenant", "DEFAULT"),
        controller_id=fl.opt_str("controller_id") or (kiosk_id or None),
        token=fl.text("token", ""),
        public_keys=tuple(keys),
    )
    if hawkbit_url and not fleet.token:
        fl.problem("token", "required when fleet.hawkbit_url is set (put it in the secrets file)")

    services = _parse_services(raw.get("services"), problems)
    if not services:
        problems.append("services: at least one [[services]] entry is required")

    if problems:
        raise ConfigError(problems)
    return Config(
        kiosk_id=kiosk_id,
        state_dir=state_dir,
        facility=facility,
        devices=devices,
        bhxh=bhxh,
        his=his,
        printer=printer,
        ui=ui,
        retention=retention,
        fleet=fleet,
        services=services,
        source=source,
        demo=source == "built-in demo",
    )
