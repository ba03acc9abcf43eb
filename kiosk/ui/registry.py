"""Which screen class shows which journey step.

The built-in screens register themselves; another package replaces one by
registering its own class for the step, e.g. the health-book guide::

    # kiosk/ui/health_book/__init__.py
    from kiosk.journey.state import Step
    from kiosk.ui.registry import register_screen
    from kiosk.ui.screens.base import StepScreen

    @register_screen(Step.HEALTH_BOOK)
    class HealthBookGuide(StepScreen):
        step = Step.HEALTH_BOOK
        def build(self) -> None: ...            # widgets, once
        def render(self, session) -> None: ...  # every change (self.ctx.lang is current)
        def wipe(self) -> None: ...             # drop anything personal
        # finish with self.ctx.send(HealthBookFinished(completed=True/False))

The app imports `kiosk.ui.health_book` (if present) before building screens,
so registering there is enough. The last registration for a step wins.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from kiosk.journey.state import Step

if TYPE_CHECKING:
    from kiosk.ui.screens.base import StepScreen

S = TypeVar("S", bound="type[StepScreen]")
_SCREENS: dict[Step, type[StepScreen]] = {}
PLUGINS = ("kiosk.ui.health_book",)


def register_screen(step: Step) -> Callable[[S], S]:
    def decorate(cls: S) -> S:
        _SCREENS[step] = cls
        return cls

    return decorate


def screen_class(step: Step) -> type[StepScreen]:
    return _SCREENS[step]


def registered() -> dict[Step, type[StepScreen]]:
    return dict(_SCREENS)


def load_plugins() -> list[str]:
    """Import the screen packages other issues provide; returns those found."""
    import importlib
    import importlib.util

    import kiosk.ui.screens  # noqa: F401  (built-ins register first)

    found = []
    for name in PLUGINS:
        if importlib.util.find_spec(name) is not None:
            importlib.import_module(name)
            found.append(name)
    return found
