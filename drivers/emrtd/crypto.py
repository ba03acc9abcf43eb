"""Symmetric primitives of ICAO 9303-11: padding, DES3 retail MAC, AES CMAC, KDF."""

from __future__ import annotations

import hashlib

from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.cmac import CMAC

from drivers.emrtd.errors import SecureMessagingError


def pad(data: bytes, block: int = 8) -> bytes:
    """ISO/IEC 9797-1 padding method 2 (80 00 ..)."""
    n = block - (len(data) + 1) % block
    return data + b"\x80" + b"\x00" * (n % block)


def unpad(data: bytes) -> bytes:
    stripped = data.rstrip(b"\x00")
    if not stripped or stripped[-1] != 0x80:
        raise SecureMessagingError("bad ISO 9797-1 padding")
    return stripped[:-1]


def _des3_key(key: bytes) -> bytes:
    """Expand 8-byte DES and 16-byte 2-key 3DES keys to the 24-byte K1 K2 K3 form."""
    if len(key) == 8:
        return key * 3
    if len(key) == 16:
        return key + key[:8]
    return key


def des3_encrypt(key: bytes, data: bytes, iv: bytes = bytes(8)) -> bytes:
    enc = Cipher(TripleDES(_des3_key(key)), modes.CBC(iv)).encryptor()
    return enc.update(data) + enc.finalize()


def des3_decrypt(key: bytes, data: bytes, iv: bytes = bytes(8)) -> bytes:
    if len(data) % 8:
        raise SecureMessagingError("3DES ciphertext is not a whole number of blocks")
    dec = Cipher(TripleDES(_des3_key(key)), modes.CBC(iv)).decryptor()
    return dec.update(data) + dec.finalize()


def retail_mac(key: bytes, data: bytes) -> bytes:
    """ISO/IEC 9797-1 MAC algorithm 3 with DES (input already padded)."""
    ka, kb = key[:8], key[8:16]
    if len(data) % 8 or not data:
        raise ValueError("retail MAC input must be padded to whole blocks")
    enc = Cipher(TripleDES(_des3_key(ka)), modes.CBC(bytes(8))).encryptor()
    h = (enc.update(data) + enc.finalize())[-8:]
    dec = Cipher(TripleDES(_des3_key(kb)), modes.ECB()).decryptor()
    h = dec.update(h) + dec.finalize()
    enc2 = Cipher(TripleDES(_des3_key(ka)), modes.ECB()).encryptor()
    return enc2.update(h) + enc2.finalize()


def aes_cbc_encrypt(key: bytes, data: bytes, iv: bytes = bytes(16)) -> bytes:
    enc = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    return enc.update(data) + enc.finalize()


def aes_cbc_decrypt(key: bytes, data: bytes, iv: bytes = bytes(16)) -> bytes:
    if len(data) % 16 or not data:
        raise SecureMessagingError("AES ciphertext is not a whole number of blocks")
    dec = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    return dec.update(data) + dec.finalize()


def aes_ecb_encrypt(key: bytes, block: bytes) -> bytes:
    enc = Cipher(algorithms.AES(key), modes.ECB()).encryptor()
    return enc.update(block) + enc.finalize()


def aes_cmac(key: bytes, data: bytes) -> bytes:
    c = CMAC(algorithms.AES(key))
    c.update(data)
    return c.finalize()


def adjust_parity(key: bytes) -> bytes:
    """Set DES odd parity (the ICAO vectors print keys parity-adjusted)."""
    out = bytearray()
    for b in key:
        b &= 0xFE
        out.append(b | (bin(b).count("1") % 2 == 0))
    return bytes(out)


def kdf(secret: bytes, counter: int, cipher: str = "3DES", key_len: int = 16) -> bytes:
    """ICAO 9303-11 §9.7.1 key derivation: hash(secret || counter)."""
    suffix = counter.to_bytes(4, "big")
    if cipher == "3DES":
        return adjust_parity(hashlib.sha1(secret + suffix).digest()[:16])
    if key_len == 16:
        return hashlib.sha1(secret + suffix).digest()[:16]
    return hashlib.sha256(secret + suffix).digest()[:key_len]
