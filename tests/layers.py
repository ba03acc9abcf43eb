"""The one-way layers of ARCHITECTURE.md as a check over the imports of kiosk/ and drivers/.

`python -m tests.layers` (part of `make lint`) reads every module with `ast` (nothing
is imported or run), maps each `import` to the room it points into, and fails on an
arrow the table below does not allow, and on `import_module`/`__import__` of a kiosk or
drivers module (or of a computed name) outside the plugin loaders. Imports inside
functions and under TYPE_CHECKING count too: they are dependencies all the same.
The rules and why: docs/decisions/0180.
"""

from __future__ import annotations

import ast
import functools
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Room -> the rooms it may import from (its own room always). "base" is the kiosk
# package itself and kiosk/assets.py (version, asset paths); "runtime" holds the small
# helpers several layers share (circuit breaker, sd_notify).
ALLOWED: dict[str, frozenset[str]] = {
    "drivers": frozenset(),  # hardware, knows nothing about hospitals
    "base": frozenset(),
    "runtime": frozenset(),  # below every user: imports nothing from the kiosk
    "domain": frozenset(),  # values and rules, no I/O
    "config": frozenset({"base", "domain"}),
    "journey": frozenset({"base", "domain"}),
    "store": frozenset({"base", "runtime", "domain", "config"}),
    "lobby": frozenset({"base", "runtime", "domain", "config", "store"}),
    "services": frozenset({"base", "runtime", "drivers", "domain", "config", "journey",
                           "store", "lobby"}),
    "ops": frozenset({"base", "runtime", "drivers", "domain", "config", "journey", "store",
                      "lobby", "services"}),
    "ui": frozenset({"base", "runtime", "domain", "journey", "ops"}),
    "demo": frozenset({"base", "runtime", "drivers", "domain", "config", "journey", "store",
                       "lobby", "services", "ops", "ui"}),
    "cli": frozenset({"base", "runtime", "drivers", "domain", "config", "journey", "store",
                      "lobby", "services", "ops", "ui", "demo"}),
}
# (module, imported module) pairs allowed against the table, each with its reason.
EXCEPTIONS: dict[tuple[str, str], str] = {
    ("kiosk.ui.staff_status", "kiosk.store.retention"):
        "the staff screen's count of the kiosk's own unsynced rows, read off the UI thread",
    ("kiosk.ui.staff_status", "kiosk.services.wiring"):
        "the Assembly type, for `kiosk run` and the demo (TYPE_CHECKING only)",
}
# Modules that load plugins by name (their own subpackages or PLUGINS).
PLUGIN_LOADERS = frozenset({"kiosk.cli", "kiosk.services.his", "kiosk.ui.registry"})


def room(module: str) -> str | None:
    """The room a module belongs to, or None outside kiosk/ and drivers/."""
    parts = module.split(".")
    if parts[0] == "drivers":
        return "drivers"
    if parts[0] != "kiosk":
        return None
    if len(parts) == 1 or parts[1] == "assets":
        return "base"
    return parts[1]  # a new room must be added to ALLOWED before it can import anything


def _module_name(path: Path, root: Path) -> tuple[str, bool]:
    parts = list(path.relative_to(root).with_suffix("").parts)
    package = parts[-1] == "__init__"
    if package:
        parts.pop()
    return ".".join(parts), package


def _imports(tree: ast.AST, module: str, package: bool) -> Iterator[tuple[int, str]]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against this module's package
                base = module.split(".")
                base = base if package else base[:-1]
                base = base[:len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target == "kiosk":  # `from kiosk import ui` imports a room, not the base
                for alias in node.names:
                    yield node.lineno, f"kiosk.{alias.name}" if alias.name in ALLOWED else target
            else:
                yield node.lineno, target


def _dynamic_imports(tree: ast.AST) -> Iterator[tuple[int, str]]:
    """import_module/__import__ calls that name a kiosk or drivers module, or a computed one."""
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        if name not in ("import_module", "__import__"):
            continue
        arg = node.args[0]
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
            if room(arg.value) is None:
                continue  # a library module, e.g. __import__("random")
            yield node.lineno, arg.value
        else:
            yield node.lineno, ast.unparse(arg)


@functools.lru_cache(maxsize=1024)
def _scan(source: str, module: str, package: bool) -> tuple[list[tuple[int, str]],
                                                            list[tuple[int, str]]]:
    """The module's imports and dynamic imports (cached: the tests check many copies
    of one tree)."""
    tree = ast.parse(source)
    return list(_imports(tree, module, package)), list(_dynamic_imports(tree))


def violations(root: Path = ROOT) -> list[str]:
    found = []
    files = sorted([*root.glob("kiosk/**/*.py"), *root.glob("drivers/**/*.py")])
    for path in files:
        module, package = _module_name(path, root)
        source_room = room(module)
        assert source_room is not None
        imports, dynamic = _scan(path.read_text(encoding="utf-8"), module, package)
        where = path.relative_to(root)
        for line, target in imports:
            target_room = room(target)
            if target_room is None or target_room == source_room:
                continue
            if target_room in ALLOWED.get(source_room, frozenset()):
                continue
            if (module, target) in EXCEPTIONS:
                continue
            found.append(f"{where}:{line}: {source_room} -> {target_room} ({target}): "
                         f"{source_room} may import only "
                         f"{', '.join(sorted(ALLOWED.get(source_room, ()))) or 'its own room'}")
        if module not in PLUGIN_LOADERS:
            for line, target in dynamic:
                found.append(f"{where}:{line}: dynamic import of {target}: import it plainly "
                             "(only plugin loaders import by name)")
    return found


def main() -> int:
    found = violations()
    for line in found:
        print(line, file=sys.stderr)
    if found:
        print(f"{len(found)} import(s) against the layers (docs/decisions/0180)", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
