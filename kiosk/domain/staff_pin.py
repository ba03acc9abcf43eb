"""The staff PIN: at least 6 digits, stored as a salted scrypt hash.

`ui.staff_pin` holds either the hash (`scrypt$N$r$p$salt$key`, what `kiosk pin
hash` prints and `kiosk provision` writes) or, for the demo and tests, the
digits themselves. scrypt is slow and memory-hard on purpose: a copied secrets
file does not give the PIN away in seconds (a 6-digit PIN is 10^6 tries at
~16 MiB and tens of milliseconds each).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re

MIN_DIGITS = 6
MAX_DIGITS = 12
SCHEME = "scrypt"
# n=2^14, r=8: 16 MiB and ~50 ms on a desktop core, a few hundred ms on a Raspberry Pi 4.
COST_N, COST_R, COST_P = 1 << 14, 8, 1
_HASH = re.compile(r"scrypt\$(\d+)\$(\d+)\$(\d+)\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)")


class PinError(ValueError):
    pass


def pin_problem(pin: str) -> str | None:
    """Why `pin` (digits typed by staff) cannot be a staff PIN, or None."""
    if not pin.isascii() or not pin.isdigit():
        return "must be digits only"
    if not MIN_DIGITS <= len(pin) <= MAX_DIGITS:
        return f"must be {MIN_DIGITS}–{MAX_DIGITS} digits (a shorter PIN falls to guessing)"
    if len(set(pin)) == 1:
        return "must not be one digit repeated"
    return None


def setting_problem(value: str) -> str | None:
    """Why a `ui.staff_pin` setting (hash or digits) is unusable, or None."""
    if value.startswith(SCHEME + "$"):
        return None if _parse(value) else "not a valid scrypt hash (make one with `kiosk pin hash`)"
    return pin_problem(value)


def hash_pin(pin: str, *, salt: bytes | None = None) -> str:
    problem = pin_problem(pin)
    if problem:
        raise PinError(f"staff PIN {problem}")
    salt = salt if salt is not None else os.urandom(16)
    key = _scrypt(pin, salt, COST_N, COST_R, COST_P)
    return "$".join([SCHEME, str(COST_N), str(COST_R), str(COST_P),
                     base64.b64encode(salt).decode(), base64.b64encode(key).decode()])


def is_hashed(value: str) -> bool:
    return _parse(value) is not None


def verify(setting: str, typed: str) -> bool:
    """Constant-time check of what staff typed against the setting (hash or digits)."""
    if not setting or not typed:
        return False
    parsed = _parse(setting)
    if parsed is None:
        return hmac.compare_digest(typed.encode(), setting.encode())
    n, r, p, salt, key = parsed
    if not typed.isascii() or len(typed) > MAX_DIGITS:
        return False
    return hmac.compare_digest(_scrypt(typed, salt, n, r, p), key)


def _parse(value: str) -> tuple[int, int, int, bytes, bytes] | None:
    match = _HASH.fullmatch(value)
    if not match:
        return None
    n, r, p = (int(match[i]) for i in (1, 2, 3))
    # Bounds keep a tampered setting from making every check take minutes or GiBs.
    if n < 2 or n & (n - 1) or n > 1 << 20 or not 1 <= r <= 32 or not 1 <= p <= 16:
        return None
    try:
        salt, key = base64.b64decode(match[4], validate=True), base64.b64decode(
            match[5], validate=True)
    except ValueError:
        return None
    return (n, r, p, salt, key) if len(salt) >= 8 and len(key) >= 16 else None


def _scrypt(pin: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(pin.encode(), salt=salt, n=n, r=r, p=p, dklen=32,
                          maxmem=256 * r * (n + p + 2) * 2)
