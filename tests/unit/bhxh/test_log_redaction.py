"""Gateway credentials in request URLs never reach a log, even at DEBUG."""

import logging

import requests

from kiosk.services.bhxh.simulator import BhxhGatewaySimulator


def test_urllib3_debug_lines_are_redacted(caplog):
    import kiosk.services.bhxh.client  # noqa: F401  (installs the filter)

    sim = BhxhGatewaySimulator()
    base = sim.start()
    try:
        with caplog.at_level(logging.DEBUG, logger="urllib3.connectionpool"):
            requests.post(f"{base}/api/egw/KQNhanLichSuKCB2024?token=T0KEN&id_token=ID7&"
                          "username=01824_BV&password=ABCDEF0123", json={}, timeout=5)
    finally:
        sim.stop()
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "KQNhanLichSuKCB2024" in text  # the line is logged...
    for secret in ("T0KEN", "ID7", "ABCDEF0123", "01824_BV"):
        assert secret not in text  # ...without its credentials
