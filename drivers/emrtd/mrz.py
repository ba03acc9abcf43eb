"""Machine readable zone (ICAO 9303-3/-5/-4): TD1 (3×30) and TD3 (2×44).

Check digits are computed, not trusted: a line that fails its check is
still returned (the chip's own DG1 is authenticated by the SOD), with
`valid` telling whether every check digit matched.
"""

from __future__ import annotations

from dataclasses import dataclass

from drivers.emrtd.errors import ParseError

_WEIGHTS = (7, 3, 1)


def _value(c: str) -> int:
    if "0" <= c <= "9":  # not str.isdigit: that accepts "²"
        return ord(c) - 48
    if "A" <= c <= "Z":
        return ord(c) - 55
    if c == "<":
        return 0
    raise ParseError(f"character {c!r} is not allowed in an MRZ")


def check_digit(field: str) -> str:
    return str(sum(_value(c) * _WEIGHTS[i % 3] for i, c in enumerate(field)) % 10)


@dataclass(frozen=True)
class Mrz:
    kind: str  # "TD1" | "TD3"
    document_code: str
    issuing_state: str
    document_number: str
    date_of_birth: str  # YYMMDD
    sex: str  # M / F / <
    date_of_expiry: str  # YYMMDD
    nationality: str
    primary_name: str
    secondary_name: str
    optional_data: str
    bad_checks: tuple[str, ...]  # fields whose check digit does not match
    text: str

    @property
    def valid(self) -> bool:
        return not self.bad_checks

    @property
    def information(self) -> str:
        """The BAC/PACE MRZ information: doc ‖ cd ‖ DOB ‖ cd ‖ expiry ‖ cd."""
        return mrz_information(self.document_number, self.date_of_birth, self.date_of_expiry)


def mrz_information(document_number: str, dob: str, expiry: str) -> str:
    doc = document_number.upper().ljust(9, "<")
    return doc + check_digit(doc) + dob + check_digit(dob) + expiry + check_digit(expiry)


def _names(field: str) -> tuple[str, str]:
    primary, _, secondary = field.partition("<<")
    return primary.replace("<", " ").strip(), secondary.replace("<", " ").strip()


def parse_mrz(text: str) -> Mrz:
    lines = [ln.strip().upper() for ln in text.replace("\r", "\n").split("\n") if ln.strip()]
    if len(lines) == 1 and len(lines[0]) in (90, 88):
        n = 30 if len(lines[0]) == 90 else 44
        lines = [lines[0][i : i + n] for i in range(0, len(lines[0]), n)]
    for line in lines:
        for c in line:
            _value(c)
    if len(lines) == 3 and all(len(ln) == 30 for ln in lines):
        return _td1(lines)
    if len(lines) == 2 and all(len(ln) == 44 for ln in lines):
        return _td3(lines)
    raise ParseError("MRZ must be 3 lines of 30 (TD1) or 2 lines of 44 (TD3) characters")


MRZ_FIELDS = ("document number", "date of birth", "date of expiry", "composite")


def _bad(*pairs: str) -> tuple[str, ...]:
    """The fields (MRZ_FIELDS order) whose check digit does not match: (value, digit)…"""
    return tuple(name for name, value, digit in zip(MRZ_FIELDS, pairs[::2], pairs[1::2],
                                                    strict=True)
                 if check_digit(value) != digit)


def _td1(lines: list[str]) -> Mrz:
    l1, l2, l3 = lines
    doc, doc_cd, opt1 = l1[5:14], l1[14], l1[15:30]
    if doc_cd == "<" and opt1.rstrip("<"):
        # Long document numbers continue in the optional field (ICAO 9303-5 §4.2.4).
        ext = opt1.rstrip("<")
        doc, doc_cd, opt1 = doc + ext[:-1], ext[-1], ""
    dob, exp = l2[0:6], l2[8:14]
    composite = l1[5:30] + l2[0:7] + l2[8:15] + l2[18:29]
    checks = _bad(doc, doc_cd, dob, l2[6], exp, l2[14], composite, l2[29])
    primary, secondary = _names(l3)
    return Mrz(
        "TD1", l1[0:2].rstrip("<"), l1[2:5], doc.rstrip("<"), dob, l2[7], exp,
        l2[15:18], primary, secondary, (opt1 + l2[18:29]).rstrip("<"), checks,
        "\n".join(lines),
    )  # fmt: skip


def _td3(lines: list[str]) -> Mrz:
    l1, l2 = lines
    doc, dob, exp = l2[0:9], l2[13:19], l2[21:27]
    checks = _bad(doc, l2[9], dob, l2[19], exp, l2[27], l2[0:10] + l2[13:20] + l2[21:43],
                  l2[43])
    primary, secondary = _names(l1[5:44])
    return Mrz(
        "TD3", l1[0:2].rstrip("<"), l1[2:5], doc.rstrip("<"), dob, l2[20], exp,
        l2[10:13], primary, secondary, l2[28:42].rstrip("<"), checks, "\n".join(lines),
    )  # fmt: skip


def build_td1(
    *,
    document_number: str,
    date_of_birth: str,
    sex: str,
    date_of_expiry: str,
    primary_name: str,
    secondary_name: str,
    optional1: str = "",
    optional2: str = "",
    document_code: str = "ID",
    issuing_state: str = "VNM",
    nationality: str = "VNM",
) -> str:
    """A TD1 MRZ with computed check digits (the virtual card's DG1)."""
    doc = document_number.ljust(9, "<")
    l1 = (document_code.ljust(2, "<") + issuing_state + doc + check_digit(doc)).ljust(15, "<")
    l1 = (l1 + optional1).ljust(30, "<")[:30]
    l2 = date_of_birth + check_digit(date_of_birth) + (sex or "<")
    l2 += date_of_expiry + check_digit(date_of_expiry) + nationality
    l2 = (l2 + optional2).ljust(29, "<")[:29]
    l2 += check_digit(l1[5:30] + l2[0:7] + l2[8:15] + l2[18:29])
    name = primary_name.replace(" ", "<") + "<<" + secondary_name.replace(" ", "<")
    l3 = name.ljust(30, "<")[:30]
    return "\n".join((l1, l2, l3))
