"""One parser per configuration section, and the registry `SECTIONS` they plug into.

A parser reads its table through `Table` (typed, recorded), validates every
value so that what passes `kiosk config check` never fails later, and returns
the section's dataclass. Adding a section (`[lobby]`): a dataclass in `model`,
a field on `Config`, a parser here and one line in `SECTIONS`; unknown keys in
it are then reported like everywhere else.
"""

from __future__ import annotations

import os
import re
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kiosk.config.fleet import check_fleet_url, parse_public_key
from kiosk.config.his import check_his_settings
from kiosk.config.model import (
    AppointmentsConfig,
    BhxhConfig,
    BiometricConfig,
    DevicesConfig,
    FacilityConfig,
    FleetConfig,
    HisConfig,
    LobbyConfig,
    PrinterConfig,
    RetentionConfig,
    ServiceConfig,
    UiConfig,
)
from kiosk.config.table import Table
from kiosk.domain.ages import AgeRange
from kiosk.domain.errors import DomainError
from kiosk.domain.staff_pin import setting_problem

DEFAULT_STATE_DIR = Path("/var/lib/kiosk")
HIS_ADAPTERS = ("simulator", "fhir", "gnuhealth", "rest")
PRINTER_KINDS = ("file", "usb", "serial", "network", "none")
DEMO_SOURCE = "built-in demo"
SIMULATOR_PASSWORD = "simulator-password"  # the BHXH simulator's dataset account
SSL_MODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
_LOOPBACK = re.compile(r"(127(\.\d{1,3}){3}|localhost|::1)")


@dataclass(frozen=True)
class KioskSection:
    id: str
    state_dir: Path
    provisioned: bool = False


@dataclass
class Context:
    """`base_dir` is the one base of every relative path in a configuration: the
    folder of its file (the current folder for the built-in demo, which has none)."""

    source: str
    base_dir: Path
    parsed: dict[str, Any] = field(default_factory=dict)
    relative: dict[str, str] = field(default_factory=dict)  # key -> path as written

    def path(self, table: Table, key: str, value: str | None) -> str | None:
        """`value` (read from `table.key`) absolute: resolved against `base_dir` if
        relative, which `production` refuses (a provisioned file moves to /etc/kiosk)."""
        if not value or Path(value).is_absolute():
            return value
        self.relative[table.path(key)] = value
        return str(self.base_dir / value)


def parse_kiosk(root: Table, ctx: Context) -> KioskSection:
    k = root.sub("kiosk")
    k.known("secrets_file")  # read (and merged) by the loader before validation
    kiosk_id = k.text("id", required=True)
    if kiosk_id and not re.fullmatch(r"[A-Za-z0-9._-]{1,64}", kiosk_id):
        k.problem("id", "use letters, digits, '.', '_' or '-' (at most 64)",
                  "chỉ dùng chữ cái, chữ số, '.', '_' hoặc '-' (tối đa 64)")
    # Read (and checked) even when $KIOSK_STATE_DIR overrides it.
    configured = ctx.path(k, "state_dir", k.text("state_dir", str(DEFAULT_STATE_DIR)))
    state_dir = Path(os.environ.get("KIOSK_STATE_DIR") or configured or DEFAULT_STATE_DIR)
    if not state_dir.is_absolute():
        state_dir = ctx.base_dir / state_dir
    return KioskSection(kiosk_id, state_dir, k.flag("provisioned", False))


def _queue_format(f: Table) -> str:
    from kiosk.domain.errors import DomainError
    from kiosk.domain.queue import DEFAULT_QUEUE_FORMAT, check_queue_format

    fmt = f.text("queue_format", DEFAULT_QUEUE_FORMAT)
    try:
        check_queue_format(fmt)
    except DomainError as exc:
        f.problem("queue_format", str(exc), "mẫu số thứ tự không hợp lệ (xem {prefix}, {seq})")
        return DEFAULT_QUEUE_FORMAT
    return fmt


