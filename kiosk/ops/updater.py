"""One fleet-update round (`kiosk update --once`): poll hawkBit, and if a deployment
is offered: verify the signed manifest → refuse downgrades → fetch the missing
wheels (capped, hashed) → install → stop services → back up the database →
switch → restart → health check → only then report success. Any failure stops
the services, restores the database if the new release migrated it, switches
back and reports failure.

The updater's own files live in `updater_dir` (/var/lib/kiosk-update, root
only), never in the kiosk's state directory:
    downloads/          verified wheels by sha256, partial downloads
    highest-version     anti-rollback: the highest release ever confirmed
    pending.json        written before the switch, removed after the verdict: a
                        round killed in between is rolled back by the next one
    database.sqlite3    the database as the old release left it (while pending)
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import shutil
import sqlite3
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

from kiosk.ops import fetch
from kiosk.ops.hawkbit import DdiClient, DdiError, Deployment, parse_sleep
from kiosk.ops.install import (
    InstallError,
    current_version,
    install_wheels,
    installed_releases,
    is_installed,
    release_dir,
    switch_current,
)
from kiosk.ops.release import BundleError, version_key
from kiosk.runtime.safe_paths import foreign_owner, private_dir, run_as_kwargs, write_in
from kiosk.store import backup as db_backup

log = logging.getLogger(__name__)

Outcome = Literal["nothing", "deferred", "success", "rejected", "rolled_back", "error"]
HealthCheck = Callable[[Path], tuple[bool, str]]
SERVICES = ("kiosk-sync.service", "kiosk-ui.service")


@dataclass
class UpdateSettings:
    root: Path
    state_dir: Path  # the kiosk's: only last-update.json (metrics) is written there
    public_keys: tuple[str, ...]
    updater_dir: Path | None = None  # default: <root>/var/lib/kiosk-update
    database: Path | None = None  # backed up before a new release opens it
    restart: Callable[[], None] = lambda: None
    stop: Callable[[], None] = lambda: None
    health_check: HealthCheck | None = None
    opening_hours: str = "00:00-24:00"
    timezone: str = "Asia/Ho_Chi_Minh"
    now: Callable[[], dt.datetime] = field(default=lambda: dt.datetime.now(dt.UTC))
    device_attributes: dict[str, str] = field(default_factory=dict)
    serving_patient: Callable[[], bool] = lambda: False
    progress: Callable[[str], None] = lambda stage: None
    arch: str | None = None  # the releases this kiosk installs (default: its own machine's)

    @property
    def own_dir(self) -> Path:
        return self.updater_dir or self.root / "var" / "lib" / "kiosk-update"


@dataclass(frozen=True)
class Result:
    outcome: Outcome
    detail: str
    poll_sleep_s: float = 300.0
    downloaded_bytes: int = 0
    unreachable: bool = False  # the server did not answer (network, 5xx): exit 5


def systemctl(action: str, units: tuple[str, ...] = SERVICES) -> Callable[[], None]:
    """`systemctl restart` waits for READY=1 of Type=notify units and fails if they don't
    come up, so its exit status is the "services report READY" half of the check."""
    def run() -> None:
        subprocess.run(["systemctl", action, *units], check=True, timeout=180)
    return run


def systemctl_restart(units: tuple[str, ...] = SERVICES) -> Callable[[], None]:
    return systemctl("restart", units)


def doctor_health_check(config_path: str | None, timeout_s: float = 120.0,
                        state_dir: Path | None = None) -> HealthCheck:
    """Run the NEW release's own `kiosk doctor` core checks, as the owner of the
    kiosk's `state_dir` (the services' user): root does not open the kiosk's files."""
    def check(release: Path) -> tuple[bool, str]:
        venv = release / "venv" / "bin"
        # Through the release's interpreter, not the script's #! line: that names the
        # final path (/opt/kiosk/...), which a release under a test or image root is not at.
        cmd = [str(venv / "python"), str(venv / "kiosk")]
        if config_path:
            cmd += ["--config", config_path]
        cmd += ["doctor", "--json", "--only", "disk", "--only", "outbox", "--only", "clock"]
        owner = foreign_owner(state_dir) if state_dir and state_dir.exists() else None
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s,
                                  check=False, cwd="/", **run_as_kwargs(owner))
        except (OSError, subprocess.TimeoutExpired) as exc:
            return False, f"health check did not run: {exc}"
        if proc.returncode != 0:
            return False, f"doctor exit {proc.returncode}: {(proc.stdout + proc.stderr)[-300:]}"
        return True, "doctor core checks passed"
    return check


def _inside_opening_hours(settings: UpdateSettings) -> bool:
    if settings.opening_hours in ("00:00-24:00", ""):
        return False  # no hours configured: any time is fine
    start, end = settings.opening_hours.split("-")
    local = settings.now().astimezone(ZoneInfo(settings.timezone)).strftime("%H:%M")
    return start <= local < end


