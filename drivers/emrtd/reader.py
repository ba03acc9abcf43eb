"""Read a chip identity card end to end: access control, identity first, then photo.

Order (issue 18): EF.SOD first, since its signed hash list names the data
groups (EF.COM is unsigned and only a hint when there is no usable SOD);
then DG13 and DG1, the identity is complete; then DG2 (best effort: a photo
that does not decode is reported in `photo_problem`, never costs the
identity) and active authentication.

    result = read_card(transport, keys, photo=True, trust_store=store,
                       on_identity=lambda partial: ...)

Safe to call from a worker thread: it only touches the transport it is
given; callbacks run on that thread (post them to the UI thread yourself).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from drivers.emrtd import active as aa
from drivers.emrtd import bac, pace
from drivers.emrtd.errors import (
    AuthenticationFailedError,
    EmrtdError,
    ParseError,
    ProtocolError,
    StatusWordError,
    TransportError,
    UnsupportedError,
)
from drivers.emrtd.keys import AccessKey, CanKey, MrzKey
from drivers.emrtd.lds import EF_CARD_ACCESS, EF_COM, EF_SOD, dg_fid
from drivers.emrtd.lds.com import parse_com
from drivers.emrtd.lds.dg1 import parse_dg1
from drivers.emrtd.lds.dg2 import FaceImage, parse_dg2
from drivers.emrtd.lds.dg13 import Dg13, parse_dg13
from drivers.emrtd.lds.dg15 import aa_hash, parse_dg14, parse_dg15
from drivers.emrtd.lds.sod import Sod, parse_sod
from drivers.emrtd.mrz import Mrz
from drivers.emrtd.passive import PassiveResult, TrustStore, passive_authenticate
from drivers.emrtd.session import CardSession
from drivers.emrtd.transport import Transport

Access = Literal["PACE", "BAC"]
Phase = Literal["authenticated", "identity", "photo", "done"]


@dataclass(frozen=True)
class ReadStats:
    apdus: int
    bytes_read: int
    bytes_transferred: int
    seconds: float
    crypto_seconds: float
    read_size: str
    attempts: int
    identity_apdus: int = 0  # APDUs until the identity was complete (before DG2 and AA)


@dataclass(frozen=True)
class CardRead:
    """What the chip said and how far it was verified. Photo bytes live in memory only."""

    access: Access
    mrz: Mrz | None
    dg13: Dg13 | None
    photo: FaceImage | None
    passive: PassiveResult
    active: aa.ActiveLevel
    data_groups: tuple[int, ...]
    stats: ReadStats
    complete: bool = True
    files: dict[int, bytes] = field(default_factory=dict, repr=False)
    photo_problem: str | None = None  # why DG2 gave no photo, when the card has one

    @property
    def id_number(self) -> str | None:
        if self.dg13 and self.dg13.id_number:
            return self.dg13.id_number
        if self.mrz and self.mrz.optional_data.isdigit() and len(self.mrz.optional_data) == 12:
            return self.mrz.optional_data
        return None

    @property
    def mrz_expiry(self) -> dt.date | None:
        if self.mrz is None or self.mrz.date_of_expiry == "991231":
            return None
        try:
            return dt.datetime.strptime(self.mrz.date_of_expiry, "%y%m%d").date()
        except ValueError:
            return None


def _authenticate(
    s: CardSession, keys: Sequence[AccessKey], prefer_pace: bool
) -> tuple[Access, int]:
    """Open secure messaging; PACE first, BAC as the fallback. Returns (access, attempts)."""
    attempts = 0
    last_auth_error: AuthenticationFailedError | None = None
    infos: list[pace.PaceInfo] = []
    if prefer_pace:
        try:
            raw = s.read_ef_optional(EF_CARD_ACCESS)
            infos = pace.parse_card_access(raw) if raw else []
        except (ParseError, StatusWordError):
            infos = []
    supported = [i for i in infos if i.supported]
    if supported:
        info = supported[0]
        for key in keys:
            attempts += 1
            password, ref = (
                (key.can, pace.PW_CAN)
                if isinstance(key, CanKey)
                else (key.information, pace.PW_MRZ)
            )
            # Thread CPU time, not wall time: PACE interleaves crypto with I/O waits.
            t = time.thread_time()
            try:
                sm = pace.terminal_authenticate(s.raw, password, ref, info)
            except AuthenticationFailedError as exc:
                last_auth_error = exc
                continue
            except (ProtocolError, UnsupportedError, StatusWordError, ParseError):
                break  # PACE itself is broken on this card: try BAC
            finally:
                s.stats.crypto_seconds += time.thread_time() - t
            s.start_sm(sm)
            s.select_applet()
            return "PACE", attempts
    mrz_keys = [k for k in keys if isinstance(k, MrzKey)]
    if not mrz_keys:
        if last_auth_error:
            raise last_auth_error
        raise AuthenticationFailedError(0x6300, "card has no usable PACE and no MRZ key was given")
    s.sm = None
    s.select_applet()
    for key in mrz_keys:
        attempts += 1
        try:
            t = time.thread_time()
            sm3 = bac.terminal_authenticate(s.raw, bac.derive_keys(key.information))
            s.stats.crypto_seconds += time.thread_time() - t
        except AuthenticationFailedError as exc:
            last_auth_error = exc
            continue
        s.start_sm(sm3)
        return "BAC", attempts
    assert last_auth_error is not None
    raise last_auth_error


PROBE = (1, 2, 13, 14, 15)  # what CCCDs hold, tried one by one when nothing lists them


def _data_groups(s: CardSession, sod: Sod | None) -> tuple[int, ...]:
    """The DGs to read: the SOD's signed list; EF.COM as a hint without one; else probe."""
    if sod is not None and sod.dg_hashes:
        return tuple(sorted(sod.dg_hashes))
    try:
        com_raw = s.read_ef_optional(EF_COM)
        groups = parse_com(com_raw).data_groups if com_raw else ()
    except (ParseError, StatusWordError):
        groups = ()  # EF.COM is unsigned and only a hint: garbage there fails nothing
    return groups or PROBE


