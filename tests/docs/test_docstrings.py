"""Every public object of the user API and the plugin-author API documents itself in numpydoc sections.

The API reference (docs/api.md, docs/plugin-api.md) is generated from these docstrings, so a
function without a Parameters, Returns or Examples section is a page without them. The walk covers
``tickstore_core.__all__``, ``tickstore_core.plugin.__all__``, the config functions, serenity's
compatibility classes and the conformance suites, and the public methods of every class among them.
"""

from __future__ import annotations

import ast
import doctest
import importlib
import inspect
import itertools
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import tickstore_core
import tickstore_core.compat.serenity
import tickstore_core.config
import tickstore_core.plugin
import tickstore_core.testing

MODULES = {
    "tickstore_core": list(tickstore_core.__all__),
    "tickstore_core.plugin": list(tickstore_core.plugin.__all__),
    "tickstore_core.config": list(tickstore_core.config.__all__),
    "tickstore_core.compat.serenity": [
        "Tickstore",
        "LocalTickstore",
        "AzureBlobTickstore",
        "BiTimestamp",
        "container_name",
    ],
    "tickstore_core.testing": ["BackendConformance", "StoreConformance", "make_ticks"],
    "tickstore_core.plugins": ["TickstoreSpecs"],
}
# modules whose examples run as doctests (the others' need a store with data, and say +SKIP)
DOCTEST_MODULES = [
    "tickstore_core.backend",
    "tickstore_core.compat.serenity",
    "tickstore_core.config",
    "tickstore_core.errors",
    "tickstore_core.index",
    "tickstore_core.options",
    "tickstore_core.plugin",
    "tickstore_core.plugins",
    "tickstore_core.testing.store_suite",
    "tickstore_core.times",
]
# exports that are neither classes nor functions: documented by a string right after their assignment
ATTRIBUTES = {
    "PutMode": "tickstore_core.backend",
    "Converter": "tickstore_core.options",
    "hookimpl": "tickstore_core.plugins",
}
SECTION = re.compile(r"^(?P<name>[A-Z][a-z]+(?: [A-Z]?[a-z]+)*)\n-{3,}$", re.MULTILINE)
SPHINX_ROLE = re.compile(r":(?:class|mod|func|meth|attr|data|exc|obj):`")
NO_ROLES = "Sphinx roles render raw in mkdocstrings; use [Name][tickstore_core.path] or backticks"
NOTHING = (None, "None", inspect.Signature.empty)


def _sections(doc: str) -> set[str]:
    return {match["name"] for match in SECTION.finditer(inspect.cleandoc(doc))}


def _own_doc(obj: Any) -> str:
    """The object's own docstring (a class's, not inherited from its base)."""
    if inspect.isclass(obj):
        return obj.__dict__.get("__doc__") or ""
    return inspect.getdoc(obj) or ""


def _is_error(obj: Any) -> bool:
    return inspect.isclass(obj) and issubclass(obj, BaseException)


def _public_methods(cls: type) -> Iterator[tuple[str, Any]]:
    """The class's public methods and properties that tickstore itself defines."""
    for name, _ in inspect.getmembers(cls):
        if name.startswith("_"):
            continue
        raw = inspect.getattr_static(cls, name)
        function = raw.fget if isinstance(raw, property) else getattr(raw, "__func__", raw)
        if not inspect.isfunction(function) or not function.__module__.startswith("tickstore_core"):
            continue
        yield name, raw


def _objects() -> Iterator[tuple[str, Any]]:
    seen: set[int] = set()
    for module_name, names in MODULES.items():
        module = importlib.import_module(module_name)
        for name in names:
            obj = getattr(module, name)
            if name in ATTRIBUTES or id(obj) in seen:
                continue
            seen.add(id(obj))
            yield f"{module_name}.{name}", obj
            # the conformance suites' members are pytest tests and fixtures, documented by the class
            if inspect.isclass(obj) and not _is_error(obj) and module_name != "tickstore_core.testing":
                for method_name, method in _public_methods(obj):
                    if id(method) not in seen:
                        seen.add(id(method))
                        yield f"{module_name}.{name}.{method_name}", method


