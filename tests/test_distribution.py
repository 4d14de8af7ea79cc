"""The distributions of one release agree: one version everywhere, and the package reports it."""

from __future__ import annotations

import importlib.metadata
import re
import subprocess
import sys
from pathlib import Path

import pytest
import tomllib

import tickstore_core

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

REPO = Path(__file__).resolve().parents[1]
PROJECTS = [
    "pyproject.toml",
    "distributions/tickstore/pyproject.toml",
    *sorted(str(p.relative_to(REPO)) for p in (REPO / "backends").glob("*/pyproject.toml")),
]


def _project(path: str) -> dict:
    return tomllib.loads((REPO / path).read_text())["project"]


def test_every_distribution_carries_the_changelog_version() -> None:
    newest = re.search(r"^## (\d+\.\d+\.\d+)", (REPO / "CHANGELOG.md").read_text(), re.MULTILINE)
    assert newest is not None
    assert {path: _project(path)["version"] for path in PROJECTS} == dict.fromkeys(PROJECTS, newest.group(1))


def test_the_user_package_pins_its_own_release() -> None:
    project = _project("distributions/tickstore/pyproject.toml")
    version = project["version"]
    assert f"tickstore-core=={version}" in project["dependencies"]
    assert f"tickstore-hdf5=={version}" in project["dependencies"]
    extras = project["optional-dependencies"]
    assert extras["s3"] == [f"tickstore-s3=={version}"] and extras["azure"] == [f"tickstore-azure=={version}"]
    assert set(extras) >= {"s3", "azure", "dask", "polars", "sql", "all"}


def test_version_comes_from_the_package_metadata() -> None:
    assert tickstore_core.__version__ == importlib.metadata.version("tickstore-core")
    shown = subprocess.run(
        [str(Path(sys.executable).parent / "tickstore"), "--version"], capture_output=True, text=True, check=True
    )
    assert shown.stdout.strip() == f"tickstore {tickstore_core.__version__}"


@pytest.mark.parametrize("path", [p for p in PROJECTS if p.startswith("backends/")])
def test_backends_depend_on_the_core_distribution(path: str) -> None:
    assert any(d.startswith("tickstore-core") for d in _project(path)["dependencies"])
