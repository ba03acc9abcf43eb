"""The QR test corpus: every payload kind the kiosk is shown, under every degradation.

Shared by the tests and `benchmarks/qr_decode.py` so both measure the same
frames. Payloads are invented people with correct Vietnamese diacritics
(NFC) and internally consistent IDs (province, century/sex digit, birth year).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from drivers.virtual.qrscene import DISTORTIONS, FRAME_SIZE, render_scene


def _hex(text: str) -> str:
    return text.encode("utf-8").hex()


PAYLOADS: dict[str, str] = {
    # CCCD 2021 (front of the chip card): 7 fields.
    "cccd_2021": "001185012345|012345678|Nguyễn Thị Hồng Nhung|14031985|Nữ|"
    "Số 12 Hàng Bột, Đống Đa, Hà Nội|02072021",
    # Thẻ Căn cước 2024 (back): CMND empty, extra trailing fields (parents' names).
    "can_cuoc_2024": "038058004321||Lê Văn Thưởng|02111958|Nam|"
    "Thôn Đông, Quảng Xương, Thanh Hóa|20012024||Lê Văn Ất|Trần Thị Bưởi|",
    # The CCCD as VNeID's document wallet shows it (same format, on a phone).
    "vneid_wallet": "079303001234||Trần Ngọc Ánh|05062003|Nữ|"
    "Phường Bến Nghé, Quận 1, Thành phố Hồ Chí Minh|12082021",
    # BHYT paper card / VssID: name and address as hex of UTF-8 (DOMAIN.md §11).
    "bhyt_card": "HS4010120878811|" + _hex("Phạm Thị Lợi") + "|01/01/1950|2|"
    + _hex("Xã Đức Thượng, Hoài Đức, Hà Nội") + "|01 - 043|01/01/2024|31/12/2024|"
    "15/12/2023|01059710639215|-|4|01/01/2029|1f2fa22c47f0bd18-7102|$",
    "vssid_bhxh10": "0123456789|" + _hex("Đỗ Quang Huy") + "|1990|1|"
    + _hex("Ấp Mỹ Lợi, Cái Bè, Tiền Giang") + "|82 - 001|01/01/2025|-|20/12/2024|"
    "82012345678901|-|5| 01/01/2030|a1b2c3d4e5f60718-4821|$",
    # Unusable: VNeID's one-minute verification token, a link, a VietQR payment code.
    "vneid_token": "VNEID:eyJ0eXAiOiJKV1QiLCJhbGciOiJFUzI1NiJ9.c2Vzc2lvbg.4fX9kQ",
    "url": "https://dichvucong.gov.vn/p/home/dvc-tra-cuu-ho-so.html",
    "payment": "00020101021238570010A000000727012700069704220113VQRQ00001234"
    "0208QRIBFTTA53037045802VN62150811Thanh toan6304B1C2",
}

@dataclass(frozen=True)
class Sample:
    name: str  # payload name in PAYLOADS
    distortion: str
    seed: int
    payload: str

    @property
    def id(self) -> str:
        return f"{self.name}-{self.distortion}-{self.seed}"

    def render(self, size: tuple[int, int] = FRAME_SIZE) -> np.ndarray:
        return render_scene(self.payload, self.distortion, self.seed, size)


def samples(seeds: int = 2, names: tuple[str, ...] | None = None,
            distortions: tuple[str, ...] = DISTORTIONS, first_seed: int = 0) -> Iterator[Sample]:
    """Every payload × every distortion × `seeds` seeds (deterministic). The default
    is the original ten degradations; pass `ALL_DISTORTIONS` or `HAND_DISTORTIONS`
    (drivers.virtual.qrscene) for the hand-held ones."""
    for name in names or tuple(PAYLOADS):
        for distortion in distortions:
            for seed in range(first_seed, first_seed + seeds):
                yield Sample(name, distortion, seed, PAYLOADS[name])
