"""GNU Health (Tryton) HIS adapter over JSON-RPC."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kiosk.services.his.gnuhealth.adapter import GnuHealthAdapter

if TYPE_CHECKING:
    from kiosk.config import Config

__all__ = ["GnuHealthAdapter", "build"]


def build(config: Config) -> GnuHealthAdapter:
    return GnuHealthAdapter(dict(config.his.settings))