# -- anti-rollback -----------------------------------------------------------------------
def highest_version(settings: UpdateSettings) -> str | None:
    """The highest release ever confirmed here (or the current one, on a fresh kiosk)."""
    path = settings.own_dir / "highest-version"
    candidates = [current_version(settings.root)]
    with contextlib.suppress(OSError):
        candidates.append(path.read_text().strip())
    best: str | None = None
    for version in candidates:
        try:
            if version and (best is None or version_key(version) > version_key(best)):
                best = version
        except BundleError:
            continue
    return best


def _record_highest(settings: UpdateSettings, version: str) -> None:
    best = highest_version(settings)
    if best is None or version_key(version) >= version_key(best):
        _write_atomic(settings.own_dir / "highest-version", version + "\n")


def _write_atomic(path: Path, text: str) -> None:
    write_in(private_dir(path.parent), path.name, text.encode(), 0o600)


# -- one round -----------------------------------------------------------------------------
def update_once(client: DdiClient, settings: UpdateSettings) -> Result:
    private_dir(settings.own_dir)  # root's own state: refused if anyone else can write it
    recovered = recover(settings)
    if recovered:
        log.warning("%s", recovered)
    try:
        base = client.poll()
    except DdiError as exc:
        return Result("error", f"poll failed: {exc}", unreachable=not exc.final)
    sleep = parse_sleep(_dig(base, "config", "polling", "sleep"))
    links = base.get("_links")
    links = links if isinstance(links, dict) else {}
    if "configData" in links and settings.device_attributes:
        try:
            client.config_data(_dig(links, "configData", "href"), settings.device_attributes)
        except DdiError as exc:
            log.warning("configData not accepted: %s", exc)
    if "cancelAction" in links:
        try:
            action = client.cancel_action(_dig(links, "cancelAction", "href"))
            # Nothing is installed between polls, so a cancel is always honoured here.
            client.feedback(action, "closed", "success", ["cancelled before install"],
                            kind="cancelAction")
        except DdiError as exc:
            return Result("error", f"cancel failed: {exc}", sleep)
        return Result("nothing", f"action {action} cancelled", sleep)
    if "deploymentBase" not in links:
        return Result("nothing", "no deployment offered", sleep)
    try:
        deployment = client.deployment(_dig(links, "deploymentBase", "href"))
    except DdiError as exc:
        return Result("error", f"deployment unreadable: {exc}", sleep,
                      unreachable=exc.unanswered)
    return _deploy(client, settings, deployment, sleep)


def _dig(data: Any, *keys: str) -> Any:
    for key in keys:
        data = data.get(key) if isinstance(data, dict) else None
    return data


def _deploy(client: DdiClient, settings: UpdateSettings, d: Deployment, sleep: float) -> Result:
    def feedback(execution: str, finished: str, *details: str) -> None:
        try:
            client.feedback(d.action_id, execution, finished, list(details))
        except DdiError as exc:
            log.warning("feedback not accepted: %s", exc)

    def refuse(detail: str, downloaded: int = 0) -> Result:
        fetch.clear(downloads)  # a refused update leaves nothing behind
        feedback("closed", "failure", detail)
        return Result("rejected", detail, sleep, downloaded)

    def undelivered(exc: fetch.FetchError) -> Result | None:
        """The server did not deliver (too slow, down): exit 5, no verdict sent, the
        action stays open for the next round (0106)."""
        return Result("error", f"download failed: {exc}", sleep, unreachable=True) \
            if exc.unanswered else None

    if d.update == "skip" and d.download == "skip":
        return Result("nothing", "deployment says skip", sleep)
    if d.maintenance_window == "unavailable":
        feedback("proceeding", "none", "waiting for the maintenance window")
        return Result("deferred", "maintenance window closed", sleep)
    if d.update != "forced" and _inside_opening_hours(settings):
        feedback("proceeding", "none", "waiting until the lobby is closed")
        return Result("deferred", "inside opening hours", sleep)
    if settings.serving_patient():
        # Even a forced update waits: a session ends within the idle timeout.
        feedback("proceeding", "none", "waiting until no patient is at the kiosk")
        return Result("deferred", "a patient is using the kiosk", sleep)

    downloads = settings.own_dir / "downloads"
    settings.progress("manifest")
    try:
        manifest = fetch.fetch_manifest(client, d.artifacts, settings.public_keys,
                                        settings.arch)
    except fetch.FetchError as exc:
        return undelivered(exc) or refuse(f"rejected: {exc}")
    previous = current_version(settings.root)
    highest = highest_version(settings)
    if highest and version_key(manifest.version) < version_key(highest):
        if manifest.downgrade is None:
            return refuse(f"rejected: {manifest.version} is older than {highest}, the highest "
                          "release installed here (a downgrade must be signed as allowed)")
        why = manifest.downgrade.refusal(previous, settings.now())
        if why:
            return refuse(f"rejected: downgrade to {manifest.version}: {why}")
    if manifest.version == previous and is_installed(settings.root, previous):
        fetch.clear(downloads)
        feedback("closed", "success", f"{manifest.version} already running")
        return Result("success", "already current", sleep)

    feedback("proceeding", "none", f"downloading {manifest.version}")
    settings.progress("download")
    try:
        fetched = fetch.fetch_wheels(client, manifest, d.artifacts, downloads,
                                     installed_releases(settings.root))
    except fetch.FetchError as exc:
        return undelivered(exc) or refuse(f"rejected: {exc}")
    settings.progress("install")
    feedback("proceeding", "none", f"installing {manifest.version}")
    try:
        release = install_wheels(manifest, fetched.sources, settings.root)
    except (InstallError, OSError) as exc:
        shutil.rmtree(release_dir(settings.root, manifest.version), ignore_errors=True)
        return refuse(f"rejected before switching: {exc}", fetched.downloaded_bytes)
    fetch.clear(downloads)

    settings.progress("backup")
    try:
        settings.stop()
        backup_version = _backup_database(settings)
    except (OSError, subprocess.SubprocessError, sqlite3.Error) as exc:
        _safe_restart(settings)
        return refuse(f"database backup failed, nothing switched: {exc}",
                      fetched.downloaded_bytes)
    _write_atomic(settings.own_dir / "pending.json", json.dumps({
        "version": manifest.version, "previous": previous, "backup_schema": backup_version}))
    settings.progress("switch")
    switch_current(settings.root, manifest.version)
    settings.progress("check")
    ok, detail = _restart_and_check(settings, release)
    if ok:
        _record_highest(settings, manifest.version)
        _finish_pending(settings)
        feedback("closed", "success", f"{manifest.version} running; {detail}")
        _record(settings, "success", manifest.version, previous)
        return Result("success", detail, sleep, fetched.downloaded_bytes)
    detail += "; " + recover(settings)
    feedback("closed", "failure", detail)
    _record(settings, "rolled_back", manifest.version, previous)
    return Result("rolled_back", detail, sleep, fetched.downloaded_bytes)


