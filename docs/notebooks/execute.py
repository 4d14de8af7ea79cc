"""Run the research notebook and store it with its outputs and plots (``./dev notebook``).

The documentation site shows the notebook as stored, so a reader sees the tables and plots
without running it. It runs against a fresh temporary store, and its PNG files go to a temporary
directory: only the notebook itself changes.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import nbformat
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).resolve().parent / "research.ipynb"


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
    images = sum("image/png" in out.get("data", {}) for cell in notebook.cells for out in cell.get("outputs", []))
    print(f"stored {NOTEBOOK.name} with its outputs ({images} plots)", file=sys.stderr)


if __name__ == "__main__":
    main()
