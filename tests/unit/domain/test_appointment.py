"""Follow-up appointments in the domain: today's facility-local window, the slip's QR."""

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kiosk.config.loader import ConfigError, demo_config_text
from kiosk.domain.appointment import Appointment, SlipQr, todays, window
from kiosk.journey.events import QrScanned, SlipScanned
from kiosk.services.qr_scanner import classify

HANOI = dt.timezone(dt.timedelta(hours=7))


def test_the_window_opens_before_now_and_ends_with_the_facility_day():
    now = dt.datetime(2026, 12, 6, 2, 0, tzinfo=dt.UTC)  # 09:00 in Hà Nội
    start, end = window(now, "Asia/Ho_Chi_Minh", 2.0)
    assert start == dt.datetime(2026, 12, 6, 7, 0, tzinfo=HANOI)
    assert end == dt.datetime(2026, 12, 7, 0, 0, tzinfo=HANOI)
    early = dt.datetime(2026, 12, 5, 17, 30, tzinfo=dt.UTC)  # 00:30 local: not yesterday
    assert window(early, "Asia/Ho_Chi_Minh", 2.0)[0] == dt.datetime(2026, 12, 6, tzinfo=HANOI)
    with pytest.raises(ValueError):
        window(dt.datetime(2026, 12, 6, 9), "Asia/Ho_Chi_Minh", 2.0)


def test_todays_keeps_the_window_sorted_once_each():
    start = dt.datetime(2026, 12, 6, 7, tzinfo=HANOI)
    end = dt.datetime(2026, 12, 7, tzinfo=HANOI)

    def at(ref, hour):
        return Appointment(ref, start.replace(hour=hour), "Khám", "NOI")
    found = [at("b", 10), at("a", 9), at("b", 10), at("old", 6), at("c", 23)]
    assert [a.ref for a in todays(found, start, end)] == ["a", "b", "c"]
    assert at("a", 9).local_time("Asia/Ho_Chi_Minh") == "9:00"
    assert Appointment.from_json(at("a", 9).to_json()) == at("a", 9)


def test_slip_qr_by_prefix_or_pattern():
    assert SlipQr(prefix="HEN:").appointment_ref("HEN:12345") == "12345"
    assert SlipQr(prefix="HEN:").appointment_ref("001185012345|x|y") is None
    pattern = SlipQr(pattern=r"BVMA\|LH\|(\d{6,10})\|.*")
    assert pattern.appointment_ref("BVMA|LH|20261206|Trần Văn Hòa") == "20261206"
    assert pattern.appointment_ref("BVMA|LH|12|x") is None
    assert SlipQr(prefix="HEN:").appointment_ref("HEN:../../Patient/1") is None  # not an id
    assert not SlipQr().configured and SlipQr().appointment_ref("HEN:1") is None
    with pytest.raises(ValueError):
        SlipQr(pattern=r"no group")


@given(st.text(max_size=300))
def test_slip_qr_never_raises_and_gives_only_plain_ids(text):
    for slip in (SlipQr(prefix="HEN:"), SlipQr(pattern=r"LH-(.+)")):
        ref = slip.appointment_ref(text)
        assert ref is None or (ref.isascii() and "/" not in ref and 0 < len(ref) <= 64)


def test_the_camera_reports_a_slip_only_with_the_format_configured():
    assert classify("HEN:42", SlipQr(prefix="HEN:")) == SlipScanned("42")
    assert isinstance(classify("HEN:42"), QrScanned)  # unknown QR without the format


def test_a_bad_slip_pattern_is_a_configuration_error(tmp_path):
    from kiosk.config.loader import load_file

    path = tmp_path / "k.toml"
    path.write_text(demo_config_text() + '\n[appointments]\nslip_qr_pattern = "(unclosed"\n',
                    "utf-8")
    with pytest.raises(ConfigError) as err:
        load_file(path)
    assert "appointments.slip_qr_pattern" in str(err.value)
