"""`kiosk doctor`: a technician's self-test of every device and server the kiosk needs.

Each check returns pass / warn / fail with a detail and a fix hint in Vietnamese
and English. Checks never raise: a broken driver is itself a finding.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from kiosk.config import Config
from kiosk.ops.doctor_face import check_face
from kiosk.runtime.safe_paths import read_only_uri
from kiosk.services.netreason import host_of, network_reason

Status = Literal["pass", "warn", "fail"]
PCSCD_SOCKET = Path("/run/pcscd/pcscd.comm")


def pcscd_socket() -> Path:
    """Where libpcsclite connects: its default, unless $PCSCLITE_CSOCK_NAME says."""
    return Path(os.environ.get("PCSCLITE_CSOCK_NAME") or PCSCD_SOCKET)


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    detail: str
    hint_vi: str = ""
    hint_en: str = ""

    def to_json(self) -> dict[str, str]:
        return asdict(self)


def _ok(name: str, detail: str) -> Check:
    return Check(name, "pass", detail)


def serves_patients(config: Config) -> bool:
    """A provisioned kiosk (or whatever reads /etc/kiosk/kiosk.toml, as the units do):
    the demo's stand-ins are failures there, not conveniences."""
    from kiosk.config import DEFAULT_PATH

    return config.provisioned or Path(config.source) == DEFAULT_PATH


def _demo_only(name: str, what: str, key: str, config: Config) -> Check:
    if serves_patients(config):
        return Check(name, "fail", f"{what} (demo only) in a kiosk serving patients",
                     f"Đặt {key} thành thiết bị thật (xem 'kiosk config new').",
                     f"Set {key} to the real device (see 'kiosk config new').")
    return _ok(name, f"{what} (demo)")


def check_pcscd(config: Config) -> Check:
    from kiosk.services.card_reader import ReaderChoice

    choice = ReaderChoice.parse(config.devices.reader)
    if choice.kind != "pcsc":
        return _ok("pcscd", f"not used: {choice.describe()}")
    socket = pcscd_socket()
    if socket.exists():
        return _ok("pcscd", f"listening on {socket}")
    return Check("pcscd", "fail", "pcscd is not running",
                 "Dịch vụ đầu đọc thẻ (pcscd) chưa chạy: "
                 "chạy 'systemctl enable --now pcscd.socket'.",
                 "The card service (pcscd) is not running: run "
                 "'systemctl enable --now pcscd.socket'.")



def check_reader(config: Config) -> Check:
    """The reader `kiosk run` will use (kiosk.services.card_reader decides for both)."""
    from drivers.pcsc import is_virtual_reader
    from kiosk.services.card_reader import NfcReader, ReaderChoice

    choice = ReaderChoice.parse(config.devices.reader)
    if choice.kind == "virtual":
        return _demo_only("reader", "virtual reader", "devices.reader", config)
    hint = ("Cắm đầu đọc thẻ vào cổng USB; nếu là ACR122U, kiểm tra đã chặn driver pn533_usb.",
            "Plug the card reader into USB; for an ACR122U check that pn533_usb is blacklisted.")
    if choice.kind == "nfc":
        return _check_nfc_reader(NfcReader(choice), hint)
    try:
        from drivers.emrtd.errors import EmrtdError
        from drivers.pcsc import list_readers

        readers = list_readers()
    except EmrtdError as exc:
        return Check("reader", "fail", str(exc), *hint)
    except Exception as exc:  # pyscard missing or broken
        return Check("reader", "fail", f"{type(exc).__name__}: {exc}", *hint)
    if choice.target is not None:
        readers = [r for r in readers if r.name.startswith(choice.target)]
    if not readers:
        what = f"no reader matching {config.devices.reader!r}" if choice.target else \
            "no card reader plugged in"
        return Check("reader", "fail", what, *hint)
    # vsmartcard's vpcd (tests, demo) is no reader a patient can use. With `auto` the kiosk
    # would read it like any other (kiosk.services.card_reader), so say so: it counts
    # only when the configuration names it.
    virtual = [r.name for r in readers if is_virtual_reader(r.name)]
    if choice.target is None and len(virtual) == len(readers):
        return Check("reader", "fail", "no card reader plugged in (only the test driver's "
                     f"virtual reader: {', '.join(virtual)})", *hint)
    if choice.target is None:
        readers = [r for r in readers if not is_virtual_reader(r.name)]
    with_card = [r for r in readers if r.card_present]
    names = ", ".join(r.name for r in readers)
    if not with_card:
        return Check("reader", "warn", f"{names}: no card on the reader to test with",
                     "Đặt một thẻ Căn cước lên đầu đọc rồi chạy lại để thử đọc thẻ.",
                     "Place a citizen ID card on the reader and run again to test a read.")
    atr = with_card[0].atr.hex() if with_card[0].atr else "?"
    return _ok("reader", f"{names}: card present (ATR {atr})")


