"""Chip read through real pcscd + vsmartcard-vpcd with the virtual CCCD (issues 3 and 18).

For read sizes 112/160/223/extended, an identity-only read (everything before the
photo: EF.CardAccess, PACE, the applet, the files of the identity, passive
authentication) and a full read (+ DG2 photo, DG14/DG15, active authentication),
side by side in the same run:

* before: issue 3's reading, SELECT then a first READ BINARY asking for as much
  as the session allows (past the end of small files), EF.COM, DG13, DG1, SOD;
* after: issue 18's reading (`read_card`), header-first READ BINARY by short EF
  identifier, data groups from EF.SOD, never past a file's end.

Columns: APDUs, bytes on the link, reads past a file's end (counted by the
virtual card), wall time through pcscd, and a link model for a 424 kbit/s ISO
14443 reader (bytes x 8 / 424000 + APDUs x 3 ms). Then both strategies against
the `eof-6282-nomac` chip (over-reads answered 6282 without SM objects), and a
wrong-CAN rejection time. Last (issue 24), identity and total APDUs for every profile of
`kiosk card simulate --quirks` (clones included: what they cost before refusal) and how
the identity count grows with DG13's size, short and extended reads, in process (APDU
counts do not depend on the link).
Needs root (starts pcscd) and vsmartcard-vpcd. Run: .venv/bin/python benchmarks/card_read.py
"""

from __future__ import annotations

import contextlib
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cryptography.hazmat.primitives.serialization import Encoding

from drivers.emrtd import active as aa
from drivers.emrtd.errors import AuthenticationFailedError, EmrtdError, ParseError
from drivers.emrtd.keys import CanKey, MrzKey
from drivers.emrtd.lds import EF_COM, EF_SOD, dg_fid
from drivers.emrtd.lds.com import parse_com
from drivers.emrtd.lds.dg2 import parse_dg2
from drivers.emrtd.lds.dg15 import aa_hash, parse_dg14, parse_dg15
from drivers.emrtd.lds.sod import parse_sod
from drivers.emrtd.passive import TrustStore, passive_authenticate
from drivers.emrtd.reader import _authenticate, read_card
from drivers.emrtd.session import MAX_FILE, CardSession
from drivers.emrtd.tlv import header_length
from drivers.emrtd.transport import CallableTransport, Transport
from drivers.pcsc import PcscTransport
from drivers.virtual.cccd import CardOptions, Identity, VirtualCccd, build_card_image
from drivers.virtual.cccd_pki import VirtualPki, generate
from drivers.virtual.cccd_quirks import CLONES, KNOWN
from tests.e2e.pcsc_fixtures import running_pcscd, virtual_card_server

RUNS = 5
SIZES = (("112", 112), ("160", 160), ("223", 223), ("extended", None))
IDENTITY = {
    "id_number": "001190123456", "full_name": "Nguyễn Thị Hồng Nhung",
    "date_of_birth": "1990-01-01", "sex": "Nữ", "issue_date": "2021-05-10",
    "expiry_date": "2030-01-01", "hometown": "Đông Hưng, Thái Bình",
    "residence": "Số 12 Ngõ 34, Phường Điện Biên, Quận Ba Đình, Hà Nội",
    "father_name": "Nguyễn Văn Bình", "mother_name": "Trần Thị Lụa",
}  # fmt: skip


class BeforeSession(CardSession):
    """Issue 3's file reading: SELECT, then ask for up to the session's size at once."""

    def read_ef(self, fid: int) -> bytes:
        if fid in self._cache:
            return self._cache[fid]
        self.select_ef(fid)
        first = self._read_sized(0, MAX_FILE)
        if len(first) < 2:
            raise ParseError(f"EF {fid:04X} is empty")
        _, total = header_length(first[:8])
        buf = bytearray(first[:total])
        while len(buf) < total:
            part = self._read_sized(len(buf), total - len(buf))
            if not part:
                raise ParseError(f"EF {fid:04X} ended early")
            buf += part[: total - len(buf)]
        self._cache[fid] = bytes(buf)
        return self._cache[fid]


@dataclass
class Run:
    apdus: int
    nbytes: int
    wall: float
    ok: bool = True


def read_before(transport: Transport, key: CanKey, full: bool, trust: TrustStore,
                chunk: int | None) -> Run:  # fmt: skip
    """Issue 3's read_card order: EF.COM, DG13, DG1, SOD, then DG2, DG15/DG14, AA."""
    t = time.perf_counter()
    s = BeforeSession(transport, chunk=chunk)
    _authenticate(s, [key], True)
    com_raw = s.read_ef_optional(EF_COM)
    groups = parse_com(com_raw).data_groups if com_raw else (1, 2, 13, 14, 15)
    files = {13: s.read_ef(dg_fid(13)), 1: s.read_ef(dg_fid(1))}
    sod = parse_sod(s.read_ef(EF_SOD))
    assert passive_authenticate(sod, files, trust).level == "verified"
    if full:
        parse_dg2(s.read_ef(dg_fid(2)))
        if 15 in groups:
            raw15, raw14 = s.read_ef(dg_fid(15)), s.read_ef(dg_fid(14))
            level = aa.authenticate(s.send, parse_dg15(raw15), aa_hash(parse_dg14(raw14)))
            assert level == "verified"
    st = s.stats
    return Run(st.apdus, st.bytes_sent + st.bytes_received, time.perf_counter() - t)


def read_after(transport: Transport, key: CanKey, full: bool, trust: TrustStore,
               chunk: int | None) -> Run:  # fmt: skip
    t = time.perf_counter()
    r = read_card(transport, key, photo=full, active_auth=full, trust_store=trust, chunk=chunk)
    assert r.passive.level == "verified" and (not full or r.photo is not None)
    st = r.stats
    return Run(st.apdus, st.bytes_transferred, time.perf_counter() - t)


