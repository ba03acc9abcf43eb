"""One fleet-update round (`kiosk update --once`): poll hawkBit, and if a deployment
is offered, download → verify → install → switch → restart → health check →
only then report success. Any failure switches back and reports failure.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

from kiosk.ops.hawkbit import DdiClient, DdiError, Deployment, parse_sleep
from kiosk.ops.install import InstallError, current_version, install_release, switch_current
from kiosk.ops.release import BundleError, sha256_file, unpack, verify_bundle

log = logging.getLogger(__name__)

Outcome = Literal["nothing", "deferred", "success", "rejected", "rolled_back", "error"]
HealthCheck = Callable[[Path], tuple[bool, str]]


@dataclass
class UpdateSettings:
    root: Path
    state_dir: Path
    public_keys: tuple[str, ...]
    restart: Callable[[], None] = lambda: None
    health_check: HealthCheck | None = None
    opening_hours: str = "00:00-24:00"
    timezone: str = "Asia/Ho_Chi_Minh"
    now: Callable[[], dt.datetime] = field(default=lambda: dt.datetime.now(dt.UTC))
    device_attributes: dict[str, str] = field(default_factory=dict)
    serving_patient: Callable[[], bool] = lambda: False


@dataclass(frozen=True)
class Result:
    outcome: Outcome
    detail: str
    poll_sleep_s: float = 300.0


def systemctl_restart(units: tuple[str, ...] = ("kiosk-sync.service", "kiosk-ui.service")
                      ) -> Callable[[], None]:
    """`systemctl restart` waits for READY=1 of Type=notify units and fails if they don't
    come up, so its exit status is the "services report READY" half of the check."""
    def restart() -> None:
        subprocess.run(["systemctl", "restart", *units], check=True, timeout=180)
    return restart


def doctor_health_check(config_path: str | None, timeout_s: float = 120.0) -> HealthCheck:
    """Run the NEW release's own `kiosk doctor` core checks."""
    def check(release: Path) -> tuple[bool, str]:
        venv = release / "venv" / "bin"
        # Through the release's interpreter, not the script's #! line: that names the
        # final path (/opt/kiosk/...), which a release under a test or image root is not at.
        cmd = [str(venv / "python"), str(venv / "kiosk")]
        if config_path:
            cmd += ["--config", config_path]
        cmd += ["doctor", "--json", "--only", "disk", "--only", "outbox", "--only", "clock"]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s,
                                  check=False)
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


def update_once(client: DdiClient, settings: UpdateSettings) -> Result:
    try:
        base = client.poll()
    except DdiError as exc:
        return Result("error", f"poll failed: {exc}")
    sleep = parse_sleep(base.get("config", {}).get("polling", {}).get("sleep"))
    links = base.get("_links", {})
    if "configData" in links and settings.device_attributes:
        try:
            client.config_data(links["configData"]["href"], settings.device_attributes)
        except DdiError as exc:
            log.warning("configData not accepted: %s", exc)
    if "cancelAction" in links:
        try:
            action = client.cancel_action(links["cancelAction"]["href"])
            # Nothing is installed between polls, so a cancel is always honoured here.
            client.feedback(action, "closed", "success", ["cancelled before install"],
                            kind="cancelAction")
        except DdiError as exc:
            return Result("error", f"cancel failed: {exc}", sleep)
        return Result("nothing", f"action {action} cancelled", sleep)
    if "deploymentBase" not in links:
        return Result("nothing", "no deployment offered", sleep)
    try:
        deployment = client.deployment(links["deploymentBase"]["href"])
    except DdiError as exc:
        return Result("error", f"deployment unreadable: {exc}", sleep)
    return _deploy(client, settings, deployment, sleep)


def _deploy(client: DdiClient, settings: UpdateSettings, d: Deployment, sleep: float) -> Result:
    def feedback(execution: str, finished: str, *details: str) -> None:
        try:
            client.feedback(d.action_id, execution, finished, list(details))
        except DdiError as exc:
            log.warning("feedback not accepted: %s", exc)

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
    if len(d.artifacts) != 1:
        feedback("closed", "failure", f"expected one bundle artifact, got {len(d.artifacts)}")
        return Result("rejected", "unexpected artifacts", sleep)
    artifact = d.artifacts[0]
    downloads = settings.state_dir / "downloads"
    feedback("proceeding", "none", f"downloading {artifact.filename}")
    try:
        path = client.download(artifact, downloads / artifact.filename)
    except DdiError as exc:
        feedback("closed", "failure", f"download failed: {exc}")
        return Result("rejected", str(exc), sleep)
    if not artifact.sha256 or sha256_file(path) != artifact.sha256:
        path.unlink(missing_ok=True)
        feedback("closed", "failure", "artifact sha256 does not match the server's")
        return Result("rejected", "sha256 mismatch", sleep)

    previous = current_version(settings.root)
    with tempfile.TemporaryDirectory(dir=downloads, prefix="unpack-") as tmp:
        try:
            bundle = verify_bundle(unpack(path, Path(tmp)), settings.public_keys)
            feedback("proceeding", "none", f"installing {bundle.version}")
            release = install_release(bundle, settings.root)
        except (BundleError, InstallError) as exc:
            feedback("closed", "failure", f"rejected before switching: {exc}")
            return Result("rejected", str(exc), sleep)
    if bundle.version == previous:
        feedback("closed", "success", f"{bundle.version} already running")
        return Result("success", "already current", sleep)
    switch_current(settings.root, bundle.version)
    ok, detail = _restart_and_check(settings, release)
    if ok:
        path.unlink(missing_ok=True)
        feedback("closed", "success", f"{bundle.version} running; {detail}")
        _record(settings, "success", bundle.version, previous)
        return Result("success", detail, sleep)
    if previous is not None:
        switch_current(settings.root, previous)
        back_ok, back_detail = _restart_and_check(settings, None)
        detail += f"; rolled back to {previous}" + ("" if back_ok else f" ({back_detail})")
    shutil.rmtree(release, ignore_errors=True)
    feedback("closed", "failure", detail)
    _record(settings, "rolled_back", bundle.version, previous)
    return Result("rolled_back", detail, sleep)


def _restart_and_check(settings: UpdateSettings, release: Path | None) -> tuple[bool, str]:
    try:
        settings.restart()
    except Exception as exc:  # systemctl failed: services did not report READY
        return False, f"services did not start: {exc}"
    if release is None or settings.health_check is None:
        return True, "restarted"
    return settings.health_check(release)


def _record(settings: UpdateSettings, outcome: str, version: str, previous: str | None) -> None:
    """Last update state for the metrics exporter (no personal data)."""
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    (settings.state_dir / "last-update.json").write_text(json.dumps({
        "outcome": outcome, "version": version, "previous": previous,
        "at": settings.now().isoformat(timespec="seconds")}))
