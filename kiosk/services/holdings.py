"""The keyed hash by which the kiosks of a lobby recognise a patient who already holds
a number for a service today (decision 0143).

The lobby database sees only HMAC-SHA256(key, identity | day | service): without the
key (which only the kiosks hold, in their secrets file) it cannot tell whose it is,
and since the day is in it, nor link one patient's holdings across days or services.
"""

from __future__ import annotations

import hashlib
import hmac
import re

from kiosk.domain.dates import iso
from kiosk.domain.identity import Identity
from kiosk.domain.text import nfc


def identity_basis(identity: Identity) -> str:
    """The patient as one normalised string: the CCCD number (digits only), else the
    BHYT card number, else name and date of birth."""
    if identity.id_number:
        return re.sub(r"\D", "", identity.id_number)
    if identity.bhyt_card:
        return re.sub(r"\s", "", identity.bhyt_card).upper()
    return f"{nfc(identity.full_name).casefold()}|{iso(identity.date_of_birth)}"


def holder(key_hex: str, identity: Identity, day: str, service_code: str) -> bytes:
    """32 bytes naming (patient, facility-local day, service) for the lobby."""
    message = "\x1f".join((identity_basis(identity), day, service_code)).encode()
    return hmac.new(bytes.fromhex(key_hex), message, hashlib.sha256).digest()
