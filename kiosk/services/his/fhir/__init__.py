"""FHIR R4 HIS adapter (Patient, Coverage, Encounter or Appointment; conditional creates)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kiosk.services.his.fhir.adapter import FhirAdapter

if TYPE_CHECKING:
    from kiosk.config import Config

__all__ = ["FhirAdapter", "build"]


def build(config: Config) -> FhirAdapter:
    return FhirAdapter(dict(config.his.settings))