OBJECTS = dict(_objects())


def test_the_walk_finds_the_api() -> None:
    for name in (
        "tickstore_core.open_store",
        "tickstore_core.Tickstore.select",
        "tickstore_core.Tickstore.insert",
        "tickstore_core.Backend.put",
        "tickstore_core.plugin.check_key",
        "tickstore_core.plugin.BackendOptions.parse",
        "tickstore_core.compat.serenity.Tickstore.select",
        "tickstore_core.testing.BackendConformance",
    ):
        assert name in OBJECTS, name
    assert "tickstore_core.testing.BackendConformance.test_put_get" not in OBJECTS


def test_every_export_is_a_class_a_function_or_a_documented_attribute() -> None:
    for module_name, names in MODULES.items():
        module = importlib.import_module(module_name)
        for name in names:
            obj = getattr(module, name)
            assert inspect.isclass(obj) or inspect.isfunction(obj) or name in ATTRIBUTES, f"{module_name}.{name}"


@pytest.mark.parametrize("name", sorted(ATTRIBUTES))
def test_attribute_exports_carry_a_docstring(name: str) -> None:
    source = Path(inspect.getfile(importlib.import_module(ATTRIBUTES[name]))).read_text()
    body = ast.parse(source).body
    for statement, following in itertools.pairwise(body):
        targets = statement.targets if isinstance(statement, ast.Assign) else [getattr(statement, "target", None)]
        if any(isinstance(t, ast.Name) and t.id == name for t in targets):
            assert isinstance(following, ast.Expr) and isinstance(following.value, ast.Constant), name
            assert isinstance(following.value.value, str) and following.value.value.strip(), name
            assert not SPHINX_ROLE.search(following.value.value), name
            return
    pytest.fail(f"{name} is not assigned in {ATTRIBUTES[name]}")


@pytest.mark.parametrize("name", sorted(name for name, obj in OBJECTS.items() if _is_error(obj)))
def test_every_error_says_in_one_line_when_it_is_raised(name: str) -> None:
    doc = _own_doc(OBJECTS[name])
    assert doc.strip(), f"{name} has no docstring of its own"
    summary = inspect.cleandoc(doc).split("\n\n")[0]
    assert summary.endswith("."), f"{name}: the first paragraph should be one sentence ending with '.'"
    assert not SPHINX_ROLE.search(doc), f"{name}: {NO_ROLES}"


@pytest.mark.parametrize("name", sorted(name for name, obj in OBJECTS.items() if not _is_error(obj)))
def test_every_public_object_has_numpydoc_sections(name: str) -> None:
    obj = OBJECTS[name]
    doc = _own_doc(obj)
    assert doc.strip(), f"{name} has no docstring"
    assert not SPHINX_ROLE.search(doc), f"{name}: {NO_ROLES}"
    if isinstance(obj, property):
        return  # documented as an attribute: what it is, no sections
    sections = _sections(doc)
    assert "Examples" in sections, f"{name}: no Examples section"
    function = getattr(obj, "__func__", obj)
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):  # pragma: no cover - a builtin without a signature
        return
    parameters = [p for p in signature.parameters.values() if p.name not in ("self", "cls")]
    if parameters:
        wanted = {"Parameters", "Attributes"} if inspect.isclass(obj) else {"Parameters"}
        assert sections & wanted, f"{name} takes {[p.name for p in parameters]} but has no Parameters section"
    if inspect.isfunction(function) and signature.return_annotation not in NOTHING:
        assert sections & {"Returns", "Yields"}, f"{name} returns {signature.return_annotation} but has no Returns"


@pytest.mark.parametrize("module_name", DOCTEST_MODULES)
def test_the_examples_run(module_name: str) -> None:
    module = importlib.import_module(module_name)
    report: list[str] = []
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    for test in doctest.DocTestFinder(exclude_empty=True).find(module):
        runner.run(test, out=report.append)
    assert runner.failures == 0, "".join(report)
