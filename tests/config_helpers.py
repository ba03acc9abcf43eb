"""The demo configuration split the way a real kiosk keeps it: the main file without
secrets, and the secrets file holding them (kiosk.config refuses secrets in a main
file that names a secrets file)."""

from __future__ import annotations

from kiosk.config.loader import demo_config_text

DEMO_SECRETS = {"bhxh": 'password = "simulator-password"', "ui": 'staff_pin = "246802"'}


def demo_without_secrets() -> tuple[str, str]:
    """(main file text, secrets file text) of the built-in demo configuration."""
    text = demo_config_text()
    secrets = []
    for section, line in DEMO_SECRETS.items():
        assert line in text, f"the demo configuration no longer has {line!r}"
        text = text.replace(line + "\n", "", 1)
        secrets.append(f"[{section}]\n{line}\n")
    return text, "".join(secrets)