# -- database copy and rollback ------------------------------------------------------------
def _backup_path(settings: UpdateSettings) -> Path:
    return settings.own_dir / "database.sqlite3"


def _backup_database(settings: UpdateSettings) -> int | None:
    database = settings.database
    if database is None or not database.exists():
        _backup_path(settings).unlink(missing_ok=True)
        return None
    return db_backup.backup(database, _backup_path(settings))


def _finish_pending(settings: UpdateSettings) -> None:
    """The verdict is in: the copy (personal data) goes, then the journal."""
    _backup_path(settings).unlink(missing_ok=True)
    (settings.own_dir / "pending.json").unlink(missing_ok=True)


def recover(settings: UpdateSettings) -> str:
    """Roll back a switch whose verdict never came (failed check, or a round killed
    between switch and verdict). Idempotent: a kill during it is finished next time."""
    pending_file = settings.own_dir / "pending.json"
    try:
        pending = json.loads(pending_file.read_text())
        version, previous = str(pending["version"]), pending.get("previous")
    except FileNotFoundError:
        return ""
    except (OSError, ValueError, KeyError, TypeError):
        pending_file.unlink(missing_ok=True)
        return "unreadable pending.json removed"
    _safe(settings.stop)
    notes = []
    copy = _backup_path(settings)
    database = settings.database
    # Only when the new release moved the schema: otherwise the copy is just older
    # (registrations the new release took in the meantime would be lost for nothing).
    if database is not None and copy.exists() and database.exists() \
            and db_backup.schema_version(database) != db_backup.schema_version(copy):
        db_backup.restore(copy, database)
        notes.append("database restored to its state before the update")
    if previous and is_installed(settings.root, str(previous)):
        switch_current(settings.root, str(previous))
        notes.append(f"rolled back to {previous}")
    back_ok, back_detail = _restart_and_check(settings, None)
    if not back_ok:
        notes.append(f"restart after rollback: {back_detail}")
    if current_version(settings.root) != version:
        shutil.rmtree(release_dir(settings.root, version), ignore_errors=True)
    _finish_pending(settings)
    return "; ".join(notes) or "nothing to roll back"


def _safe(action: Callable[[], None]) -> None:
    try:
        action()
    except Exception as exc:  # a failing stop must not prevent the rollback
        log.warning("%s", exc)


def _safe_restart(settings: UpdateSettings) -> None:
    _safe(settings.restart)


def _restart_and_check(settings: UpdateSettings, release: Path | None) -> tuple[bool, str]:
    try:
        settings.restart()
    except Exception as exc:  # systemctl failed: services did not report READY
        return False, f"services did not start: {exc}"
    if release is None or settings.health_check is None:
        return True, "restarted"
    return settings.health_check(release)


def _record(settings: UpdateSettings, outcome: str, version: str, previous: str | None) -> None:
    """Last update state for the metrics exporter (no personal data), owned like the
    state directory it is written into — a folder the kiosk user writes, so nothing
    there is followed (safe_paths.write_in)."""
    state = settings.state_dir
    state.mkdir(parents=True, exist_ok=True)
    text = json.dumps({"outcome": outcome, "version": version, "previous": previous,
                       "at": settings.now().isoformat(timespec="seconds")})
    write_in(state, "last-update.json", text.encode(), 0o644, foreign_owner(state))
