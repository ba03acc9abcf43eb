"""Short-Weierstrass point arithmetic for PACE Generic Mapping.

The `cryptography` package does ECDH and key generation, but it cannot add
points or multiply by a generator of our choosing, and PACE-GM needs both
(G' = s·G + H, then keys on G'). This is the small missing piece; see
docs/decisions for why it is hand-written. Not constant-time: it handles
ephemeral values of one session, never long-term keys of the kiosk.
"""

from __future__ import annotations

from dataclasses import dataclass

from drivers.emrtd.errors import ParseError, ProtocolError

Point = tuple[int, int] | None  # None is the point at infinity


@dataclass(frozen=True)
class Curve:
    name: str
    p: int
    a: int
    b: int
    gx: int
    gy: int
    n: int

    @property
    def g(self) -> tuple[int, int]:
        return (self.gx, self.gy)

    @property
    def size(self) -> int:
        return (self.p.bit_length() + 7) // 8

    def contains(self, pt: Point) -> bool:
        if pt is None:
            return False
        x, y = pt
        return (
            0 <= x < self.p
            and 0 <= y < self.p
            and (y * y - (x * x * x + self.a * x + self.b)) % self.p == 0
        )

    # -- encoding ----------------------------------------------------------
    def encode(self, pt: Point) -> bytes:
        if pt is None:
            raise ValueError("cannot encode the point at infinity")
        return b"\x04" + pt[0].to_bytes(self.size, "big") + pt[1].to_bytes(self.size, "big")

    def decode(self, raw: bytes) -> tuple[int, int]:
        """Uncompressed point, checked to be on the curve (invalid-curve attacks)."""
        if len(raw) != 1 + 2 * self.size or raw[0] != 0x04:
            raise ParseError("EC point is not an uncompressed point of this curve")
        pt = (
            int.from_bytes(raw[1 : 1 + self.size], "big"),
            int.from_bytes(raw[1 + self.size :], "big"),
        )
        if not self.contains(pt):
            raise ProtocolError("EC point is not on the curve")
        return pt

    # -- arithmetic (Jacobian coordinates) ----------------------------------
    def _double(self, x: int, y: int, z: int) -> tuple[int, int, int]:
        p = self.p
        if y == 0 or z == 0:
            return (0, 1, 0)
        yy = y * y % p
        s = 4 * x * yy % p
        zz = z * z % p
        m = (3 * x * x + self.a * zz * zz) % p
        x3 = (m * m - 2 * s) % p
        y3 = (m * (s - x3) - 8 * yy * yy) % p
        z3 = 2 * y * z % p
        return (x3, y3, z3)

    def _add(self, x1: int, y1: int, z1: int, x2: int, y2: int, z2: int) -> tuple[int, int, int]:
        p = self.p
        if z1 == 0:
            return (x2, y2, z2)
        if z2 == 0:
            return (x1, y1, z1)
        z1z1 = z1 * z1 % p
        z2z2 = z2 * z2 % p
        u1 = x1 * z2z2 % p
        u2 = x2 * z1z1 % p
        s1 = y1 * z2 * z2z2 % p
        s2 = y2 * z1 * z1z1 % p
        h = (u2 - u1) % p
        r = (s2 - s1) % p
        if h == 0:
            return self._double(x1, y1, z1) if r == 0 else (0, 1, 0)
        hh = h * h % p
        hhh = h * hh % p
        v = u1 * hh % p
        x3 = (r * r - hhh - 2 * v) % p
        y3 = (r * (v - x3) - s1 * hhh) % p
        z3 = h * z1 * z2 % p
        return (x3, y3, z3)

    def _affine(self, x: int, y: int, z: int) -> Point:
        if z == 0:
            return None
        zi = pow(z, -1, self.p)
        zi2 = zi * zi % self.p
        return (x * zi2 % self.p, y * zi2 * zi % self.p)

    def add(self, a: Point, b: Point) -> Point:
        if a is None:
            return b
        if b is None:
            return a
        return self._affine(*self._add(a[0], a[1], 1, b[0], b[1], 1))

    def mul(self, k: int, pt: Point) -> Point:
        """k·pt with a 4-bit fixed window."""
        if pt is None or k % self.n == 0:
            return None
        k %= self.n
        table = [(0, 1, 0), (pt[0], pt[1], 1)]
        for _ in range(14):
            table.append(self._add(*table[-1], pt[0], pt[1], 1))
        acc = (0, 1, 0)
        for shift in range((k.bit_length() + 3) // 4 * 4 - 4, -1, -4):
            for _ in range(4):
                acc = self._double(*acc)
            digit = (k >> shift) & 0xF
            if digit:
                acc = self._add(*acc, *table[digit])
        return self._affine(*acc)


BRAINPOOL_P256R1 = Curve(
    "brainpoolP256r1",
    0xA9FB57DBA1EEA9BC3E660A909D838D726E3BF623D52620282013481D1F6E5377,
    0x7D5A0975FC2C3057EEF67530417AFFE7FB8055C126DC5C6CE94A4B44F330B5D9,
    0x26DC5C6CE94A4B44F330B5D9BBD77CBF958416295CF7E1CE6BCCDC18FF8C07B6,
    0x8BD2AEB9CB7E57CB2C4B482FFC81B7AFB9DE27E1E3BD23C23A4453BD9ACE3262,
    0x547EF835C3DAC4FD97F8461A14611DC9C27745132DED8E545C1D54C72F046997,
    0xA9FB57DBA1EEA9BC3E660A909D838D718C397AA3B561A6F7901E0E82974856A7,
)
NIST_P256 = Curve(
    "secp256r1",
    0xFFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFF,
    0xFFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFC,
    0x5AC635D8AA3A93E7B3EBBD55769886BC651D06B0CC53B0F63BCE3C3E27D2604B,
    0x6B17D1F2E12C4247F8BCE6E563A440F277037D812DEB33A0F4A13945D898C296,
    0x4FE342E2FE1A7F9B8EE7EB4A7C0F9E162BCE33576B315ECECBB6406837BF51F5,
    0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551,
)
BRAINPOOL_P384R1 = Curve(
    "brainpoolP384r1",
    0x8CB91E82A3386D280F5D6F7E50E641DF152F7109ED5456B412B1DA197FB71123ACD3A729901D1A71874700133107EC53,
    0x7BC382C63D8C150C3C72080ACE05AFA0C2BEA28E4FB22787139165EFBA91F90F8AA5814A503AD4EB04A8C7DD22CE2826,
    0x04A8C7DD22CE28268B39B55416F0447C2FB77DE107DCD2A62E880EA53EEB62D57CB4390295DBC9943AB78696FA504C11,
    0x1D1C64F068CF45FFA2A63A81B7C13F6B8847A3E77EF14FE3DB7FCAFE0CBD10E8E826E03436D646AAEF87B2E247D4AF1E,
    0x8ABE1D7520F9C2A45CB1EB8E95CFD55262B70B29FEEC5864E19C054FF99129280E4646217791811142820341263C5315,
    0x8CB91E82A3386D280F5D6F7E50E641DF152F7109ED5456B31F166E6CAC0425A7CF3AB6AF6B7FC3103B883202E9046565,
)
NIST_P384 = Curve(
    "secp384r1",
    0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFFFF0000000000000000FFFFFFFF,
    0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFFFF0000000000000000FFFFFFFC,
    0xB3312FA7E23EE7E4988E056BE3F82D19181D9C6EFE8141120314088F5013875AC656398D8A2ED19D2A85C8EDD3EC2AEF,
    0xAA87CA22BE8B05378EB1C71EF320AD746E1D3B628BA79B9859F741E082542A385502F25DBF55296C3A545E3872760AB7,
    0x3617DE4A96262C6F5D9E98BF9292DC29F8F41DBD289A147CE9DA3113B5F0B8C00A60B1CE1D7E819D7A431D7C90EA0E5F,
    0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFC7634D81F4372DDF581A0DB248B0A77AECEC196ACCC52973,
)

# ICAO 9303-11 / BSI TR-03110 standardized domain parameter ids.
STANDARD_CURVES: dict[int, Curve] = {
    12: NIST_P256,
    13: BRAINPOOL_P256R1,
    15: NIST_P384,
    16: BRAINPOOL_P384R1,
}
