"""Typed configuration sections. Field defaults are the documented defaults."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kiosk.domain.ages import AgeRange


@dataclass(frozen=True)
class FacilityConfig:
    code: str  # MA_CSKCB, 5 characters
    name: str
    timezone: str = "Asia/Ho_Chi_Minh"
    logo: str | None = None
    health_book_url: str | None = None  # the hospital's instruction page (handout QR)
    queue_format: str = "{prefix}-{seq:03d}"  # queue number, per department per day


@dataclass(frozen=True)
class DevicesConfig:
    reader: str = "auto"  # "auto", a PC/SC reader name (substring), "nfc:usb", "virtual"
    camera: str = "0"  # V4L2 index, device path, video/image file, or "virtual"
    camera_width: int = 1280
    camera_height: int = 720
    camera_fps: int = 30
    trust_store: str | None = None  # CSCA certificates directory / master list
    # Which chips count: every failed check refuses a card whatever this says; it can only
    # ask for more ("trusted": a chain to the trust store; "trusted_active": and active
    # authentication). Decision 0110.
    chip_policy: str = "standard"


@dataclass(frozen=True)
class BhxhConfig:
    url: str
    username: str
    password: str  # from the secrets file
    operator_name: str
    operator_cccd: str
    timeout_s: float = 5.0
    budget_s: float = 6.0  # longest a patient waits for a decision
    verify_tls: bool = True
    # Send the QĐ 130 check-in table (XML0) for insured visits; usually the HIS does.
    checkin: bool = False
    province_code: str = ""  # maTinh; "" = the first two digits of facility.code


@dataclass(frozen=True)
class HisConfig:
    adapter: str  # "simulator", "fhir", "gnuhealth", "rest"
    settings: dict[str, Any] = field(default_factory=dict)  # adapter-specific, secrets merged
    # Take service names, rooms and fees from the HIS's own list (refreshed by the sync).
    use_his_catalogue: bool = False


@dataclass(frozen=True)
class ServiceConfig:
    code: str
    name: str
    name_en: str
    room: str
    department: str  # queue numbers are per department per day
    prefix: str  # queue number prefix, e.g. "B"
    fee: int = 0  # VND
    hours: str = "00:00-24:00"
    ages: AgeRange | None = None  # `ages = "0-15"`: only patients of those ages
    room_en: str = ""  # the room in English ("" : `room` is shown in both languages)
    icon: str | None = None


@dataclass(frozen=True)
class PrinterConfig:
    kind: str = "none"  # "usb", "serial", "network", "none"; "file" only for demo and tests
    target: str = ""  # file dir, "vid:pid", serial device, host[:port]
    paper_mm: int = 80


@dataclass(frozen=True)
class UiConfig:
    language: str = "vi"
    idle_timeout_s: int = 45
    idle_warning_s: int = 15
    fullscreen: bool = True
    rotation: int = 0
    staff_pin: str = ""  # from the secrets file
    opening_hours: str = "00:00-24:00"


@dataclass(frozen=True)
class RetentionConfig:
    personal_data_hours: int = 24  # after the HIS confirmed the registration
    unsynced_days: int = 7  # registrations the HIS never confirmed (failed or still waiting)


@dataclass(frozen=True)
class FleetConfig:
    hawkbit_url: str | None = None
    tenant: str = "DEFAULT"
    controller_id: str | None = None
    token: str = ""  # from the secrets file
    public_keys: tuple[str, ...] = ()  # Ed25519 release keys, PEM or raw hex
    # One DDI answer, whole (and a download's fixed part, plus its size at 16 KiB/s),
    # each tried 3 times (decisions 0103, 0106): bounds a round against a trickling server.
    answer_deadline_s: float = 60.0


@dataclass(frozen=True)
class LobbyConfig:
    """The PostgreSQL database the kiosks of one lobby share (decision 0070)."""

    url: str  # postgresql://USER@HOST:PORT/DBNAME, no password in it
    password: str = ""  # from the secrets file
    sslmode: str = "prefer"  # libpq's; verify-full required off loopback
    sslrootcert: str | None = None  # CA file that signed the server's certificate
    timeout_ms: int = 300  # longest a patient waits for a shared number
    # A secret the kiosks of one lobby share (64 hex digits, from the secrets file): the
    # key of the hashes that tell the lobby a patient holds a number (decision 0143).
    holding_key: str = ""


@dataclass(frozen=True)
class AppointmentsConfig:
    """`[appointments]`: follow-up visits (giấy hẹn khám lại), decision 0150."""

    enabled: bool = True
    window_before_h: float = 2.0  # today's window opens this long before now
    lookup_budget_s: float = 1.5  # longest a patient waits for the HIS's answer
    # "kiosk": the kiosk numbers appointment check-ins, its own prefix per department;
    # "his": the HIS's order number when it gives one (else the kiosk's).
    queue_numbers: str = "kiosk"
    prefix: str = "H"
    prefixes: tuple[tuple[str, str], ...] = ()  # (department, prefix)
    slip_qr_prefix: str = ""  # the appointment slip's QR: "HEN:" + the appointment id
    slip_qr_pattern: str = ""  # or a regular expression with one group (the id)

    def prefix_for(self, department: str) -> str:
        return dict(self.prefixes).get(department, self.prefix)


@dataclass(frozen=True)
class BiometricConfig:
    """`[biometric]`: the face check after a chip read (issue 29, decisions 0160–0163)."""

    face_match: str = "off"  # "off", "offered" (the patient may decline), "required"
    threshold: float = 0.5  # descriptor distance; decision 0161 gives the evidence
    min_face_px: int = 90  # a face narrower than this in the camera frame is too far
    skip_under_age: int = 14  # children younger than this are not asked
    # After a no-match (and its retry): "register" (still registered, not verified,
    # flagged for the desk) or "desk" (sent to the reception desk, not registered).
    on_no_match: str = "register"
    budget_ms: int = 1000  # the longest one decision may take, frames included
    attempts: int = 2  # a no-match is final after this many tries


@dataclass(frozen=True)
class Config:
    kiosk_id: str
    state_dir: Path
    facility: FacilityConfig
    devices: DevicesConfig
    bhxh: BhxhConfig
    his: HisConfig
    printer: PrinterConfig
    ui: UiConfig
    retention: RetentionConfig
    fleet: FleetConfig
    services: tuple[ServiceConfig, ...]
    source: str  # the file it came from, or "built-in demo"
    demo: bool = False
    provisioned: bool = False  # `kiosk.provisioned`: written by `kiosk provision`
    lobby: LobbyConfig | None = None  # None: queue numbers from this kiosk's own SQLite
    appointments: AppointmentsConfig = field(default_factory=AppointmentsConfig)
    biometric: BiometricConfig = field(default_factory=BiometricConfig)

    @property
    def database_path(self) -> Path:
        return self.state_dir / "kiosk.sqlite3"

    def service(self, code: str) -> ServiceConfig | None:
        return next((s for s in self.services if s.code == code), None)
