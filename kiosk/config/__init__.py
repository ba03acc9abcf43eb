"""Kiosk configuration: one TOML file plus a secrets file (both 0640 root:kiosk).

`load()` finds the file (argument, ``$KIOSK_CONFIG``, ``/etc/kiosk/kiosk.toml``,
else the built-in demo configuration), merges the secrets, validates every
key and raises `ConfigError` listing each problem as ``key: what is wrong``
(English; ``details`` adds Vietnamese). Unknown keys are errors naming the nearest
known key: each section's parser in `sections` reads its table through `table.Table`,
which records what was read (docs/decisions/0086).
"""

from kiosk.config.loader import DEFAULT_PATH, demo_config, load, load_file
from kiosk.config.model import (
    BhxhConfig,
    Config,
    DevicesConfig,
    FacilityConfig,
    FleetConfig,
    HisConfig,
    LobbyConfig,
    PrinterConfig,
    RetentionConfig,
    ServiceConfig,
    UiConfig,
)
from kiosk.config.table import ConfigError, Problem

__all__ = [
    "DEFAULT_PATH",
    "BhxhConfig",
    "Config",
    "ConfigError",
    "DevicesConfig",
    "FacilityConfig",
    "FleetConfig",
    "HisConfig",
    "LobbyConfig",
    "PrinterConfig",
    "Problem",
    "RetentionConfig",
    "ServiceConfig",
    "UiConfig",
    "demo_config",
    "load",
    "load_file",
]
