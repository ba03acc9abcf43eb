"""HIS test servers, a FHIR validator on fhir.resources, and config files for
`kiosk` subprocesses pointed at them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B import get_fhir_model_class

from kiosk.config.loader import demo_config_text
from kiosk.services.his.fhir import FhirAdapter
from kiosk.services.his.fhir.server import FhirTestServer
from tests.config_helpers import write_kiosk_config


def fhir_validate(resource: dict[str, Any]) -> None:
    """Raises unless `resource` is a valid R4 resource of its type."""
    get_fhir_model_class(resource["resourceType"]).model_validate(resource)


@pytest.fixture
def fhir() -> Iterator[tuple[FhirTestServer, FhirAdapter]]:
    """A FHIR test server that validates what it is sent, and an adapter on it."""
    server = FhirTestServer(validator=fhir_validate)
    server.start()
    adapter = FhirAdapter({"url": server.url, "timeout_s": 1.0})
    yield server, adapter
    adapter.close()
    server.stop()


def _toml_value(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False) if not isinstance(value, bool) else \
        str(value).lower()


def write_config(directory: Path, adapter: str, settings: dict[str, Any],
                 sync: dict[str, Any] | None = None, extra: str = "") -> Path:
    """The demo configuration with `[his]` replaced, state under `directory/state` (the
    adapter's password or token in a secrets file beside it)."""
    text = demo_config_text()
    his = [f'[his]\nadapter = "{adapter}"\n', "[his.settings]\n"]
    his += [f"{k} = {_toml_value(v)}\n" for k, v in settings.items()]
    if sync:
        his.append("[his.settings.sync]\n")
        his += [f"{k} = {_toml_value(v)}\n" for k, v in sync.items()]
    text = text.replace('[his]\nadapter = "simulator"\n', "".join(his) + "\n")
    text = text.replace('state_dir = "demo-output/state"',
                        f'state_dir = "{directory / "state"}"')
    text = text.replace('target = "demo-output/tickets"', f'target = "{directory / "tickets"}"')
    return write_kiosk_config(directory / "kiosk.toml", text + extra)
