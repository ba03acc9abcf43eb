"""Generic REST/JSON HIS adapter (declarative field mapping from `[his.settings]`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kiosk.config.rest_mapping import MappingError
from kiosk.services.his.rest.adapter import RestAdapter

if TYPE_CHECKING:
    from kiosk.config import Config

__all__ = ["MappingError", "RestAdapter", "build"]


def build(config: Config) -> RestAdapter:
    return RestAdapter(dict(config.his.settings))
