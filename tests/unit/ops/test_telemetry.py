"""Fleet telemetry carries counts and states, never personal data."""

import datetime as dt
from dataclasses import replace

from kiosk.config import demo_config
from kiosk.domain.identity import Identity
from kiosk.domain.insurance import InsuranceResult
from kiosk.ops.telemetry import device_attributes, prometheus_text, write_textfile
from kiosk.services.statistics import SqliteStatistics
from kiosk.services.wiring import build

NAME, ID = "Nguyễn Thị Hồng Nhung", "001185012345"


def test_metrics_and_attributes_after_a_registration(tmp_path):
    config = demo_config(state_dir=tmp_path / "state")
    config = replace(config, printer=replace(config.printer, target=str(tmp_path / "t")))
    assembly = build(config)
    try:
        identity = Identity(NAME, dt.date(1985, 3, 14), "Nữ", "qr_cccd", id_number=ID)
        now = dt.datetime.now(dt.UTC)
        assembly.ports.registration.register(
            identity, InsuranceResult.not_checked(ID, "test", now), "KB-NOI", "key-1")
        SqliteStatistics(assembly.db, config.kiosk_id, config.facility.timezone).count(
            "health_book.offered")
    finally:
        assembly.close()
    text = prometheus_text(config)
    assert 'kiosk_registrations_today{kiosk="demo-kiosk-01"} 1' in text
    assert 'kiosk_outbox_depth{kiosk="demo-kiosk-01"} 1' in text
    assert 'metric="health_book.offered"} 1' in text
    attributes = device_attributes(config)
    assert attributes["outbox_depth"] == "1" and attributes["health_book_offered_today"] == "1"
    out = write_textfile(config, tmp_path / "prom" / "kiosk.prom")
    for blob in (text, str(attributes), out.read_text()):
        assert NAME not in blob and ID not in blob and ID[-6:] not in blob
