"""The demo configuration the way a real kiosk keeps it: the main file (no secret in
it: kiosk.config refuses one there), and a secrets file holding its passwords."""

from __future__ import annotations

from kiosk.config.loader import config_text, demo_config_text

DEMO_SECRETS = {"bhxh": 'password = "simulator-password"', "ui": 'staff_pin = "246802"'}


def demo_without_secrets() -> tuple[str, str]:
    """(main file text, secrets file text) of the built-in demo configuration."""
    text = demo_config_text()
    assert "password =" not in text and "staff_pin =" not in text
    return text, "".join(f"[{section}]\n{line}\n" for section, line in DEMO_SECRETS.items())


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
