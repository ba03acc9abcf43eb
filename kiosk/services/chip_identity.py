"""The chip CCCD as the journey's identity source (IdentityPort over drivers.emrtd).

Identity first: the name is delivered as soon as the SOD and DG13 (or DG1) are read
and their hashes match, marked "chip_pending"; DG1, the photo (DG2), active
authentication and the final hash check follow, and only then is the read verified
(decision 0110).
A failed check is never shown as an identity: it is a possible clone or forgery.
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
from kiosk.domain.identity import Identity, Verification
from kiosk.domain.text import mask_id
from kiosk.journey.effects import AccessKey
from kiosk.journey.ports import ChipChecks, ChipReadError

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
        "photo_problem": None if photo else r.photo_problem,
        "files": {f"DG{n}": state for n, state in sorted(r.file_states.items())},
        "authentication": {"access": r.access, "passive": r.passive.level, "active": r.active,
                           "failures": list(r.failures)},
        "stats": {
            "apdus": r.stats.apdus,
            "identity_apdus": r.stats.identity_apdus,
            "bytes_read": r.stats.bytes_read,
            "seconds": round(r.stats.seconds, 3),
        },
    }


def policy_failures(card: CardRead, policy: str = "standard") -> tuple[str, ...]:
    """The failed checks, with what a stricter `devices.chip_policy` adds (decision 0110).
    Active authentication is only judged once the read is complete."""
    failures = list(card.failures)
    if policy in ("trusted", "trusted_active") and card.passive.level != "verified":
        failures.append(f"chip_policy {policy}: passive authentication is "
                        f"{card.passive.level}, not chained to a trusted CSCA")
    if policy == "trusted_active" and card.complete and card.active != "verified":
        failures.append(f"chip_policy {policy}: active authentication is {card.active}")
    return tuple(failures)


def _refuse(card: CardRead, policy: str) -> None:
    """A failed check: a possible clone or forgery. Logged without personal data (the
    staff screen shows warnings), refused as "verification_failed"."""
    failures = policy_failures(card, policy)
    if failures:
        log.warning("chip refused, failed check: %s", "; ".join(failures)[:300])
        raise ChipReadError("verification_failed", "; ".join(failures))


def identity_from_card(card: CardRead, policy: str = "standard") -> Identity:
    """The identity a (partial) read gives: "chip_pending" until every check finished."""
    _refuse(card, policy)
    data = card_read_json(card)
    return Identity(
        full_name=data["full_name"] or "",
        date_of_birth=dt.date.fromisoformat(data["date_of_birth"]) if data["date_of_birth"]
        else None,
        sex=data["sex"],
        source="chip",
        verification=_VERIFICATION[card.passive.level] if card.complete else "chip_pending",
        id_number=data["id_number"],
        old_id_number=data["old_id_number"],
        residence=data["residence"],
        issue_date=dt.date.fromisoformat(data["issue_date"]) if data["issue_date"] else None,
        expiry_date=dt.date.fromisoformat(data["expiry_date"]) if data["expiry_date"] else None,
        nationality=data["nationality"],
        ethnicity=data["ethnicity"],
    )


def chip_keys(key: AccessKey) -> list[ChipKey]:
    """CAN first (PACE); with the QR's facts also the BAC keys of the renewal-age rule."""
    if key.id_number and key.date_of_birth and key.issue_date:
        return keys_from_qr_values(key.id_number, dt.date.fromisoformat(key.date_of_birth),
                                   dt.date.fromisoformat(key.issue_date))
    return [CanKey(key.can)]


class ChipIdentityReader:
    """Implements the journey's IdentityPort; call from a worker thread."""

    def __init__(self, open_transport: Callable[[], Transport],
                 trust_store: TrustStore | None = None, policy: str = "standard") -> None:
        self.open_transport = open_transport
        self.trust_store = trust_store
        self.policy = policy

    def read_chip(self, key: AccessKey, on_identity: Callable[[Identity], None]) -> ChipChecks:
        try:
            transport = self.open_transport()
        except e.NoReaderError as exc:
            raise ChipReadError("reader_unplugged", str(exc)) from None
        except e.TransportError as exc:
            raise ChipReadError("card_removed", str(exc)) from None

        def deliver(partial: CardRead) -> None:
            on_identity(identity_from_card(partial, self.policy))

        try:
            card = read_card(transport, chip_keys(key), photo=True,
                             trust_store=self.trust_store, on_identity=deliver)
        except e.AuthenticationFailedError:
            raise ChipReadError("access_denied") from None
        except e.NoReaderError as exc:
            raise ChipReadError("reader_unplugged", str(exc)) from None
        except e.TransportError as exc:
            raise ChipReadError("card_removed", str(exc)) from None
        except e.VerificationFailedError as exc:
            log.warning("chip refused, failed check: %s", str(exc)[:300])
            raise ChipReadError("verification_failed", str(exc)) from None
        except e.EmrtdError as exc:
            raise ChipReadError("unreadable", f"{type(exc).__name__}: {exc}") from None
        finally:
            transport.close()
        log.info("chip read %s: access=%s passive=%s active=%s apdus=%d",
                 mask_id(card.id_number), card.access, card.passive.level, card.active,
                 card.stats.apdus)
        _refuse(card, self.policy)
        photo = card.photo.data if card.photo and card.photo.data else None
        return ChipChecks(_VERIFICATION[card.passive.level], photo)
