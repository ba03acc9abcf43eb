"""Chip read through real pcscd + vsmartcard-vpcd with the virtual CCCD (issue 3).

Prints, for read sizes 112/160/223/extended: APDUs, bytes on the link, wall
time, host CPU of the crypto (reader thread), and a link-model estimate for
a 424 kbit/s ISO 14443 reader (bytes x 8 / 424000 + APDUs x 3 ms), for an
identity-only read (PACE + COM, DG13, DG1, SOD) and a full read (+ DG2 photo,
DG14/DG15, active authentication). Also a wrong-CAN rejection time.
Needs root (starts pcscd) and vsmartcard-vpcd. Run: .venv/bin/python benchmarks/card_read.py
"""

from __future__ import annotations

import contextlib
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cryptography.hazmat.primitives.serialization import Encoding

from drivers.emrtd.errors import AuthenticationFailedError
from drivers.emrtd.keys import CanKey
from drivers.emrtd.lds import EF_SOD
from drivers.emrtd.passive import TrustStore
from drivers.emrtd.reader import read_card
from drivers.pcsc import PcscTransport
from drivers.virtual.cccd import CardOptions, Identity, VirtualCccd, build_card_image
from drivers.virtual.cccd_pki import generate
from tests.e2e.pcsc_fixtures import running_pcscd, virtual_card_server

RUNS = 5
IDENTITY = {
    "id_number": "001190123456", "full_name": "Nguyễn Thị Hồng Nhung",
    "date_of_birth": "1990-01-01", "sex": "Nữ", "issue_date": "2021-05-10",
    "expiry_date": "2030-01-01", "hometown": "Đông Hưng, Thái Bình",
    "residence": "Số 12 Ngõ 34, Phường Điện Biên, Quận Ba Đình, Hà Nội",
    "father_name": "Nguyễn Văn Bình", "mother_name": "Trần Thị Lụa",
}  # fmt: skip


def model(bytes_: int, apdus: int) -> float:
    return bytes_ * 8 / 424_000 + apdus * 0.003


def main() -> None:
    pki = generate()
    ident = Identity.from_json(IDENTITY)
    options = CardOptions()
    image = build_card_image(ident, options, pki)
    card = VirtualCccd(ident, options, image)
    trust = TrustStore(anchors=[pki.csca_cert])
    photo = len(image.files[0x0102])
    print(
        f"card: DG2 {photo} B, EF.SOD {len(image.files[EF_SOD])} B "
        f"(DS certificate {len(pki.ds_cert.public_bytes(Encoding.DER))} B)"
    )
    rows = []
    with running_pcscd() as daemon, virtual_card_server(card, daemon):
        transport = PcscTransport(daemon.reader)
        for label, chunk in (("112", 112), ("160", 160), ("223", 223), ("extended", None)):
            for kind, full in (("identity", False), ("full", True)):
                walls, cpus = [], []
                for _ in range(RUNS):
                    t = time.perf_counter()
                    r = read_card(transport, CanKey(ident.can), photo=full, active_auth=full,
                                  trust_store=trust, chunk=chunk)  # fmt: skip
                    walls.append(time.perf_counter() - t)
                    cpus.append(r.stats.crypto_seconds)
                    assert r.passive.level == "verified"
                st = r.stats
                wall, cpu = statistics.median(walls), statistics.median(cpus)
                est = model(st.bytes_transferred, st.apdus)
                rows.append((label, kind, st.apdus, st.bytes_transferred, wall, cpu, est))
        t = time.perf_counter()
        with contextlib.suppress(AuthenticationFailedError):
            read_card(transport, CanKey("000000"))
        wrong = time.perf_counter() - t
        transport.close()
    print(f"{'size':>9} {'read':>8} {'APDUs':>6} {'bytes':>7} {'wall ms':>8} "
          f"{'crypto CPU ms':>13} {'424k model s':>12}")  # fmt: skip
    for label, kind, apdus, nbytes, wall, cpu, est in rows:
        print(f"{label:>9} {kind:>8} {apdus:>6} {nbytes:>7} {wall * 1000:>8.1f} "
              f"{cpu * 1000:>13.1f} {est:>12.3f}")  # fmt: skip
    ext = {k: r for r in rows for k in [(r[0], r[1])]}
    base = ext[("112", "full")]
    best = ext[("extended", "full")]
    print(f"full read, modelled: 112-byte chunks {base[6]:.3f} s vs extended {best[6]:.3f} s "
          f"(ratio {base[6] / best[6]:.1f}x)")  # fmt: skip
    print(f"wrong CAN rejected in {wrong * 1000:.1f} ms (wall, through pcscd)")


if __name__ == "__main__":
    main()
