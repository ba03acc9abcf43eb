"""The 12-digit personal ID number (số định danh cá nhân), DOMAIN.md §2.

`PPP G YY RRRRRR`: province of birth registration, century+sex digit, two
digits of the birth year, six random digits. The century/sex/year digits are
a cheap consistency check against the date of birth and sex read elsewhere.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from kiosk.domain.errors import InvalidCitizenId
from kiosk.domain.provinces import province_name
from kiosk.domain.text import has_foreign_digit, is_ascii_digits

Sex = Literal["Nam", "Nữ"]


@dataclass(frozen=True)
class CitizenId:
    number: str
    province_code: str
    province: str
    sex: Sex
    century_start: int  # 1900, 2000, ...
    year_two_digits: int

    @property
    def birth_year(self) -> int:
        return self.century_start + self.year_two_digits

    @property
    def can(self) -> str:
        """PACE card access number: the last 6 digits (DOMAIN.md §3)."""
        return self.number[-6:]

    @property
    def document_number(self) -> str:
        """The MRZ document number: the last 9 digits (not the first 9)."""
        return self.number[-9:]

    def check_consistent(self, date_of_birth: dt.date | int | None, sex: str | None) -> None:
        """Raise when the ID's century/sex/year digits disagree with the given facts."""
        if date_of_birth is not None:
            year = date_of_birth if isinstance(date_of_birth, int) else date_of_birth.year
            if year != self.birth_year:
                raise InvalidCitizenId(
                    f"ID {self.number[:3]}… encodes birth year {self.birth_year}, "
                    f"date of birth says {year}"
                )
        if sex is not None and sex != self.sex:
            raise InvalidCitizenId(f"ID encodes sex {self.sex}, card says {sex}")


def parse_citizen_id(text: str) -> CitizenId:
    number = text.strip()
    if has_foreign_digit(number):
        raise InvalidCitizenId("personal ID must use the digits 0-9 only")
    if len(number) != 12 or not is_ascii_digits(number):
        raise InvalidCitizenId("personal ID must be exactly 12 digits")
    province_code = number[:3]
    province = province_name(province_code)
    if province is None:
        raise InvalidCitizenId(f"unknown province code {province_code}")
    gender_century = int(number[3])
    if gender_century > 9:  # pragma: no cover - digits only
        raise InvalidCitizenId("bad century digit")
    sex: Sex = "Nam" if gender_century % 2 == 0 else "Nữ"
    return CitizenId(
        number=number,
        province_code=province_code,
        province=province,
        sex=sex,
        century_start=1900 + 100 * (gender_century // 2),
        year_two_digits=int(number[4:6]),
    )
