"""HIS adapters: one folder per vendor behind the `HisAdapter` interface in `base`.

`build_adapter(config)` is the only entry point the rest of the kiosk uses. Each
adapter package `kiosk.services.his.<name>` exposes

    def build(config: Config) -> HisAdapter

reading its own `config.his.settings` (secrets already merged). Packages are
imported lazily, so a vendor's dependencies load only where it is configured.
Adding a vendor: a new folder with `build()`, its name in `ADAPTERS`, and the
config loader's list of adapter names.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from kiosk.domain.appointment import Appointment
from kiosk.services.his.base import (
    HisAdapter,
    HisError,
    HisPatient,
    HisService,
    HisUnavailable,
    HisVisit,
)

if TYPE_CHECKING:
    from kiosk.config import Config

ADAPTERS = ("simulator", "fhir", "gnuhealth", "rest")

__all__ = ["ADAPTERS", "Appointment", "HisAdapter", "HisError", "HisPatient", "HisService",
           "HisUnavailable", "HisVisit", "build_adapter"]


class HisConfigError(ValueError):
    """The `[his]` configuration cannot make an adapter (message names the setting)."""


def build_adapter(config: Config) -> HisAdapter:
    name = config.his.adapter
    if name not in ADAPTERS:
        raise HisConfigError(f"his.adapter: unknown adapter {name!r}")
    module = importlib.import_module(f"{__name__}.{name}")
    build = getattr(module, "build", None)
    if build is None:
        raise HisConfigError(f"his.adapter: {name!r} adapter is not available in this build")
    adapter: HisAdapter = build(config)
    return adapter