def model(run: Run) -> float:
    return run.nbytes * 8 / 424_000 + run.apdus * 0.003


def measure(card: VirtualCccd, fn: object, *args: object) -> tuple[Run, int]:
    """Median wall of RUNS reads; APDUs and bytes are the same every run."""
    runs = []
    card.over_reads = 0
    for _ in range(RUNS):
        runs.append(fn(*args))  # type: ignore[operator]
    over = card.over_reads // RUNS
    return Run(runs[-1].apdus, runs[-1].nbytes, statistics.median(r.wall for r in runs)), over


def profile_counts(pki: VirtualPki) -> None:
    """Identity / total APDUs per `--quirks` profile, short (223) and extended reads."""
    ident = Identity.from_json(IDENTITY)
    trust = TrustStore(anchors=[pki.csca_cert])
    print(f"{'profile':>20} | {'short id/all':>12} | {'ext id/all':>10} | outcome")
    for name in ("(none)", *KNOWN):
        quirks = frozenset() if name == "(none)" else frozenset({name})
        options = CardOptions(quirks=quirks)
        card = VirtualCccd(ident, options, build_card_image(ident, options, pki))
        key = (MrzKey(ident.document_number, "900101", "300101") if "bac-6988" in quirks
               else CanKey(ident.can))
        cells, outcome = [], ""
        for extended in (False, True):
            r = read_card(CallableTransport(card.process, extended_length=extended), key,
                          trust_store=trust)
            cells.append(f"{r.stats.identity_apdus}/{r.stats.apdus}")
            outcome = (f"refused: {r.failures[0][:60]}" if r.failures
                       else f"read ({r.access}, passive {r.passive.level}, active {r.active})")
        assert (name in CLONES) == outcome.startswith("refused")
        print(f"{name:>20} | {cells[0]:>12} | {cells[1]:>10} | {outcome}")
    print(f"{'DG13 bytes':>10} {'EF.SOD':>6} | identity APDUs short / extended")
    for longer in (0, 100, 200, 300, 400, 500, 700, 900):
        holder = Identity.from_json(IDENTITY | {
            "residence": IDENTITY["residence"] + (" Ấp Phước Hưng," * 80)[:longer]})
        card = VirtualCccd(holder, CardOptions(), build_card_image(holder, CardOptions(), pki))
        assert card.image is not None
        counts = [read_card(CallableTransport(card.process, extended_length=ext),
                            CanKey(holder.can), photo=False, active_auth=False,
                            trust_store=trust).stats.identity_apdus for ext in (False, True)]
        print(f"{len(card.image.files[0x010D]):>10} {len(card.image.files[EF_SOD]):>6} | "
              f"{counts[0]:>3} / {counts[1]:>3}")


def main() -> None:
    pki = generate()
    ident = Identity.from_json(IDENTITY)
    options = CardOptions()
    image = build_card_image(ident, options, pki)
    card = VirtualCccd(ident, options, image)
    trust = TrustStore(anchors=[pki.csca_cert])
    key = CanKey(ident.can)
    print(
        f"card: DG2 {len(image.files[0x0102])} B, DG13 {len(image.files[0x010D])} B, "
        f"EF.SOD {len(image.files[EF_SOD])} B "
        f"(DS certificate {len(pki.ds_cert.public_bytes(Encoding.DER))} B)"
    )
    rows = []
    with running_pcscd() as daemon:
        with virtual_card_server(card, daemon):
            transport = PcscTransport(daemon.reader)
            for label, chunk in SIZES:
                for kind, full in (("identity", False), ("full", True)):
                    b, ob = measure(card, read_before, transport, key, full, trust, chunk)
                    a, oa = measure(card, read_after, transport, key, full, trust, chunk)
                    rows.append((label, kind, b, a, ob, oa))
            t = time.perf_counter()
            with contextlib.suppress(AuthenticationFailedError):
                read_card(transport, CanKey("000000"))
            wrong = time.perf_counter() - t
            transport.close()
        quirky_opts = CardOptions(quirks=frozenset({"eof-6282-nomac"}))
        quirky = VirtualCccd(ident, quirky_opts, build_card_image(ident, quirky_opts, pki))
        outcome = {}
        with virtual_card_server(quirky, daemon):
            transport = PcscTransport(daemon.reader)
            for name, fn in (("before", read_before), ("after", read_after)):
                try:
                    fn(transport, key, True, trust, None)
                    outcome[name] = "read, passive and active verified"
                except EmrtdError as exc:
                    outcome[name] = f"failed: {type(exc).__name__}: {exc}"
            transport.close()

    print(f"{'size':>9} {'read':>8} | {'APDUs':>11} {'bytes':>13} {'past end':>8} "
          f"{'wall ms':>11} {'424k model s':>13}")  # fmt: skip
    print(f"{'':>9} {'':>8} | {'bef → aft':>11} {'before → after':>13} {'bef aft':>8} "
          f"{'bef → aft':>11} {'before → after':>13}")  # fmt: skip
    for label, kind, b, a, ob, oa in rows:
        print(f"{label:>9} {kind:>8} | {b.apdus:>4} → {a.apdus:>4} {b.nbytes:>6}→{a.nbytes:>6} "
              f"{ob:>3} {oa:>4} {b.wall * 1000:>5.1f}→{a.wall * 1000:>5.1f} "
              f"{model(b):>6.3f}→{model(a):>6.3f}")  # fmt: skip
    for name, text in outcome.items():
        print(f"eof-6282-nomac chip, {name}: {text}")
    print(f"wrong CAN rejected in {wrong * 1000:.1f} ms (wall, through pcscd)")
    profile_counts(pki)


if __name__ == "__main__":
    main()
