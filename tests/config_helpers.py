"""The demo configuration the way a real kiosk keeps it: the main file (no secret in
it: kiosk.config refuses one there), and a secrets file holding its passwords."""

from __future__ import annotations

from kiosk.config.loader import demo_config_text

DEMO_SECRETS = {"bhxh": 'password = "simulator-password"', "ui": 'staff_pin = "246802"'}


def demo_without_secrets() -> tuple[str, str]:
    """(main file text, secrets file text) of the built-in demo configuration."""
    text = demo_config_text()
    assert "password =" not in text and "staff_pin =" not in text
    return text, "".join(f"[{section}]\n{line}\n" for section, line in DEMO_SECRETS.items())
