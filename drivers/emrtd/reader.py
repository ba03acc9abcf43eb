"""Read a chip identity card end to end: access control, identity first, then photo.

Order (issues 18, 24): EF.SOD first, since its signed hash list names the data
groups (EF.COM is unsigned and only a hint when there is no usable SOD); then
DG13 (DG1 when there is no usable DG13), and the identity goes to `on_identity`,
not yet verified; then DG1, DG2 (a photo that does not decode is reported in
`photo_problem`) and active authentication. Every check the SOD and DG15 promise
must pass (decision 0110): `CardRead.failures` names each one that did not.

    result = read_card(transport, keys, photo=True, trust_store=store,
                       on_identity=lambda partial: ...)

Safe to call from a worker thread: it only touches the transport it is
given; callbacks run on that thread (post them to the UI thread yourself).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from drivers.emrtd import active as aa
from drivers.emrtd import bac, pace
from drivers.emrtd.errors import (
    AuthenticationFailedError,
    EmptyFileError,
    EmrtdError,
    ParseError,
    ProtocolError,
    SecureMessagingError,
    StatusWordError,
    TransportError,
    UnsupportedError,
    VerificationFailedError,
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
# A data group's state after the read: "unreadable" is a status word or a file that
# ends early; "not_read" stays out of the dict (e.g. DG2 with photo=False).
FileState = Literal["read", "absent", "empty", "unreadable", "unparseable"]
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
    file_states: dict[int, FileState] = field(default_factory=dict)
    # Checks that failed, each naming its check: a possible clone or forgery. Passive
    # and active authentication failures are here too (decision 0110).
    failures: tuple[str, ...] = ()

    @property
    def verification_failed(self) -> bool:
        return bool(self.failures)

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
# What each read DG is for: identity, photo, active authentication (DG14 names its hash).
USED = frozenset({1, 2, 13, 14, 15})


def _parsed(what: str, fn: Callable[[bytes], Any], raw: bytes) -> Any:
    """Parse chip data: whatever goes wrong in a parser (a library's lazy ValueError, an
    unsupported curve...) is a ParseError naming the file, never an untyped crash."""
    try:
        return fn(raw)
    except ParseError:
        raise
    except Exception as exc:  # the chip's bytes are untrusted input
        raise ParseError(f"{what}: {type(exc).__name__}: {exc}") from None


def _data_groups(s: CardSession, sod: Sod | None) -> tuple[int, ...]:
    """The DGs to read: the SOD's signed list; EF.COM as a hint without one; else probe."""
    if sod is not None and sod.dg_hashes:
        return tuple(sorted(sod.dg_hashes))
    try:
        com_raw = s.read_ef_optional(EF_COM)
        groups = _parsed("EF.COM", parse_com, com_raw).data_groups if com_raw else ()
    except (ParseError, StatusWordError):
        groups = ()  # EF.COM is unsigned and only a hint: garbage there fails nothing
    return groups or PROBE


