"""The research notebook executes from top to bottom and writes its plots as PNG files."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).resolve().parents[2] / "docs" / "notebooks" / "research.ipynb"
PLOTS = ["acf_pacf.png", "cross_section.png", "normal_probability.png", "price.png"]


@pytest.mark.slow
def test_the_research_notebook_runs_and_draws_its_plots(tmp_path, monkeypatch):
    monkeypatch.setenv("NOTEBOOK_OUTPUT_DIR", str(tmp_path / "plots"))
    monkeypatch.setenv("NOTEBOOK_DAYS", "6")
    monkeypatch.setenv("NOTEBOOK_TICKS_PER_DAY", "20000")
    monkeypatch.setenv("TICKSTORE_URL", (tmp_path / "store").as_uri())
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(
        notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    for plot in PLOTS:
        path = tmp_path / "plots" / plot
        assert path.exists() and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", plot
        assert path.stat().st_size > 10_000, f"{plot} looks empty"
    outputs = "".join(str(o) for cell in notebook.cells for o in cell.get("outputs", []))
    assert "as of before the correction" in outputs and "excess kurtosis" in outputs
    assert "quote rule agrees with the recorded side" in outputs and "trades of 3 symbols" in outputs
    assert "Error" not in outputs
