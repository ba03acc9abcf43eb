"""What a staff PIN guess costs: the stored scrypt hash vs the plain-text compare it
replaced, per check (the pad's own delay) and for an offline search of a copied
secrets file, and how long guessing takes through the PIN pad's waits and lockout.

    .venv/bin/python benchmarks/staff_pin.py [--checks 20]
"""

from __future__ import annotations

import argparse
import hmac
import statistics
import time

from kiosk.domain.staff_pin import hash_pin, verify
from kiosk.ops.pin_attempts import FIRST_DELAY_S, FREE_TRIES, LOCKOUT_AFTER, LOCKOUT_S


def timed(fn, n: int) -> float:
    samples = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def pad_time_to_try(guesses: int) -> float:
    """Seconds the PIN pad makes an attacker wait to type `guesses` wrong PINs."""
    total = 0.0
    for streak in range(1, guesses + 1):
        if streak >= LOCKOUT_AFTER:
            total += LOCKOUT_S
        elif streak > FREE_TRIES:
            total += FIRST_DELAY_S * 2 ** (streak - FREE_TRIES - 1)
    return total


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--checks", type=int, default=20)
    args = parser.parse_args()
    stored = hash_pin("246802")
    scrypt_s = timed(lambda: verify(stored, "246803"), args.checks)
    plain_s = timed(lambda: hmac.compare_digest(b"246803", b"246802"), args.checks * 1000)
    space = 10 ** 6  # 6 digits
    print(f"{'check':<28}{'median':>12}{'offline search of 10^6 PINs (1 core)':>40}")
    print(f"{'plain compare (before)':<28}{plain_s * 1e6:>9.2f} µs{space * plain_s:>37.3f} s")
    print(f"{'scrypt n=2^14 r=8 (now)':<28}{scrypt_s * 1e3:>9.1f} ms"
          f"{space * scrypt_s / 3600:>37.1f} h")
    print(f"ratio scrypt/plain: {scrypt_s / plain_s:,.0f}x")
    half = space // 2
    print(f"through the PIN pad: 10 guesses take {pad_time_to_try(10) / 60:.0f} min; "
          f"half of 10^6 ({half}) take {pad_time_to_try(half) / 3600 / 24 / 365:,.0f} years "
          f"(the 4-digit PIN of issue 16 fell at try 7392 with no wait)")


if __name__ == "__main__":
    main()
