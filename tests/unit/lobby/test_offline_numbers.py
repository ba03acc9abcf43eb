"""Offline numbers can meet neither a shared number nor another kiosk's (decision 0071)."""

import re

from hypothesis import given
from hypothesis import strategies as st

from kiosk.domain.queue import DEFAULT_QUEUE_FORMAT, format_offline_number, format_queue_number

PREFIX = st.from_regex(r"[A-Z0-9]{1,3}", fullmatch=True)
KIOSK = st.from_regex(r"[A-Za-z0-9._-]{1,64}", fullmatch=True)
SEQ = st.integers(1, 99_999)


def test_offline_number_carries_the_kiosk_id():
    assert format_offline_number("A", "K3", 7) == "A-K3-007"


@given(PREFIX, SEQ, KIOSK, SEQ)
def test_never_equal_to_a_shared_number(prefix, shared, kiosk, offline):
    assert format_queue_number(DEFAULT_QUEUE_FORMAT, prefix, shared) != \
        format_offline_number(prefix, kiosk, offline)


@given(PREFIX, KIOSK, SEQ, KIOSK, SEQ)
def test_two_kiosks_never_print_the_same_offline_number(prefix, k1, s1, k2, s2):
    if (k1, s1) != (k2, s2):
        assert format_offline_number(prefix, k1, s1) != format_offline_number(prefix, k2, s2)


@given(PREFIX, KIOSK, SEQ)
def test_the_number_reads_back(prefix, kiosk, seq):
    m = re.fullmatch(r"([A-Z0-9]{1,3})-(.+)-(\d{3,})", format_offline_number(prefix, kiosk, seq))
    assert m is not None and (m[1], m[2], int(m[3])) == (prefix, kiosk, seq)
