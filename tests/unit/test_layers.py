"""The layer check (tests/layers.py, run by `make lint`): the tree keeps the layers,
and each of the four imports issue 31 removed fails it when put back."""

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.layers import ROOT, violations


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the Python sources of kiosk/ and drivers/ (all the check reads)."""
    root = tmp_path_factory.mktemp("tree")
    for path in [*ROOT.glob("kiosk/**/*.py"), *ROOT.glob("drivers/**/*.py")]:
        copy = root / path.relative_to(ROOT)
        copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, copy)
    return root


@pytest.fixture
def tree(sources: Path) -> Iterator[Path]:
    """The copy, with every file a test edits put back afterwards."""
    before = {path: path.read_bytes() for path in sources.glob("**/*.py")}
    yield sources
    for path, data in before.items():
        if path.read_bytes() != data:
            path.write_bytes(data)


def put(tree: Path, module: str, line: str) -> None:
    path = tree / module
    path.write_text(path.read_text(encoding="utf-8") + "\n" + line + "\n", encoding="utf-8")


def test_the_tree_keeps_the_layers() -> None:
    assert violations() == []


@pytest.mark.parametrize(("module", "line", "expected"), [
    ("kiosk/lobby/client.py", "from kiosk.services.bhxh.client import BhxhClient",
     "lobby -> services"),
    ("kiosk/services/sync.py", "from kiosk.ops import activity", "services -> ops"),
    ("kiosk/services/sync.py",
     'importlib.import_module("kiosk.ops.sdnotify")', "dynamic import of kiosk.ops.sdnotify"),
    ("kiosk/config/his.py", "from kiosk.services.his.rest import mapping", "config -> services"),
    ("kiosk/demo/ui_demo.py",
     "def f():\n    from kiosk.cli._devices import device_sources", "demo -> cli"),
    ("kiosk/ui/app.py", "from kiosk.store import transaction", "ui -> store"),
    ("kiosk/domain/queue.py", "import kiosk.config", "domain -> config"),
    ("kiosk/runtime/breaker.py", "from kiosk.domain import text", "runtime -> domain"),
    ("drivers/pcsc.py", "from kiosk.domain.citizen_id import CitizenId", "drivers -> domain"),
    # relative imports are resolved, TYPE_CHECKING ones count
    ("kiosk/lobby/client.py", "from ..services.bhxh import client", "lobby -> services"),
    ("kiosk/journey/__init__.py",
     "if TYPE_CHECKING:\n    from .. import ui", "journey -> ui"),
    ("kiosk/store/db.py", "x = __import__(name)", "dynamic import of name"),
])
def test_an_import_against_the_layers_fails(tree: Path, module: str, line: str,
                                            expected: str) -> None:
    put(tree, module, line)
    found = violations(tree)
    assert len(found) == 1 and expected in found[0], found
    assert found[0].startswith(f"{module}:")


def test_a_library_import_by_name_and_the_plugin_loaders_pass(tree: Path) -> None:
    put(tree, "kiosk/store/db.py", 'random = __import__("random")')
    put(tree, "kiosk/services/his/__init__.py", 'importlib.import_module(f"{__name__}.x")')
    assert violations(tree) == []
