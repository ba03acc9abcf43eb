"""Checks of the `[fleet]` settings the updater (which runs as root) relies on.

They live beside the configuration so a plain-http fleet server or a bad key is a
configuration error at load (`kiosk config check`), and the updater uses the very
same functions.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey


def parse_public_key(text: str) -> Ed25519PublicKey:
    """64 hex characters (the raw 32-byte key) or a PEM public key; ValueError otherwise."""
    text = text.strip()
    if "BEGIN PUBLIC KEY" in text:
        try:
            key = serialization.load_pem_public_key(text.encode())
        except (ValueError, TypeError) as exc:
            raise ValueError(f"unreadable PEM public key: {exc}") from None
        if not isinstance(key, Ed25519PublicKey):
            raise ValueError("PEM public key is not Ed25519")
        return key
    if len(text) != 64:
        raise ValueError(f"expected 64 hex characters (a raw Ed25519 key), got {len(text)}")
    try:
        return Ed25519PublicKey.from_public_bytes(bytes.fromhex(text))
    except ValueError as exc:
        raise ValueError(f"not a 32-byte hex Ed25519 key: {exc}") from None


def is_loopback_host(host: str | None) -> bool:
    return bool(host) and (host == "localhost" or host == "::1"
                           or bool(re.fullmatch(r"127\.\d{1,3}\.\d{1,3}\.\d{1,3}", host or "")))


def check_fleet_url(url: str) -> str:
    """The hawkBit server: https, plain http only to loopback (the tests' DDI server).
    Whoever answers a plain-http poll on a hospital network could offer updates and
    read the target token."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{url!r} is not an http(s) URL")
    if parts.username or parts.password:
        raise ValueError("must not carry credentials (the token goes in the secrets file)")
    if parts.scheme == "http" and not is_loopback_host(parts.hostname):
        raise ValueError("must be https:// (plain http only to a loopback test server)")
    return url.rstrip("/")
