"""Configuration files the way a real kiosk keeps them: the main file (no secret in
it: kiosk.config refuses one there, decision 0106), and a secrets file holding its
passwords. Tests write their configuration with `write_kiosk_config`."""

from __future__ import annotations

import re
from pathlib import Path

from kiosk.config.loader import HIS_SECRET_KEYS, SECRET_KEYS, config_text, demo_config_text

# The demo's secrets as a kiosk's secrets file would hold them (the built-in demo keeps
# its staff PIN in memory, and the BHXH simulator needs no password).
DEMO_SECRETS = {"bhxh": 'password = "simulator-password"', "ui": 'staff_pin = "246802"'}
_SECRET_LINES = {(table, key) for table, keys in SECRET_KEYS.items() for key in keys} | {
    ("his.settings", key) for key in HIS_SECRET_KEYS}
_HEADER = re.compile(r"^\s*\[(\[?)\s*([^\[\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(r"^\s*([A-Za-z0-9_-]+)\s*=")


def demo_with_secrets() -> str:
    """The built-in demo configuration with the secrets a kiosk would have, inline:
    `write_kiosk_config` moves them to the secrets file."""
    text = demo_config_text()
    assert "password =" not in text and "staff_pin =" not in text
    for section, line in DEMO_SECRETS.items():
        text = text.replace(f"[{section}]\n", f"[{section}]\n{line}\n", 1)
    return text


def write_kiosk_config(path: Path, text: str, secrets_mode: int = 0o600) -> Path:
    """Write `text` (TOML) at `path` as a kiosk keeps it: every secret line (`bhxh.password`,
    `his.settings.token`, …) moves to `<name>.secrets.toml` beside it (`secrets_mode`:
    0600 for a file of this user's own, 0640 root:kiosk on a kiosk), which
    `kiosk.secrets_file` names. Without a secret in `text`, `path` is written as is."""
    main: list[str] = []
    secret: dict[str, list[str]] = {}
    table = ""
    for line in text.splitlines(keepends=True):
        header, key = _HEADER.match(line), _KEY.match(line)
        if header:
            table = "" if header.group(1) else header.group(2)  # [[services]]: no secrets
        elif key and (table, key.group(1)) in _SECRET_LINES:
            secret.setdefault(table, []).append(line.strip())
            continue
        main.append(line)
    body = "".join(main)
    if secret:
        assert "secrets_file" not in body, "the text names its own secrets file"
        secrets_path = path.with_name(f"{path.stem}.secrets.toml")
        secrets_path.write_text("".join(f"[{t}]\n" + "\n".join(lines) + "\n"
                                        for t, lines in secret.items()), encoding="utf-8")
        secrets_path.chmod(secrets_mode)
        named = f'secrets_file = "{secrets_path}"\n'
        body, found = re.subn(r"(?m)^\[kiosk\][^\n]*\n", lambda m: m.group(0) + named, body,
                              count=1)
        body = body if found else f"[kiosk]\n{named}" + body
    path.write_text(body, encoding="utf-8")
    return path


PUBLIC_KEY = "11" * 32
# What a technician writes into `kiosk config new`'s empty values.
FILLED = {
    'id = ""': 'id = "bv-lobby-01"', 'code = ""  ': 'code = "01824"  ',
    'name = ""  ': 'name = "Bệnh viện Đa khoa Minh An"  ',
    'username = ""': 'username = "01824_BV"', 'password = ""': 'password = "s3cret-gateway"',
    'operator_name = ""': 'operator_name = "Trần Thị Lan"',
    'operator_cccd = ""': 'operator_cccd = "001185000123"',
    'url = ""  ': 'url = "https://his.benhvien.vn/fhir"  ',
    'target = ""': 'target = "0416:5011"', 'staff_pin = ""': 'staff_pin = "135791"',
    "public_keys = []": f'public_keys = ["{PUBLIC_KEY}"]',
}
SERVICE = {'code = ""  ': 'code = "KB-NOI"  ', 'name = ""  ': 'name = "Khám Nội"  ',
           'name_en = ""': 'name_en = "Internal medicine"', 'room = ""': 'room = "Phòng 101"',
           'department = ""': 'department = "NOI"', 'prefix = ""': 'prefix = "A"'}


def filled_new_config(text: str | None = None, **extra: str) -> str:
    """`kiosk config new` (or `text`, what an installed kiosk's printed) with every value
    filled in, in the order the file asks; `extra` replaces more."""
    text = config_text("new.toml") if text is None else text
    head, _, services = text.partition("[[services]]")
    for old, new in FILLED.items():
        assert old in head, old
        head = head.replace(old, new, 1)
    for old, new in SERVICE.items():
        assert old in services, old
        services = services.replace(old, new, 1)
    text = head + "[[services]]" + services
    for old, new in extra.items():
        assert old in text, old
        text = text.replace(old, new)
    return text