def _check_nfc_reader(reader: Any, hint: tuple[str, str]) -> Check:
    from drivers.emrtd.errors import EmrtdError

    try:
        present = reader.card_present()
    except EmrtdError as exc:
        return Check("reader", "fail", str(exc), *hint)
    name = reader.choice.describe()
    if not present:
        return Check("reader", "warn", f"{name}: no card on the reader to test with",
                     "Đặt một thẻ Căn cước lên đầu đọc rồi chạy lại để thử đọc thẻ.",
                     "Place a citizen ID card on the reader and run again to test a read.")
    return _ok("reader", f"{name}: card present")


def check_camera(config: Config, seconds: float = 1.5) -> Check:
    spec = config.devices.camera
    if spec == "virtual":
        return _demo_only("camera", "virtual camera", "devices.camera", config)
    hint = ("Kiểm tra cáp camera; dùng đường dẫn /dev/v4l/by-id/… trong devices.camera.",
            "Check the camera cable; use a /dev/v4l/by-id/… path in devices.camera.")
    try:
        from drivers.camera import open_source

        source = open_source(spec, config.devices.camera_width, config.devices.camera_height,
                             config.devices.camera_fps)
        source.open()
    except Exception as exc:
        return Check("camera", "fail", f"cannot open {spec!r}: {exc}", *hint)
    frames, started = 0, time.monotonic()
    try:
        while time.monotonic() - started < seconds:
            if source.read() is not None:
                frames += 1
    except Exception as exc:
        return Check("camera", "fail", f"read failed: {exc}", *hint)
    finally:
        source.close()
    fps = frames / max(time.monotonic() - started, 1e-6)
    if frames == 0:
        return Check("camera", "fail", "no frames", *hint)
    if fps < 5:
        return Check("camera", "warn", f"{fps:.1f} frames/s (QR reading needs ≥ 5)", *hint)
    return _ok("camera", f"{fps:.1f} frames/s")


def check_printer(config: Config) -> Check:
    kind, target = config.printer.kind, config.printer.target
    if kind == "none":
        return Check("printer", "warn", "no printer configured",
                     "Chưa cấu hình máy in: bệnh nhân sẽ phải nhớ số thứ tự.",
                     "No printer configured: patients must remember their number.")
    if kind == "file":
        tickets = directory = Path(target or config.state_dir / "tickets")
        while not directory.exists() and directory != directory.parent:
            directory = directory.parent  # the kiosk creates it; doctor never does
        try:
            # O_EXCL|O_NOFOLLOW: a link planted at the probe's name is never followed.
            probe = directory / f".doctor-probe-{os.getpid()}"
            os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW,
                             0o600))
            probe.unlink()
        except OSError as exc:
            return Check("printer", "fail", f"cannot write tickets to {directory}: {exc}",
                         f"Cấp quyền ghi thư mục {directory} cho người dùng kiosk.",
                         f"Give the kiosk user write access to {directory}.")
        return _ok("printer", f"file printer writing to {tickets}")
    try:
        from drivers.printer import EscposPrinter

        status = EscposPrinter.open(kind, target, paper_mm=config.printer.paper_mm).status()
    except Exception as exc:
        return Check("printer", "fail", f"{kind} printer {target!r}: {exc}",
                     "Bật máy in, kiểm tra cáp và nắp máy in.",
                     "Switch the printer on, check its cable and cover.")
    if status.paper == "out":
        return Check("printer", "fail", "paper out", "Thay cuộn giấy in.",
                     "Replace the paper roll.")
    if status.online is False:
        return Check("printer", "fail", "printer offline (cover open or error)",
                     "Đóng nắp máy in và tắt/bật lại.", "Close the cover and power-cycle it.")
    if status.paper == "low":
        return Check("printer", "warn", "paper low", "Chuẩn bị cuộn giấy mới.",
                     "Have a new paper roll ready.")
    return _ok("printer", f"{kind} printer online")


