"""UI warnings and errors reach the journal: journald's native datagram protocol (a
real AF_UNIX socket standing in for /run/systemd/journal/socket), or stderr lines with
syslog priority prefixes; identity numbers are masked either way."""

import io
import logging
import socket

import pytest

from kiosk.ops.journal_logging import (
    JournalHandler,
    SyslogPrefixHandler,
    log_to_journal,
    mask_ids,
)


def parse_native(data: bytes) -> dict[str, str]:
    fields, rest = {}, data
    while rest:
        line, _, after = rest.partition(b"\n")
        if b"=" in line:
            key, _, value = line.partition(b"=")
            fields[key.decode()] = value.decode()
            rest = after
        else:  # binary-safe: length, data, newline
            size = int.from_bytes(after[:8], "little")
            fields[line.decode()] = after[8:8 + size].decode()
            rest = after[8 + size + 1:]
    return fields


@pytest.fixture
def journal(tmp_path):
    path = tmp_path / "socket"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.settimeout(5)
    yield path, sock
    sock.close()


def test_warnings_go_to_the_journal_with_priority_and_masked_ids(journal):
    path, sock = journal
    handler = JournalHandler("kiosk-ui", path)
    handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
    log = logging.getLogger("kiosk.test.journal")
    log.addHandler(handler)
    try:
        log.warning("card 001185012345 / BHYT HN4380195012345 unreadable")
        log.info("not sent: below WARNING")
        log.error("two\nlines for 0123456789")
    finally:
        log.removeHandler(handler)
        handler.close()
    first = parse_native(sock.recv(65536))
    assert first["MESSAGE"] == ("kiosk.test.journal: card 0011****2345 / BHYT "
                                "HN43*******2345 unreadable")
    assert (first["PRIORITY"], first["SYSLOG_IDENTIFIER"], first["LOGGER"]) == (
        "4", "kiosk-ui", "kiosk.test.journal")
    second = parse_native(sock.recv(65536))  # the INFO line never came
    assert second["PRIORITY"] == "3"
    assert second["MESSAGE"] == "kiosk.test.journal: two\nlines for 0123**6789"


def test_outside_systemd_stderr_lines_carry_syslog_prefixes(monkeypatch):
    monkeypatch.delenv("JOURNAL_STREAM", raising=False)
    monkeypatch.delenv("INVOCATION_ID", raising=False)
    handler = log_to_journal("kiosk-ui")
    try:
        assert isinstance(handler, SyslogPrefixHandler)
        stream = io.StringIO()
        handler.setStream(stream)
        logging.getLogger("kiosk.ui.x").error("printer offline for 038195012345")
        logging.getLogger("kiosk.ui.x").info("quiet")
    finally:
        logging.getLogger().removeHandler(handler)
    assert stream.getvalue() == "<3>kiosk.ui.x: printer offline for 0381****2345\n"


def test_masking_leaves_other_numbers_alone():
    assert mask_ids("queue A-023, 3 of 12345678, room 101") == \
        "queue A-023, 3 of 12345678, room 101"
    assert mask_ids("id=001185012345.") == "id=0011****2345."
