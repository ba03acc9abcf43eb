"""The keyed hash a kiosk publishes to its lobby for a patient's number (decision 0143)."""

import dataclasses

from kiosk.services.holdings import holder
from tests.unit.registration.helpers import patient

KEY = "5e" * 32


def test_known_answer_from_openssl():
    # printf '001168000001\x1f2026-12-06\x1fKB-NOI' |
    #   openssl dgst -sha256 -mac HMAC -macopt hexkey:5e5e…5e (32 bytes)
    assert holder(KEY, patient(), "2026-12-06", "KB-NOI").hex() == (
        "00a98407054a8d19435422aad90a9d71d96bad6bb251bdcbe38772498a5150b7")


def test_one_patient_day_and_service_per_hash():
    p = patient()
    base = holder(KEY, p, "2026-12-06", "KB-NOI")
    assert len(base) == 32
    assert holder(KEY, dataclasses.replace(p, id_number=" 0011 6800 0001 "), "2026-12-06",
                  "KB-NOI") == base  # the number normalised
    others = {holder(KEY, p, "2026-12-07", "KB-NOI"), holder(KEY, p, "2026-12-06", "KB-MAT"),
              holder("5f" * 32, p, "2026-12-06", "KB-NOI"),
              holder(KEY, patient(2), "2026-12-06", "KB-NOI")}
    assert len(others) == 4 and base not in others
    # without a CCCD number: the BHYT card, then name and birth date
    no_id = dataclasses.replace(p, id_number=None, bhyt_card="dn4797914938201")
    assert holder(KEY, no_id, "2026-12-06", "KB-NOI") == holder(
        KEY, dataclasses.replace(no_id, bhyt_card="DN 4797914938201"), "2026-12-06", "KB-NOI")
