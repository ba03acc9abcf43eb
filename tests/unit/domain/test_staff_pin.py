"""The staff PIN's hash: salted scrypt, at least 6 digits, tampered settings refused."""

import pytest

from kiosk.domain import staff_pin
from kiosk.domain.staff_pin import PinError, hash_pin, is_hashed, setting_problem, verify


def test_hash_verifies_only_the_right_pin_and_is_salted():
    one, two = hash_pin("246802"), hash_pin("246802")
    assert one != two and one.startswith("scrypt$16384$8$1$")  # a fresh salt each time
    assert "246802" not in one
    assert verify(one, "246802") and verify(two, "246802")
    assert not verify(one, "246803") and not verify(one, "") and not verify(one, "2468020")
    assert is_hashed(one) and setting_problem(one) is None


@pytest.mark.parametrize(("pin", "problem"), [
    ("12345", "must be 6–12 digits"),
    ("1234567890123", "must be 6–12 digits"),
    ("12345a", "digits only"),
    ("１２３４５６", "digits only"),  # full-width digits are not what the keypad types
    ("000000", "one digit repeated"),
])
def test_weak_or_odd_pins_are_refused(pin, problem):
    assert problem in setting_problem(pin)
    with pytest.raises(PinError, match=problem):
        hash_pin(pin)


def test_tampered_settings_are_not_hashes():
    good = hash_pin("135791")
    _, n, r, p, salt, key = good.split("$")
    for bad in (f"scrypt${1 << 24}${r}${p}${salt}${key}",  # would take minutes and GiBs
                f"scrypt$1000${r}${p}${salt}${key}",  # not a power of two
                f"scrypt${n}${r}${p}$!!${key}",
                f"scrypt${n}${r}${p}${salt}$QUJD"):  # key too short
        assert not is_hashed(bad) and "not a valid scrypt hash" in setting_problem(bad)
        assert not verify(bad, "135791") or bad == good


def test_plain_digits_still_verify_for_the_demo():
    assert verify("246802", "246802") and not verify("246802", "246801")
    assert staff_pin.MIN_DIGITS == 6
