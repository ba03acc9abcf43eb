"""BHXH gateway card check: client, interpretation glue, cache, simulator, re-check.

Build the journey's insurance port with
``BhxhInsurance(BhxhClient.from_config(config.bhxh, base_url), facility_code=…,
cache=BhxhCache(db), budget_s=config.bhxh.budget_s)``; for ``bhxh.url ==
"simulator"`` start ``BhxhGatewaySimulator()`` first and pass its base URL.
"""

import logging

from kiosk.runtime.breaker import CircuitBreaker
from kiosk.services.bhxh.adapter import BhxhInsurance
from kiosk.services.bhxh.cache import BhxhCache
from kiosk.services.bhxh.client import BhxhClient
from kiosk.services.bhxh.errors import (
    CircuitOpen,
    GatewayAuthError,
    GatewayConfigError,
    GatewayError,
    GatewayProtocolError,
    GatewayUnavailable,
)

# A library logs; the application decides where to (no stderr noise in CLI output).
logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = [
    "BhxhCache",
    "BhxhClient",
    "BhxhInsurance",
    "CircuitBreaker",
    "CircuitOpen",
    "GatewayAuthError",
    "GatewayConfigError",
    "GatewayError",
    "GatewayProtocolError",
    "GatewayUnavailable",
]
