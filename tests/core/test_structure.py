"""The shape of the code that docs/design.md's layer map promises: small modules, no import
cycles, no module reaching into another's private names."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = [ROOT / "tickstore_core", *sorted((ROOT / "backends").glob("*/tickstore_*"))]
MAX_LINES = 600


def _modules() -> dict[str, Path]:
    """Dotted module name -> file, for the core and every backend package."""
    found = {}
    for package in PACKAGES:
        for path in package.rglob("*.py"):
            parts = path.relative_to(package.parent).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


MODULES = _modules()


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _runtime_imports(name: str, path: Path) -> list[tuple[str, list[str]]]:
    """(imported module, names taken from it) for every import that runs (not under TYPE_CHECKING)."""
    is_package = path.name == "__init__.py"
    package = name if is_package else name.rpartition(".")[0]
    found: list[tuple[str, list[str]]] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            names = [alias.name for alias in node.names]
            submodules = [f"{module}.{n}" for n in names if f"{module}.{n}" in MODULES]
            found.append((module, [n for n in names if f"{module}.{n}" not in MODULES]))
            found.extend((sub, []) for sub in submodules)
        elif isinstance(node, ast.Import):
            found.extend((alias.name, []) for alias in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text()))
    return [(module, names) for module, names in found if module in MODULES]


@pytest.mark.parametrize("name", sorted(MODULES))
def test_no_module_is_longer_than_the_limit(name):
    lines = len(MODULES[name].read_text().splitlines())
    assert lines <= MAX_LINES, f"{name} has {lines} lines; split it along a seam (docs/design.md, 'Layers')"


def test_no_module_imports_a_private_name_of_another():
    offences = [
        f"{name} imports {module}.{imported}"
        for name, path in MODULES.items()
        for module, names in _runtime_imports(name, path)
        for imported in names
        if imported.startswith("_") and not imported.startswith("__") and module != name
    ]
    assert not offences


def test_the_modules_import_each_other_without_a_cycle():
    graph = {
        name: {module for module, _ in _runtime_imports(name, path) if module != name} for name, path in MODULES.items()
    }
    # Importing a submodule also runs its package's __init__, which may import lazily from the
    # submodules: only edges between modules count, not the implicit parent-package import.
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def walk(node: str, trail: list[str]) -> None:
        state[node] = 1
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                cycles.append([*trail[trail.index(target) :], target])
            elif target not in state:
                walk(target, [*trail, target])
        state[node] = 2

    for start in sorted(graph):
        if start not in state:
            walk(start, [start])
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)


def test_the_structure_checks_see_imports():
    """The checks above would catch what they look for (they parse the real tree)."""
    store_imports = {module for module, _ in _runtime_imports("tickstore_core.store", MODULES["tickstore_core.store"])}
    assert "tickstore_core.engine" in store_imports
    assert len(MODULES) > 30
