"""The patient's identity as the journey carries it, whatever produced it.

Chip reads, QR codes and manual entry all end up as an `Identity`; its
`source` and `verification` say how far it can be trusted. The face photo
lives only in memory (never written to disk) and is wiped with the session.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from kiosk.domain.dates import iso

Source = Literal["chip", "qr_cccd", "qr_bhyt", "manual"]
# chip_verified: passive authentication chained to the CSCA; chip_untrusted:
# signature good, no trusted chain; chip_unverified: read over PACE/BAC but
# no usable SOD; chip_pending: read from the chip, its checks (photo, active
# authentication, the final hash check) not finished yet, so not verified (decision
# 0110); none: typed or shown, not cryptographically checked.
Verification = Literal[
    "chip_verified", "chip_untrusted", "chip_unverified", "chip_pending", "none"]


@dataclass(frozen=True)
class Identity:
    full_name: str
    date_of_birth: dt.date | int | None
    sex: str | None
    source: Source
    verification: Verification = "none"
    id_number: str | None = None
    old_id_number: str | None = None
    residence: str | None = None
    issue_date: dt.date | None = None
    expiry_date: dt.date | None = None
    bhyt_card: str | None = None
    nationality: str | None = None
    ethnicity: str | None = None
    photo_jpeg: bytes | None = field(default=None, repr=False)

    def without_photo(self) -> Identity:
        return replace(self, photo_jpeg=None)

    def to_json(self) -> dict[str, Any]:
        """Serializable view for records and the HIS (never includes the photo)."""
        return {
            "full_name": self.full_name,
            "date_of_birth": iso(self.date_of_birth),
            "sex": self.sex,
            "source": self.source,
            "verification": self.verification,
            "id_number": self.id_number,
            "old_id_number": self.old_id_number,
            "residence": self.residence,
            "issue_date": iso(self.issue_date),
            "expiry_date": iso(self.expiry_date),
            "bhyt_card": self.bhyt_card,
            "nationality": self.nationality,
            "ethnicity": self.ethnicity,
        }

    @property
    def insurance_key(self) -> str | None:
        """What the BHXH gateway is asked with: the BHYT card if known, else the CCCD."""
        return self.bhyt_card or self.id_number
