"""Fixtures for every test directory of the repository: tests/, backends/*/tests and the SQLite example.

The emulators (tests/emulators, importable because pyproject.toml puts tests/ on ``pythonpath``)
are plugins here, so a backend's own tests reach ``s3_store`` and ``azure_store`` too; and every
test runs away from the user's real cache, config file and default store.
"""

from __future__ import annotations

import os

import pytest

pytest_plugins = ["emulators.moto", "emulators.azurite"]


@pytest.fixture(autouse=True, scope="session")
def _isolated_from_the_user(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Keep the tests away from the user's real cache, config file and default store."""
    home = tmp_path_factory.mktemp("home")
    os.environ["TICKSTORE_CACHE_DIR"] = str(home / "cache")
    os.environ["TICKSTORE_CONFIG"] = str(home / "config.toml")
    os.environ.pop("TICKSTORE_URL", None)
