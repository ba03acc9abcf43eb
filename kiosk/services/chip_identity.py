"""The chip CCCD as the journey's identity source (IdentityPort over drivers.emrtd).

Identity first: the name is delivered as soon as COM, DG13, DG1 and the SOD are
read and verified, the photo (DG2) follows. A failed passive or active
authentication is never shown as an identity: it is a possible forgery.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

from drivers.emrtd import errors as e
from drivers.emrtd.keys import AccessKey as ChipKey
from drivers.emrtd.keys import CanKey, keys_from_qr_values
from drivers.emrtd.lds.dg13 import parse_dmy
from drivers.emrtd.passive import TrustStore
from drivers.emrtd.reader import CardRead, read_card
from drivers.emrtd.transport import Transport
from kiosk.domain.errors import DomainError
from kiosk.domain.identity import Identity, Verification
from kiosk.domain.plausible import check_person
from kiosk.domain.text import mask_id
from kiosk.journey.effects import AccessKey
from kiosk.journey.ports import ChipReadError

log = logging.getLogger(__name__)

_VERIFICATION: dict[str, Verification] = {
    "verified": "chip_verified", "untrusted": "chip_untrusted", "absent": "chip_unverified",
}


def _iso(value: dt.date | None) -> str | None:
    return value.isoformat() if value else None


def card_read_json(r: CardRead) -> dict[str, Any]:
    """The contract of `kiosk card read --json` (issue 3)."""
    d13 = r.dg13
    mrz = r.mrz

    def f(n: int, i: int = 0) -> str | None:
        return d13.text(n, i) if d13 else None

    mrz_dob = None
    if mrz is not None:
        try:
            mrz_dob = dt.datetime.strptime(mrz.date_of_birth, "%y%m%d").date()
            if mrz_dob > dt.date.today():  # two-digit years: births are in the past
                mrz_dob = mrz_dob.replace(year=mrz_dob.year - 100)
        except ValueError:
            mrz_dob = None
    mrz_name = " ".join(p for p in (mrz.primary_name, mrz.secondary_name) if p) if mrz else None
    sex = f(4) or ({"M": "Nam", "F": "Nữ"}.get(mrz.sex) if mrz else None)
    expiry = (d13.expiry_date if d13 and f(12) else None) if d13 else r.mrz_expiry
    photo = None
    if r.photo is not None:
        photo = {"format": r.photo.format, "width": r.photo.width, "height": r.photo.height,
                 "bytes": len(r.photo.data)}  # fmt: skip
    return {
        "id_number": r.id_number,
        "full_name": f(2) or mrz_name,
        "date_of_birth": _iso(parse_dmy(f(3)) or mrz_dob),
        "sex": sex,
        "nationality": f(5) or (mrz.nationality if mrz else None),
        "ethnicity": f(6),
        "religion": f(7),
        "hometown": f(8),
        "residence": f(9),
        "identifying_marks": f(10),
        "issue_date": _iso(parse_dmy(f(11))),
        "expiry_date": _iso(expiry),
        "old_id_number": f(15),
        "father_name": f(13, 0),
        "mother_name": f(13, 1),
        "spouse_name": f(14),
        "document_number": mrz.document_number if mrz else None,
        "mrz": mrz.text if mrz else None,
        "photo": photo,
        "authentication": {"access": r.access, "passive": r.passive.level, "active": r.active},
        "stats": {
            "apdus": r.stats.apdus,
            "identity_apdus": r.stats.identity_apdus,
            "bytes_read": r.stats.bytes_read,
            "seconds": round(r.stats.seconds, 3),
        },
    }


def identity_from_card(card: CardRead) -> Identity:
    data = card_read_json(card)
    if card.passive.level == "failed":
        raise ChipReadError("verification_failed", card.passive.detail)
    identity = Identity(
        full_name=data["full_name"] or "",
        date_of_birth=dt.date.fromisoformat(data["date_of_birth"]) if data["date_of_birth"]
        else None,
        sex=data["sex"],
        source="chip",
        verification=_VERIFICATION[card.passive.level],
        id_number=data["id_number"],
        old_id_number=data["old_id_number"],
        residence=data["residence"],
        issue_date=dt.date.fromisoformat(data["issue_date"]) if data["issue_date"] else None,
        expiry_date=dt.date.fromisoformat(data["expiry_date"]) if data["expiry_date"] else None,
        nationality=data["nationality"],
        ethnicity=data["ethnicity"],
    )
    try:  # the same rules as the QR and BHYT parsers (decision 0105)
        check_person(identity.full_name, identity.date_of_birth, identity.issue_date,
                     {"place of residence": identity.residence})
    except DomainError as exc:
        raise ChipReadError("unreadable", str(exc)) from None
    return identity


def chip_keys(key: AccessKey) -> list[ChipKey]:
    """CAN first (PACE); with the QR's facts also the BAC keys of the renewal-age rule."""
    if key.id_number and key.date_of_birth and key.issue_date:
        return keys_from_qr_values(key.id_number, dt.date.fromisoformat(key.date_of_birth),
                                   dt.date.fromisoformat(key.issue_date))
    return [CanKey(key.can)]


class ChipIdentityReader:
    """Implements the journey's IdentityPort; call from a worker thread."""

    def __init__(self, open_transport: Callable[[], Transport],
                 trust_store: TrustStore | None = None) -> None:
        self.open_transport = open_transport
        self.trust_store = trust_store

    def read_chip(self, key: AccessKey, on_identity: Callable[[Identity], None]) -> bytes | None:
        try:
            transport = self.open_transport()
        except e.NoReaderError as exc:
            raise ChipReadError("reader_unplugged", str(exc)) from None
        except e.TransportError as exc:
            raise ChipReadError("card_removed", str(exc)) from None

        def deliver(partial: CardRead) -> None:
            on_identity(identity_from_card(partial))

        try:
            card = read_card(transport, chip_keys(key), photo=True,
                             trust_store=self.trust_store, on_identity=deliver)
        except e.AuthenticationFailedError:
            raise ChipReadError("access_denied") from None
        except e.NoReaderError as exc:
            raise ChipReadError("reader_unplugged", str(exc)) from None
        except e.TransportError as exc:
            raise ChipReadError("card_removed", str(exc)) from None
        except e.EmrtdError as exc:
            raise ChipReadError("unreadable", f"{type(exc).__name__}: {exc}") from None
        finally:
            transport.close()
        log.info("chip read %s: access=%s passive=%s active=%s apdus=%d",
                 mask_id(card.id_number), card.access, card.passive.level, card.active,
                 card.stats.apdus)
        if card.passive.level == "failed" or card.active == "failed":
            raise ChipReadError("verification_failed",
                                f"passive={card.passive.level} active={card.active}")
        return card.photo.data if card.photo and card.photo.data else None
