"""The documentation site builds strictly, and a browser sees the API reference and the notebook's plots.

The site is built with ``mkdocs build --strict`` (a broken link, anchor, nav entry or API reference
fails), then headless Chromium renders its pages as a reader's browser would. CI installs Chromium
(.ci/run); elsewhere the browser checks skip when it is missing.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parents[2]
NOTEBOOK = REPO / "docs" / "notebooks" / "research.ipynb"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    mkdocs = Path(sys.executable).parent / "mkdocs"
    done = subprocess.run(
        [str(mkdocs), "build", "--strict", "--site-dir", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        check=False,
    )
    assert done.returncode == 0, done.stderr[-5000:]
    return out


def _rendered(page: Path) -> str:
    """The page's DOM after a headless browser loaded it."""
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("Chromium is not installed; .ci/run installs it (apt-get install chromium)")
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    done = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_the_notebook_is_stored_with_its_outputs_and_plots() -> None:
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    outputs = [out for cell in notebook.cells if cell.cell_type == "code" for out in cell.get("outputs", [])]
    assert sum("image/png" in out.get("data", {}) for out in outputs) >= 3, "run ./dev notebook to store the plots"
    assert not [out for out in outputs if out.get("output_type") == "error"]
    assert all(cell.get("execution_count") for cell in notebook.cells if cell.cell_type == "code")


def test_the_api_page_lists_select_and_the_store_api(site: Path) -> None:
    dom = _rendered(site / "api" / "index.html")
    for name in ("open_store", "Tickstore.select", "Tickstore.insert", "Tickstore.history", "errors.TickstoreError"):
        assert f'id="tickstore_core.{name}"' in dom, name
    for name in ("select_many", "bars", "asof_join", "sql", "files"):  # the research reads, from their mixin
        assert f'id="tickstore_core.Tickstore.{name}"' in dom, name


def test_the_plugin_api_page_lists_the_backend_contract(site: Path) -> None:
    dom = _rendered(site / "plugin-api" / "index.html")
    names = ("plugin.Backend.get", "plugin.Backend.put", "plugin.BackendSpec", "options.BackendOptions.parse")
    for name in (*names, "testing.BackendConformance"):
        assert f'id="tickstore_core.{name}"' in dom, name


def test_the_notebook_page_shows_its_plot_images(site: Path) -> None:
    dom = _rendered(site / "notebooks" / "research" / "index.html")
    images = re.findall(r'<img[^>]+src="data:image/png;base64,[A-Za-z0-9+/=]{1000,}', dom)
    assert len(images) >= 3
    assert "excess kurtosis" in dom


def test_every_public_name_has_an_entry_in_the_api_reference(site: Path) -> None:
    import tickstore_core
    import tickstore_core.config
    import tickstore_core.plugin

    html = (site / "api" / "index.html").read_text() + (site / "plugin-api" / "index.html").read_text()
    anchors = set(re.findall(r'id="(tickstore_core[\w.]*)"', html))
    documented_under = ("", ".plugin", ".errors", ".options", ".config", ".compat.serenity", ".testing")
    public = {*tickstore_core.__all__, *tickstore_core.plugin.__all__, *tickstore_core.config.__all__}
    missing = {name for name in public if not any(f"tickstore_core{m}.{name}" in anchors for m in documented_under)}
    assert not missing, f"add these to docs/api.md or docs/plugin-api.md: {sorted(missing)}"
    methods = {name for name in dir(tickstore_core.Tickstore) if not name.startswith("_")}
    missing = {name for name in methods if f"tickstore_core.Tickstore.{name}" not in anchors}
    assert not missing, f"Tickstore methods missing from the API page: {sorted(missing)}"


def test_the_api_reference_renders_numpydoc_sections_as_tables(site: Path) -> None:
    for page in ("api", "plugin-api"):
        html = (site / page / "index.html").read_text()
        assert "----------" not in html, f"{page}: a numpydoc section was rendered as text"
        assert not re.search(r":(?:class|func|meth|mod):`", html), f"{page}: a Sphinx role was rendered raw"
        titles = re.findall(r'doc-section-title">(\w+)', html)
        assert {"Parameters", "Returns", "Raises", "Examples"} <= set(titles), page
        assert html.count("<table") >= titles.count("Parameters") + titles.count("Returns")


def test_the_storage_format_page_is_built_into_the_site(site: Path) -> None:
    page = (site / "format" / "index.html").read_text()
    assert "tickstore-index/1" in page and "tickstore-hdf5" in page