def parse_facility(root: Table, ctx: Context) -> FacilityConfig:
    f = root.sub("facility")
    code = f.text("code", required=True)
    if code and not re.fullmatch(r"[0-9A-Z]{5}", code):
        f.problem("code", "must be 5 characters (the BHXH MA_CSKCB, e.g. 01824)",
                  "phải có 5 ký tự (mã cơ sở KCB của BHXH, ví dụ 01824)")
    timezone = f.text("timezone", "Asia/Ho_Chi_Minh")
    try:
        zoneinfo.ZoneInfo(timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        f.problem("timezone", f"unknown time zone {timezone!r}",
                  f"múi giờ {timezone!r} không tồn tại")
        timezone = "Asia/Ho_Chi_Minh"
    return FacilityConfig(
        code=code,
        name=f.text("name", required=True),
        timezone=timezone,
        logo=ctx.path(f, "logo", f.opt_str("logo")),
        health_book_url=f.url("health_book_url") or None,
        queue_format=_queue_format(f),
    )


# Only ever stricter than "standard" (decision 0110): no setting accepts a failed check.
CHIP_POLICIES = ("standard", "trusted", "trusted_active")


def parse_devices(root: Table, ctx: Context) -> DevicesConfig:
    d = root.sub("devices")
    camera = d.get("camera")
    if camera is None:
        camera = "0"
    elif isinstance(camera, int) and not isinstance(camera, bool) and 0 <= camera < 64:
        camera = str(camera)
    elif not isinstance(camera, str) or not camera.strip() or not camera.isprintable():
        d.problem("camera", "must be a camera index (0), a device path, a file or 'virtual'",
                  "phải là số camera (0), đường dẫn thiết bị, tệp hoặc 'virtual'")
        camera = "0"
    elif camera.strip().isdigit() and not camera.strip().isascii():
        d.problem("camera", "a camera index uses the digits 0-9", "số camera chỉ dùng chữ số 0-9")
        camera = "0"
    trust_store = ctx.path(d, "trust_store", d.opt_str("trust_store"))
    policy = d.choice("chip_policy", CHIP_POLICIES, "standard")
    if policy != "standard" and not trust_store:
        d.problem("chip_policy", f"'{policy}' needs devices.trust_store (the CSCA certificates)",
                  f"'{policy}' cần devices.trust_store (chứng thư CSCA)")
    return DevicesConfig(
        reader=d.text("reader", "auto"),
        camera=camera,
        camera_width=d.integer("camera_width", 1280, 160, 4096),
        camera_height=d.integer("camera_height", 720, 120, 4096),
        camera_fps=d.integer("camera_fps", 30, 1, 120),
        trust_store=trust_store,
        chip_policy=policy,
    )


def parse_bhxh(root: Table, ctx: Context) -> BhxhConfig:
    b = root.sub("bhxh")
    url = b.text("url", required=True) if b.raw.get("url") == "simulator" else b.url(
        "url", required=True)
    operator_cccd = b.text("operator_cccd", required=True)
    if operator_cccd and not re.fullmatch(r"[0-9]{12}", operator_cccd):
        b.problem("operator_cccd", "must be the operator's 12-digit personal ID",
                  "phải là số Căn cước 12 chữ số của cán bộ")
    province = b.text("province_code")
    if province and not re.fullmatch(r"[0-9]{2}", province):
        b.problem("province_code", "must be the 2-digit province code (maTinh)",
                  "phải là mã tỉnh 2 chữ số (maTinh)")
    timeout = b.number("timeout_s", 5.0, 0.1, 120.0)
    budget = b.number("budget_s", 6.0, 0.5, 120.0)
    # Only a simulator takes the demo's password (so the demo files hold no secret); a
    # plain-http URL is one on loopback (`Table.url`).
    embedded = url == "simulator"
    password = b.text("password", SIMULATOR_PASSWORD if embedded else "",
                      required=not embedded)
    if password == SIMULATOR_PASSWORD and url.startswith("https://"):
        b.problem("password", "the simulator's password: set the facility's own (in the "
                  "secrets file)", "mật khẩu của bản mô phỏng: ghi mật khẩu của cơ sở "
                  "(trong tệp bí mật)")
    return BhxhConfig(
        url=url,
        username=b.text("username", required=True),
        password=password,
        operator_name=b.text("operator_name", required=True),
        operator_cccd=operator_cccd,
        timeout_s=timeout,
        budget_s=budget,
        verify_tls=b.flag("verify_tls", True),
        checkin=b.flag("checkin", False),
        province_code=province,
    )


def parse_his(root: Table, ctx: Context) -> HisConfig:
    h = root.sub("his")
    adapter = h.choice("adapter", HIS_ADAPTERS)
    settings = h.sub("settings")
    check_his_settings(adapter, settings)
    return HisConfig(adapter=adapter, settings=dict(settings.raw),
                     use_his_catalogue=h.flag("use_his_catalogue", False))


def parse_printer(root: Table, ctx: Context) -> PrinterConfig:
    p = root.sub("printer")
    paper = p.integer("paper_mm", 80, 58, 80)
    if paper not in (58, 80):
        p.problem("paper_mm", "must be 58 or 80", "phải là 58 hoặc 80")
        paper = 80
    kind = p.choice("kind", PRINTER_KINDS, "none")
    target = p.text("target", "")
    if kind == "file":
        target = ctx.path(p, "target", target) or ""
    # A file printer keeps every ticket (masked name, insurance status) and handout (full
    # BHYT number) as an image on disk: only where everything else is simulated too.
    bhxh_url = ctx.parsed["bhxh"].url
    simulated = bhxh_url == "simulator" or bhxh_url.startswith("http://") or (
        ctx.parsed["his"].adapter == "simulator")
    if kind == "file" and not simulated:
        p.problem("kind", "file keeps patients' tickets as images on disk: only for the demo "
                  "and tests (simulated BHXH or HIS); use usb, serial, network or none",
                  "file lưu phiếu của bệnh nhân thành ảnh trên đĩa: chỉ dùng cho demo và "
                  "kiểm thử; hãy dùng usb, serial, network hoặc none")
    if kind not in ("none", "file") and not target:
        p.problem("target", f"required for a {kind} printer", f"bắt buộc với máy in {kind}")
    elif kind == "usb" and not re.fullmatch(r"[0-9a-fA-F]{4}:[0-9a-fA-F]{4}", target):
        p.problem("target", "a USB printer is 'vid:pid' in hex, e.g. 0416:5011",
                  "máy in USB ghi dạng 'vid:pid' (hệ 16), ví dụ 0416:5011")
    elif kind == "network" and not re.fullmatch(
            r"(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(:([1-9][0-9]{0,4}))?", target):
        p.problem("target", "a network printer is host or host:port, e.g. 10.0.0.5:9100",
                  "máy in mạng ghi dạng host hoặc host:port, ví dụ 10.0.0.5:9100")
    return PrinterConfig(kind=kind, target=target, paper_mm=paper)


def parse_ui(root: Table, ctx: Context) -> UiConfig:
    u = root.sub("ui")
    rotation = u.integer("rotation", 0, 0, 270)
    if rotation % 90:
        u.problem("rotation", "must be 0, 90, 180 or 270", "phải là 0, 90, 180 hoặc 270")
        rotation = 0
    staff_pin = u.text("staff_pin", "")
    pin_problem = setting_problem(staff_pin) if staff_pin else None
    if pin_problem:
        u.problem("staff_pin", pin_problem,
                  "phải có 6–12 chữ số (hoặc mã băm từ `kiosk pin hash`)")
    timeout = u.integer("idle_timeout_s", 45, 10, 600)
    warning = u.integer("idle_warning_s", 15, 3, 120)
    if warning >= timeout:
        u.problem("idle_warning_s", "must be shorter than idle_timeout_s",
                  "phải ngắn hơn idle_timeout_s")
    return UiConfig(
        language=u.choice("language", ("vi", "en"), "vi"),
        idle_timeout_s=timeout,
        idle_warning_s=warning,
        fullscreen=u.flag("fullscreen", True),
        rotation=rotation,
        staff_pin=staff_pin,
        opening_hours=u.hours("opening_hours", "00:00-24:00"),
    )


def parse_retention(root: Table, ctx: Context) -> RetentionConfig:
    r = root.sub("retention")
    return RetentionConfig(personal_data_hours=r.integer("personal_data_hours", 24, 0, 24 * 90),
                           unsynced_days=r.integer("unsynced_days", 7, 1, 90))


def parse_fleet(root: Table, ctx: Context) -> FleetConfig:
    fl = root.sub("fleet")
    known = len(fl.schema.problems)
    hawkbit_url = fl.url("hawkbit_url") or None
    if hawkbit_url and len(fl.schema.problems) == known:  # one line per problem, not two
        try:
            check_fleet_url(hawkbit_url)  # the updater's own rule (no credentials in it…)
        except ValueError as exc:
            fl.problem("hawkbit_url", str(exc), "địa chỉ máy chủ cập nhật không hợp lệ")
    kiosk_id = ctx.parsed["kiosk"].id
    fleet = FleetConfig(
        hawkbit_url=hawkbit_url,
        tenant=fl.text("tenant", "DEFAULT"),
        controller_id=fl.opt_str("controller_id") or (kiosk_id or None),
        token=fl.text("token", ""),
        public_keys=fl.strings("public_keys"),
        answer_deadline_s=fl.number("answer_deadline_s", 60.0, 1.0, 300.0),
    )
    for i, key in enumerate(fleet.public_keys):  # each one, so one bad key never hides others
        try:
            parse_public_key(key)
        except ValueError as exc:
            fl.problem(f"public_keys[{i}]", str(exc), "không phải khóa công khai Ed25519 hợp lệ")
    if hawkbit_url and not fleet.token:
        fl.problem("token", "required when fleet.hawkbit_url is set (put it in the secrets file)",
                   "bắt buộc khi có fleet.hawkbit_url (ghi vào tệp bí mật)")
    return fleet


def parse_services(root: Table, ctx: Context) -> tuple[ServiceConfig, ...]:
    services = []
    seen: set[str] = set()
    for s in root.tables("services"):
        code = s.text("code", required=True)
        if code in seen:
            s.problem("code", f"duplicate service code {code!r}", f"trùng mã dịch vụ {code!r}")
        seen.add(code)
        prefix = s.text("prefix", required=True)
        if prefix and not re.fullmatch(r"[A-Z0-9]{1,3}", prefix):
            s.problem("prefix", "must be 1–3 capital letters or digits",
                      "phải là 1–3 chữ in hoa hoặc chữ số")
        services.append(ServiceConfig(
            code=code,
            name=s.text("name", required=True),
            name_en=s.text("name_en", required=True),
            room=s.text("room", required=True),
            department=s.text("department", code),
            prefix=prefix,
            fee=s.integer("fee", 0, 0, 100_000_000),
            hours=s.hours("hours", "00:00-24:00"),
            icon=s.opt_str("icon"),
            ages=_ages(s),
            room_en=s.text("room_en"),
        ))
    if not services:
        root.problem("services", "at least one [[services]] entry is required",
                     "cần ít nhất một mục [[services]]")
    return tuple(services)


def _ages(s: Table) -> AgeRange | None:
    text = s.opt_str("ages")
    if text is None:
        return None
    try:
        return AgeRange.parse(text)
    except DomainError as exc:
        s.problem("ages", str(exc), f"khoảng tuổi {text!r} phải có dạng 0-15, 16- hoặc -5")
        return None


def parse_lobby(root: Table, ctx: Context) -> LobbyConfig | None:
    """`[lobby]`: absent means local numbering, exactly as without a lobby."""
    if root.get("lobby") is None:
        return None
    from urllib.parse import urlsplit

    lb = root.sub("lobby")
    url = lb.text("url", required=True)
    host = ""
    if url:
        parts = urlsplit(url)
        host = parts.hostname or ""
        if parts.scheme not in ("postgresql", "postgres"):
            lb.problem("url", "must look like postgresql://USER@HOST:PORT/DBNAME",
                       "phải có dạng postgresql://USER@HOST:PORT/DBNAME")
        elif not host or not parts.username or not parts.path.strip("/"):
            lb.problem("url", "must name the user, host and database: "
                       "postgresql://USER@HOST:PORT/DBNAME",
                       "phải ghi người dùng, máy chủ và cơ sở dữ liệu")
        elif parts.password is not None:
            lb.problem("url", "no password in the url: put it in the secrets file as "
                       "[lobby] password",
                       "không ghi mật khẩu trong url: ghi vào tệp bí mật, mục [lobby] password")
        elif parts.query or parts.fragment:
            lb.problem("url", "no options in the url: use the sslmode/sslrootcert keys",
                       "không ghi tùy chọn trong url: dùng khóa sslmode/sslrootcert")
    loopback = bool(_LOOPBACK.fullmatch(host))
    sslmode = lb.choice("sslmode", SSL_MODES, "prefer" if loopback else "verify-full")
    rootcert = ctx.path(lb, "sslrootcert", lb.opt_str("sslrootcert"))
    if url and not loopback and sslmode not in ("verify-ca", "verify-full"):
        lb.problem("sslmode", "must be verify-full (or verify-ca) for a lobby database on the "
                   "network: queue numbers travel the hospital LAN",
                   "phải là verify-full (hoặc verify-ca) khi cơ sở dữ liệu ở trên mạng")
    if sslmode in ("verify-ca", "verify-full") and not rootcert:
        lb.problem("sslrootcert", f"required with sslmode = {sslmode!r} (the CA file that "
                   "signed the server's certificate)",
                   f"bắt buộc khi sslmode = {sslmode!r} (tệp CA đã ký chứng chỉ máy chủ)")
    holding_key = lb.text("holding_key", "")
    if holding_key and not re.fullmatch(r"[0-9a-fA-F]{64}", holding_key):
        lb.problem("holding_key", "must be 64 hex digits (32 random bytes: "
                   "`openssl rand -hex 32`), the same on every kiosk of the lobby",
                   "phải là 64 chữ số hex (32 byte ngẫu nhiên: `openssl rand -hex 32`), "
                   "giống nhau trên mọi ki-ốt của sảnh")
    return LobbyConfig(url=url, password=lb.text("password", ""), sslmode=sslmode,
                       sslrootcert=rootcert, timeout_ms=lb.integer("timeout_ms", 300, 20, 10_000),
                       holding_key=holding_key.lower())


def parse_appointments(root: Table, ctx: Context) -> AppointmentsConfig:
    """`[appointments]`: absent means the defaults (follow-ups looked up, own numbers)."""
    a = root.sub("appointments")
    prefixes = a.sub("prefixes")
    pairs = tuple((str(k), prefixes.text(str(k), required=True)) for k in prefixes.raw)
    slip_pattern = a.text("slip_qr_pattern")
    if slip_pattern:
        from kiosk.domain.appointment import SlipQr

        try:
            SlipQr(pattern=slip_pattern)
        except (ValueError, re.error) as exc:
            a.problem("slip_qr_pattern", f"{exc}", f"biểu thức không hợp lệ: {exc}")
    return AppointmentsConfig(
        enabled=a.flag("enabled", True),
        window_before_h=a.number("window_before_h", 2.0, 0.0, 12.0),
        lookup_budget_s=a.number("lookup_budget_s", 1.5, 0.2, 5.0),
        queue_numbers=a.choice("queue_numbers", ("kiosk", "his"), "kiosk"),
        prefix=a.text("prefix", "H") or "H", prefixes=pairs,
        slip_qr_prefix=a.text("slip_qr_prefix"), slip_qr_pattern=slip_pattern)


FACE_MATCH_MODES = ("off", "offered", "required")


def parse_biometric(root: Table, ctx: Context) -> BiometricConfig:
    """`[biometric]`: absent or `face_match = "off"` leaves the journey as it was."""
    b = root.sub("biometric")
    return BiometricConfig(
        face_match=b.choice("face_match", FACE_MATCH_MODES, "off"),
        threshold=b.number("threshold", 0.5, 0.2, 0.9),
        min_face_px=b.integer("min_face_px", 90, 40, 1000),
        skip_under_age=b.integer("skip_under_age", 14, 0, 120),
        on_no_match=b.choice("on_no_match", ("register", "desk"), "register"),
        budget_ms=b.integer("budget_ms", 1000, 200, 10_000),
        attempts=b.integer("attempts", 2, 1, 5),
    )


# Section name -> parser, in dependency order (fleet reads kiosk's id). The `Config`
# field of the same name receives the result; `kiosk` and `services` are spread out.
SECTIONS: dict[str, Callable[[Table, Context], Any]] = {
    "kiosk": parse_kiosk,
    "facility": parse_facility,
    "devices": parse_devices,
    "bhxh": parse_bhxh,
    "his": parse_his,
    "printer": parse_printer,
    "ui": parse_ui,
    "retention": parse_retention,
    "fleet": parse_fleet,
    "lobby": parse_lobby,
    "appointments": parse_appointments,
    "biometric": parse_biometric,
    "services": parse_services,
}
