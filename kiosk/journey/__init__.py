"""The patient journey: a pure state machine plus the ports it drives."""

from kiosk.journey.machine import Journey, JourneySettings
from kiosk.journey.state import Session, Step

__all__ = ["Journey", "JourneySettings", "Session", "Step"]