def check_bhxh(config: Config) -> Check:
    if config.bhxh.url == "simulator":
        return Check("bhxh", "warn", "BHXH gateway simulator configured (demo only)",
                     "Đặt bhxh.url thành cổng giám định BHXH thật khi triển khai.",
                     "Set bhxh.url to the real BHXH gateway before going live.")
    try:
        from kiosk.services.bhxh.client import BhxhClient
        from kiosk.services.bhxh.errors import GatewayConfigError

        client = BhxhClient.from_config(config.bhxh)
        try:
            client.verify_credentials(budget_s=min(config.bhxh.budget_s, 8.0))
        finally:
            client.close()
    except GatewayConfigError as exc:
        return Check("bhxh", "fail", str(exc),
                     "Kiểm tra tài khoản và mật khẩu cơ sở "
                     "(bhxh.username, mật khẩu trong tệp bí mật).",
                     "Check the facility account and password (bhxh.username, secrets file).")
    except Exception as exc:
        return Check("bhxh", "fail",
                     f"gateway unreachable: {host_of(config.bhxh.url)}: {_why(exc)}",
                     "Kiểm tra mạng và tường lửa tới cổng BHXH; bệnh nhân vẫn đăng ký được.",
                     "Check the network/firewall to the BHXH gateway; patients can still register.")
    return _ok("bhxh", "token issued for the facility account")


def check_his(config: Config) -> Check:
    if config.his.adapter == "simulator" and not config.state_dir.exists():
        import dataclasses
        import tempfile

        # The simulator keeps its data under state_dir: doctor creates no folder there.
        with tempfile.TemporaryDirectory(prefix="kiosk-doctor-") as scratch:
            return check_his(dataclasses.replace(config, state_dir=Path(scratch)))
    try:
        from kiosk.services.his import build_adapter

        adapter = build_adapter(config)
        services = adapter.catalogue()
    except Exception as exc:
        url = str(config.his.settings.get("url") or "")
        where = host_of(url) if url else "the embedded simulator"
        return Check("his", "fail", f"{config.his.adapter} at {where}: {_why(exc)}",
                     "Kiểm tra địa chỉ và tài khoản HIS trong [his]; "
                     "đăng ký vẫn được lưu và gửi sau.",
                     "Check the HIS address and account in [his]; registrations queue until it "
                     "answers.")
    return _ok("his", f"{config.his.adapter}: answered ({len(services)} services)")


def _why(exc: BaseException) -> str:
    """A known network cause, else the error's own words (the kiosk's own error
    messages name settings and HTTP statuses, never patient data)."""
    reason = network_reason(exc)
    return reason if reason != type(exc).__name__ else f"{type(exc).__name__}: {exc}"[:300]


