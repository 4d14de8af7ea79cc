"""Run the research notebook and store it with its outputs and plots (``./dev notebook``).

The documentation site shows the notebook as stored, so a reader sees the tables and plots
without running it. It runs against a fresh temporary store, and its PNG files go to a temporary
directory: only the notebook itself changes.
"""

from __future__ import annotations

import base64
import os
import sys
import tempfile
from pathlib import Path

import nbformat
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).resolve().parent / "research.ipynb"
IMAGES = NOTEBOOK.parents[1] / "images"
README_PLOTS = {"price.png": 'bars["close"].plot', "acf.png": "plot_acf("}  # the README's pictures, by cell


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="tickstore-notebook-") as tmp:
        os.environ.update(NOTEBOOK_OUTPUT_DIR=str(Path(tmp) / "plots"), TICKSTORE_URL=(Path(tmp) / "store").as_uri())
        notebook = nbformat.read(NOTEBOOK, as_version=4)
        NotebookClient(notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": tmp}}).execute()
    for cell in notebook.cells:
        cell.metadata.pop("execution", None)  # the kernel's timings change on every run: keep diffs to the outputs
        if cell.cell_type == "code":  # progress bars (stderr) are for a live session, not for a reader
            cell.outputs = [out for out in cell.outputs if not (out.output_type == "stream" and out.name == "stderr")]
    nbformat.write(notebook, NOTEBOOK)
    save_readme_plots(notebook)
    images = sum("image/png" in out.get("data", {}) for cell in notebook.cells for out in cell.get("outputs", []))
    print(f"stored {NOTEBOOK.name} with its outputs ({images} plots)", file=sys.stderr)


def save_readme_plots(notebook: nbformat.NotebookNode) -> None:
    """Write the plots the README shows, from the cells that draw them, so they never go stale."""
    IMAGES.mkdir(exist_ok=True)
    for name, drawn_by in README_PLOTS.items():
        (cell,) = [c for c in notebook.cells if c.cell_type == "code" and drawn_by in c.source]
        (png,) = [out.data["image/png"] for out in cell.outputs if "image/png" in out.get("data", {})]
        (IMAGES / name).write_bytes(base64.b64decode(png))


if __name__ == "__main__":
    main()