def read_card(
    transport: Transport,
    keys: AccessKey | Sequence[AccessKey],
    *,
    photo: bool = True,
    trust_store: TrustStore | None = None,
    on_identity: Callable[[CardRead], None] | None = None,
    active_auth: bool = True,
    prefer_pace: bool = True,
    chunk: int | None = None,
) -> CardRead:
    """Authenticate, read identity (SOD, DG13, DG1), call `on_identity`, then DG2 and AA.

    Raises AuthenticationFailedError (wrong key), TransportError subclasses
    (no card / removed), EmrtdError for everything else. Verification
    failures are *not* raised: they are reported in `passive` / `active`.
    """
    started = time.perf_counter()
    key_list: list[AccessKey] = [keys] if isinstance(keys, CanKey | MrzKey) else list(keys)
    if not key_list:
        raise ValueError("no access key given")
    s = CardSession(transport, chunk=chunk)
    access, attempts = _authenticate(s, key_list, prefer_pace)

    files: dict[int, bytes] = {}
    sod_raw = s.read_ef_optional(EF_SOD)
    sod = parse_sod(sod_raw) if sod_raw else None
    groups = _data_groups(s, sod)
    # A DG that does not parse is kept as bytes: if its hash is also wrong the
    # result is "passive failed" (a forgery, reported), otherwise the parse
    # error is raised at the end (an issuer quirk we must learn about).
    parse_errors: list[ParseError] = []

    def parsed(fn: Callable[[bytes], Any], raw: bytes) -> Any:
        try:
            return fn(raw)
        except ParseError as exc:
            parse_errors.append(exc)
            return None

    dg13 = mrz = None
    if 13 in groups:
        raw13 = s.read_ef_optional(dg_fid(13))
        if raw13:
            files[13] = raw13
            dg13 = parsed(parse_dg13, raw13)
    if 1 in groups:
        raw1 = s.read_ef_optional(dg_fid(1))
        if raw1:
            files[1] = raw1
            mrz = parsed(parse_dg1, raw1)
    if 1 not in files and 13 not in files:
        raise ParseError("the card holds neither DG13 nor DG1: no identity to read")

    def passive(current: dict[int, bytes]) -> PassiveResult:
        t = time.perf_counter()
        try:
            return passive_authenticate(sod, current, trust_store)
        finally:
            s.stats.crypto_seconds += time.perf_counter() - t

    def stats(identity_apdus: int) -> ReadStats:
        st = s.stats
        return ReadStats(
            st.apdus, st.bytes_read, st.bytes_sent + st.bytes_received,
            time.perf_counter() - started, st.crypto_seconds, s.read_size, attempts,
            identity_apdus,
        )  # fmt: skip

    partial = CardRead(
        access, mrz, dg13, None, passive(dict(files)), "absent", groups,
        stats(s.stats.apdus), complete=False, files=dict(files),
    )  # fmt: skip
    if on_identity is not None:
        on_identity(partial)

    face, photo_problem = None, None
    if photo and 2 in groups:
        try:
            raw2 = s.read_ef_optional(dg_fid(2))
            if raw2:
                files[2] = raw2
                face = parse_dg2(raw2)
        except (ParseError, StatusWordError) as exc:
            # The identity is already complete; a photo the chip will not give
            # or that does not parse is reported, not fatal. (A DG2 whose hash
            # is wrong still fails passive authentication below.)
            photo_problem = f"{type(exc).__name__}: {exc}"
    active_level: aa.ActiveLevel = "absent"
    if active_auth and 15 in groups:
        raw15 = s.read_ef_optional(dg_fid(15))
        raw14 = s.read_ef_optional(dg_fid(14)) if 14 in groups else None
        if raw15:
            files[15] = raw15
            ec_hash = None
            if raw14:
                files[14] = raw14
                ec_hash = aa_hash(parse_dg14(raw14))
            t = time.thread_time()
            active_level = aa.authenticate(s.send, parse_dg15(raw15), ec_hash)
            s.stats.crypto_seconds += time.thread_time() - t
    final = passive(files)
    if parse_errors and final.level != "failed":
        raise parse_errors[0]
    return replace(
        partial, photo=face, passive=final, active=active_level,
        stats=stats(partial.stats.identity_apdus), complete=True, files=files,
        photo_problem=photo_problem,
    )  # fmt: skip


__all__ = [
    "CardRead",
    "EmrtdError",
    "ReadStats",
    "Sod",
    "TransportError",
    "read_card",
]