def _ntp_synchronized(run: Callable[..., Any] = subprocess.run) -> bool | None:
    if Path("/run/systemd/timesync/synchronized").exists():
        return True
    if shutil.which("timedatectl") is None:
        return None
    try:
        out = run(["timedatectl", "show", "--property=NTPSynchronized", "--value"],
                  capture_output=True, text=True, timeout=5, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    value = out.stdout.strip()
    return {"yes": True, "no": False}.get(value)


def check_clock(config: Config) -> Check:
    synced = _ntp_synchronized()
    now = dt.datetime.now(dt.UTC)
    if now.year < 2025:
        return Check("clock", "fail", f"clock says {now:%Y-%m-%d}",
                     "Đồng hồ máy sai: bật đồng bộ giờ (timedatectl set-ntp true).",
                     "The clock is wrong: enable time sync (timedatectl set-ntp true).")
    if synced is True:
        return _ok("clock", "synchronised (NTP)")
    return Check("clock", "warn", "time synchronisation not confirmed",
                 "Bật đồng bộ giờ: chứng chỉ TLS và ngày hiệu lực thẻ BHYT cần giờ đúng.",
                 "Enable time sync: TLS certificates and BHYT validity dates need a correct clock.")


def check_disk(config: Config) -> Check:
    path = config.state_dir if config.state_dir.exists() else config.state_dir.parent
    while not path.exists():
        path = path.parent
    free = shutil.disk_usage(path).free
    detail = f"{free / 2**30:.1f} GiB free under {path}"
    if free < 200 * 2**20:
        return Check("disk", "fail", detail, "Ổ đĩa gần đầy: xóa bớt tệp nhật ký cũ.",
                     "The disk is nearly full: remove old logs.")
    if free < 2**30:
        return Check("disk", "warn", detail, "Ổ đĩa còn ít chỗ trống.", "Disk space is low.")
    return _ok("disk", detail)


def check_outbox(config: Config) -> Check:
    db_path = config.database_path
    if not db_path.exists():
        return _ok("outbox", "no registrations yet")
    import sqlite3

    try:
        conn = sqlite3.connect(read_only_uri(db_path), uri=True, timeout=5)
        try:
            pending, oldest = conn.execute(
                "SELECT count(*), min(created_at) FROM outbox WHERE state = 'pending'").fetchone()
            dead = conn.execute("SELECT count(*) FROM outbox WHERE state = 'dead'").fetchone()[0]
            unsynced, first = conn.execute(
                "SELECT count(*), min(created_at) FROM registrations WHERE sync_state != "
                "'synced' AND purged_at IS NULL").fetchone()
        finally:
            conn.close()
    except sqlite3.Error as exc:
        return Check("outbox", "fail", f"database unreadable: {exc}",
                     "Cơ sở dữ liệu lỗi: liên hệ bộ phận CNTT.", "Database error: call IT.")
    age_h = 0.0
    if oldest:
        age_h = (dt.datetime.now(dt.UTC) - dt.datetime.fromisoformat(oldest)).total_seconds() / 3600
    detail = f"{pending} waiting (oldest {age_h:.1f} h), {dead} dead letters"
    if unsynced:
        # Staff must act before retention forgets them (retention.unsynced_days).
        purge_at = dt.datetime.fromisoformat(first) + dt.timedelta(
            days=config.retention.unsynced_days)
        detail += (f"; {unsynced} registrations not in the HIS, the oldest purged "
                   f"{purge_at.isoformat(timespec='minutes')}")
    if dead or age_h > 4:
        return Check("outbox", "warn", detail,
                     "Có đăng ký chưa gửi được sang HIS: xem 'kiosk outbox list'.",
                     "Some registrations have not reached the HIS: see 'kiosk outbox list'.")
    return _ok("outbox", detail)


def check_access(config: Config) -> Check:
    """The configuration, secrets, state folder and database as the `kiosk` user sees
    them (the units run as that user; root reads everything)."""
    if config.demo:
        return _ok("access", "built-in demo: no configuration files")
    from kiosk.ops.access import probe_as_service_user

    who, problems = probe_as_service_user(Path(config.source), config.state_dir)
    if problems:
        return Check("access", "fail", "; ".join(problems),
                     "Tệp cấu hình và bí mật phải là 0640 root:kiosk, thư mục dữ liệu thuộc "
                     "kiosk (chạy lại 'kiosk provision').",
                     "The configuration and secrets must be 0640 root:kiosk, the state folder "
                     "the kiosk user's (run 'kiosk provision' again).")
    return _ok("access", f"{who} reads the configuration and secrets, writes "
               f"{config.state_dir}")


def check_trust_store(config: Config) -> Check:
    """The CSCA certificates chips are verified against: without them every genuine
    chip reads as untrusted."""
    from drivers.emrtd.passive import TrustStore

    path = config.devices.trust_store
    if config.devices.reader == "virtual" and not path:
        return _demo_only("trust_store", "the simulated card's own CSCA",
                          "devices.trust_store", config)
    hint = ("Chép chứng chỉ CSCA (.pem/.der) vào thư mục devices.trust_store.",
            "Copy the CSCA certificates (.pem/.der) into the devices.trust_store folder.")
    if not path:
        return Check("trust_store", "fail" if serves_patients(config) else "warn",
                     "no devices.trust_store: every genuine chip reads as untrusted", *hint)
    try:
        store = TrustStore.load(Path(path))
    except OSError as exc:
        return Check("trust_store", "fail", f"{path}: {exc.strerror or exc}", *hint)
    if not store.anchors:
        return Check("trust_store", "fail", f"no CSCA certificate in {path}", *hint)
    if store.problems:
        return Check("trust_store", "warn", f"{len(store.anchors)} CSCA certificates in {path}; "
                     f"unreadable: {'; '.join(store.problems)[:300]}", *hint)
    return _ok("trust_store", f"{len(store.anchors)} CSCA certificates in {path}")


def check_lobby(config: Config) -> Check:
    """The shared lobby database. Away is a warning, not a failure: the kiosk then
    prints offline numbers (with its id in them) and catches up by itself. A refused
    login or certificate, a missing schema, or this kiosk's clock far from the
    server's (numbers follow the server's day, decision 0130) fail."""
    if config.lobby is None:
        return _ok("lobby", "no [lobby]: queue numbers from this kiosk's own database")
    import time

    from kiosk.domain.queue import queue_day
    from kiosk.lobby.admin import status
    from kiosk.lobby.client import SKEW_FAIL_S, SKEW_WARN_S, masked_url
    from kiosk.lobby.schema import LATEST

    url = masked_url(config.lobby.url)
    today = dt.date.fromisoformat(queue_day(dt.datetime.now(dt.UTC), config.facility.timezone))
    asked = time.time()
    out = status(config.lobby, config.facility.code, today, config.facility.timezone)
    answered = time.time()
    if out["state"] == "refused":
        return Check("lobby", "fail", f"{url}: refused: {out['error']}",
                     "CSDL sảnh từ chối: kiểm tra tên người dùng và tên máy trong [lobby] url, "
                     "mật khẩu [lobby] password trong tệp bí mật và tệp CA [lobby] sslrootcert.",
                     "The lobby database refused: check the user and host in [lobby] url, "
                     "[lobby] password in the secrets file and the CA file [lobby] "
                     "sslrootcert.")
    if out["state"] == "unreachable":
        return Check("lobby", "warn", f"{url}: unreachable: {out['error']}",
                     "Không kết nối được CSDL sảnh: ki-ốt vẫn cấp số (số có mã ki-ốt, ví dụ "
                     "A-K3-007) và tự trở lại số chung khi kết nối lại. Kiểm tra mạng và "
                     "máy chủ PostgreSQL.",
                     "The lobby database is unreachable: the kiosk still issues numbers (with "
                     "its id in them, e.g. A-K3-007) and returns to shared numbers by itself. "
                     "Check the network and the PostgreSQL server.")
    version = out["schema_version"] or 0
    if version < LATEST:
        return Check("lobby", "fail", f"{url}: schema v{version}, this kiosk needs v{LATEST}",
                     "Chạy 'kiosk lobby init --url postgresql://CHỦ_CSDL@MÁY/lobby' một lần.",
                     "Run 'kiosk lobby init --url postgresql://OWNER@HOST/lobby' once.")
    mine = [k for k in out["kiosks"] if k["kiosk_id"] == config.kiosk_id]
    if not mine:
        return Check("lobby", "fail", f"{url}: kiosk {config.kiosk_id} is not provisioned",
                     f"Chủ CSDL sảnh chạy 'kiosk lobby add-kiosk {config.kiosk_id} --login "
                     "TÊN_ĐĂNG_NHẬP': đến khi đó ki-ốt chỉ cấp số riêng.",
                     f"The lobby's owner runs 'kiosk lobby add-kiosk {config.kiosk_id} --login "
                     "LOGIN': until then this kiosk prints offline numbers only.")
    # The server's clock_timestamp() was read between `asked` and `answered`: the
    # skew is known to within that window, and only a skew beyond it is reported.
    server = dt.datetime.fromisoformat(out["server_time"]).timestamp()
    window = answered - asked
    skew = 0.0 if asked <= server <= answered else (
        server - answered if server > answered else server - asked)
    detail = (f"{url}: schema v{version}, {len(out['kiosks'])} kiosk(s); clock "
              f"{-skew:+.1f} s from the server's (±{window:.1f} s)")
    if abs(skew) > SKEW_FAIL_S:
        return Check("lobby", "fail", detail, *_SKEW_HINTS)
    if abs(skew) > SKEW_WARN_S:
        return Check("lobby", "warn", detail, *_SKEW_HINTS)
    if not config.lobby.holding_key:
        return Check("lobby", "warn", f"{detail}; no [lobby] holding_key",
                     "Thiếu [lobby] holding_key trong tệp bí mật: người bệnh có thể lấy số "
                     "thứ hai ở ki-ốt khác của sảnh (docs/deployment.md, mục 6).",
                     "No [lobby] holding_key in the secrets file: a patient can get a second "
                     "number at another kiosk of the lobby (docs/deployment.md, section 6).")
    return _ok("lobby", detail)


_SKEW_HINTS = ("Đồng hồ ki-ốt lệch so với máy chủ CSDL sảnh: số thứ tự theo ngày của máy "
               "chủ, nhưng giờ in trên phiếu và nhật ký theo ki-ốt. Kiểm tra NTP "
               "(timedatectl).",
               "This kiosk's clock is off the lobby server's: numbers follow the server's "
               "day, but ticket times and logs follow the kiosk. Check NTP (timedatectl).")


CHECKS: list[Callable[[Config], Check]] = [
    check_access, check_pcscd, check_reader, check_trust_store, check_camera, check_printer,
    check_bhxh, check_his, check_clock, check_disk, check_outbox, check_lobby, check_face,
]
# What an update's health check insists on (devices may legitimately be unplugged).
CORE_CHECKS = {"disk", "outbox", "his", "bhxh", "clock"}


def check_names() -> list[str]:
    return [check.__name__.removeprefix("check_") for check in CHECKS]


def run_checks(config: Config, only: set[str] | None = None) -> list[Check]:
    """Run the checks (all, or those named in `only`; unknown names are the caller's
    error to report: see `unknown_checks`)."""
    results = []
    for check in CHECKS:
        name = check.__name__.removeprefix("check_")
        if only is not None and name not in only:
            continue
        try:
            results.append(check(config))
        except Exception as exc:  # a check's own bug is reported, not raised
            results.append(Check(name, "fail", f"check crashed: {type(exc).__name__}: {exc}"))
    return results


def unknown_checks(names: list[str]) -> list[str]:
    known = set(check_names())
    return [n for n in names if n not in known]


def config_failure(problems: list[str]) -> Check:
    """A configuration that does not load is itself the first finding."""
    return Check("config", "fail", "; ".join(problems),
                 "Cấu hình sai: chạy 'kiosk config check' để xem từng khóa cần sửa.",
                 "The configuration is invalid: run 'kiosk config check' to see each key to fix.")


def report_json(results: list[Check], config: Config | None = None,
                config_path: str | None = None) -> dict[str, Any]:
    """The report a technician reads out on the phone: which kiosk, which release, which
    configuration (and whether it is the demo one), then every check."""
    from kiosk import __version__

    return {
        "kiosk_id": config.kiosk_id if config else None,
        "version": __version__,
        "config": config.source if config else config_path,
        "demo": config.demo if config else False,
        "checked_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "checks": [r.to_json() for r in results],
        "ok": all(r.status != "fail" for r in results),
    }
