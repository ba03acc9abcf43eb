"""ICAO 9303-11 worked example (BAC, 3DES secure messaging): DOMAIN.md §3."""

from __future__ import annotations

import pytest

from drivers.emrtd import bac
from drivers.emrtd.apdu import Command
from drivers.emrtd.errors import SecureMessagingError
from drivers.emrtd.sm import Des3SecureMessaging

H = bytes.fromhex


def test_key_derivation_worked_example() -> None:
    keys = bac.derive_keys("L898902C<369080619406236")
    assert keys.k_seed == H("239AB9CB282DAF66231DC5A4DF6BFBAE")
    assert keys.k_enc == H("AB94FDECF2674FDFB9B391F85D7F76F2")
    assert keys.k_mac == H("7962D9ECE03D1ACD4C76089DCE131543")


def test_key_derivation_synthetic_cccd() -> None:
    keys = bac.derive_keys("090123456290010113001019")
    assert keys.k_seed == H("7C982411E7BFC7420E579DCC18D88AF8")
    assert keys.k_enc == H("3B944610FB83FD4AFE617F0B5D8AABF8")
    assert keys.k_mac == H("9EE910A7836E1A839EBF7F26CB645E67")


def test_mutual_authentication_and_session_keys() -> None:
    keys = bac.derive_keys("L898902C<369080619406236")
    sent: list[bytes] = []
    chip_resp = H(
        "46B9342A41396CD7386BF5803104D7CEDC122B9132139BAF2EEDC94EE178534F2F2D235D074D7449"
    )

    def transmit(apdu: bytes) -> bytes:
        sent.append(apdu)
        if apdu[1] == 0x84:
            return H("4608F91988702212") + b"\x90\x00"
        return chip_resp + b"\x90\x00"

    sm = bac.terminal_authenticate(
        transmit, keys, rnd_ifd=H("781723860C06C226"), k_ifd=H("0B795240CB7049B01C19B33E32804F0B")
    )
    assert sent[1][5:37] == H("72C29C2371CC9BDB65B779B8E8D37B29ECC154AA56A8799FAE2F498F76ED92F2")
    assert sent[1][37:45] == H("5F1448EEA8AD90A7")
    assert sm.ks_enc == H("979EC13B1CBFE9DCD01AB0FED307EAE5")
    assert sm.ks_mac == H("F1CB1F1FB5ADF208806B89DC579DC1F8")
    assert sm.ssc == 0x887022120C06C226


def _session() -> Des3SecureMessaging:
    return Des3SecureMessaging(
        H("979EC13B1CBFE9DCD01AB0FED307EAE5"),
        H("F1CB1F1FB5ADF208806B89DC579DC1F8"),
        0x887022120C06C226,
    )


def test_secure_messaging_worked_example() -> None:
    sm = _session()
    cmd = sm.protect(Command(0x00, 0xA4, 0x02, 0x0C, H("011E")))
    assert cmd == H("0CA4020C158709016375432908C044F68E08BF8B92D635FF24F800")
    r = sm.unprotect(H("990290008E08FA855A5D4C50A8ED9000"))
    assert (r.data, r.sw) == (b"", 0x9000)
    assert sm.protect(Command(0x00, 0xB0, 0, 0, le=4)) == H(
        "0CB000000D9701048E08ED6705417E96BA5500"
    )
    r = sm.unprotect(H("8709019FF0EC34F9922651990290008E08AD55CC17140B2DED9000"))
    assert r.data == H("60145F01")
    assert sm.protect(Command(0x00, 0xB0, 0, 4, le=0x12)) == H(
        "0CB000040D9701128E082EA28A70F3C7B53500"
    )
    r = sm.unprotect(
        H("871901FB9235F4E4037F2327DCC8964F1F9B8C30F42C8E2FFF224A990290008E08C8B2787EAEA07D749000")
    )
    assert r.data == H("04303130365F36063034303030305C026175")


def test_bad_response_mac_is_an_error_not_data() -> None:
    sm = _session()
    sm.protect(Command(0x00, 0xA4, 0x02, 0x0C, H("011E")))
    sm.unprotect(H("990290008E08FA855A5D4C50A8ED9000"))
    sm.protect(Command(0x00, 0xB0, 0, 0, le=4))
    tampered = bytearray(H("8709019FF0EC34F9922651990290008E08AD55CC17140B2DED9000"))
    tampered[4] ^= 1
    with pytest.raises(SecureMessagingError):
        sm.unprotect(bytes(tampered))


def test_chip_side_round_trip() -> None:
    term, chip = _session(), _session()
    raw = term.protect(Command(0x00, 0xB0, 0, 0, le=4))
    opened = chip.unprotect_command(Command.decode(raw))
    assert (opened.ins, opened.le) == (0xB0, 4)
    resp = chip.protect_response(H("60145F01"), 0x9000)
    assert term.unprotect(resp).data == H("60145F01")
    assert term.ssc == chip.ssc