class _Checks:
    """What was read and which checks failed (decision 0110). With an EF.SOD, every DG
    it lists that the kiosk uses must be served, must parse and must match its hash; a
    DG15 (listed or served) must complete active authentication."""

    def __init__(self, s: CardSession, sod: Sod | None) -> None:
        self.s = s
        self.sod = sod
        self.files: dict[int, bytes] = {}
        self.states: dict[int, FileState] = {}
        self.failures: list[str] = []

    def listed(self, n: int) -> bool:
        return self.sod is not None and n in self.sod.dg_hashes

    def fail(self, check: str) -> None:
        if check not in self.failures:
            self.failures.append(check)

    def fetch(self, n: int) -> bytes | None:
        """A DG's bytes, or None with its state recorded (absent, empty, unreadable)."""
        state: FileState
        why = ""
        try:
            raw = self.s.read_ef_optional(dg_fid(n))
            state = "read" if raw else "absent"
        except EmptyFileError:
            raw, state = None, "empty"
        except (ParseError, StatusWordError) as exc:
            raw, state, why = None, "unreadable", f" ({exc})"
        self.states[n] = state
        if raw is None:
            if self.listed(n):
                served = "not served" if state == "absent" else f"{state}{why}"
                self.fail(f"DG{n} is listed in EF.SOD but {served}")
            return None
        self.files[n] = raw
        return raw

    def parse(self, n: int, fn: Callable[[bytes], Any]) -> Any:
        raw = self.files.get(n)
        if raw is None:
            return None
        try:
            return _parsed(f"DG{n}", fn, raw)
        except ParseError as exc:
            self.states[n] = "unparseable"
            if self.listed(n) or n == 15:
                self.fail(f"DG{n} does not parse ({exc})")
            return None


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
    (no card / removed), VerificationFailedError (no identity, and a check failed),
    EmrtdError for everything else. Checks that fail once an identity is read are
    *not* raised: `CardRead.failures` names them (a possible clone or forgery).
    `on_identity` gets the identity before the photo and active authentication:
    it is not verified until the returned result says so.
    """
    started = time.perf_counter()
    key_list: list[AccessKey] = [keys] if isinstance(keys, CanKey | MrzKey) else list(keys)
    if not key_list:
        raise ValueError("no access key given")
    s = CardSession(transport, chunk=chunk)
    access, attempts = _authenticate(s, key_list, prefer_pace)

    sod: Sod | None = None
    sod_failure = None
    sod_raw = s.read_ef_optional(EF_SOD)
    if sod_raw:
        try:
            sod = _parsed("EF.SOD", parse_sod, sod_raw)
        except ParseError as exc:
            sod_failure = f"EF.SOD does not parse ({exc})"
    c = _Checks(s, sod)
    if sod_failure:
        c.fail(sod_failure)
    groups = _data_groups(s, sod)

    dg13 = c.parse(13, parse_dg13) if 13 in groups and c.fetch(13) is not None else None
    mrz = None

    def read_dg1() -> None:
        nonlocal mrz
        mrz = c.parse(1, parse_dg1) if 1 in groups and c.fetch(1) is not None else None

    if dg13 is None or not (dg13.id_number and dg13.full_name):
        read_dg1()  # DG1 gives the identity; after a usable DG13 it follows it (issue 24)
    if dg13 is None and mrz is None:
        if c.failures:
            raise VerificationFailedError(tuple(c.failures))
        raise ParseError("the card holds neither DG13 nor DG1 that reads: no identity")

    def passive(current: dict[int, bytes]) -> PassiveResult:
        if sod_failure:
            return PassiveResult("failed", sod_failure)
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

    def result(passive_result: PassiveResult, identity_apdus: int | None = None, *,
               face: FaceImage | None = None, active: aa.ActiveLevel = "absent",
               photo_problem: str | None = None) -> CardRead:
        failures = list(c.failures)
        if passive_result.level == "failed" and not sod_failure:
            failures.insert(0, f"passive authentication: {passive_result.detail}")
        return CardRead(
            access, mrz, dg13, face, passive_result, active, groups,
            stats(s.stats.apdus if identity_apdus is None else identity_apdus),
            complete=identity_apdus is not None, files=dict(c.files),
            photo_problem=photo_problem, file_states=dict(c.states), failures=tuple(failures),
        )  # fmt: skip

    partial = result(passive(dict(c.files)))
    if on_identity is not None:
        on_identity(partial)
    if 1 not in c.states:
        read_dg1()

    face, photo_problem = None, None
    if photo and 2 in groups:
        if c.fetch(2) is not None:
            try:
                face = _parsed("DG2", parse_dg2, c.files[2])
            except ParseError as exc:
                # A DG2 the SOD vouches for but whose image we cannot decode is the
                # issuer's data: a photo problem, not a failed check (decision 0110).
                photo_problem = f"{type(exc).__name__}: {exc}"
        else:
            photo_problem = f"DG2 {c.states[2]}"
    active_level = _active(c, groups) if active_auth else "absent"
    return result(passive(c.files), partial.stats.identity_apdus, face=face,
                  active=active_level, photo_problem=photo_problem)


def _active(c: _Checks, groups: tuple[int, ...]) -> aa.ActiveLevel:
    """Active authentication with DG15's key; its hash from DG14 when the chip has one.
    A DG15 listed or served must end in "verified"; anything else is a failed check."""
    if 15 not in groups:
        return "absent"
    ec_hash = None
    if 14 in groups and c.fetch(14) is not None:
        ec_hash = c.parse(14, lambda raw: aa_hash(parse_dg14(raw)))
    if c.fetch(15) is None:
        return "failed" if c.listed(15) else "absent"
    key = c.parse(15, parse_dg15)
    if key is None:
        return "failed"
    t = time.thread_time()
    try:
        level = aa.authenticate(c.s.send, key, ec_hash)
    except (TransportError, SecureMessagingError):
        raise
    except Exception as exc:  # an odd key type or signature: the chip did not prove itself
        level = "failed"
        c.fail(f"active authentication: {type(exc).__name__}")
    finally:
        c.s.stats.crypto_seconds += time.thread_time() - t
    if level != "verified":
        c.fail("active authentication: the chip's signature does not verify with DG15's key")
    return level


__all__ = [
    "CardRead",
    "EmrtdError",
    "ReadStats",
    "Sod",
    "TransportError",
    "read_card",
]
