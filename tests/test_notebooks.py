"""Every notebook of the book runs from top to bottom without an error.

The notebooks are MyST-markdown (jupytext) files in ``notebooks/``; each is converted in memory and
executed with nbclient in a fresh kernel, from the ``notebooks/`` folder as the book build does. A
failing cell fails its test with the cell's traceback. The book build (``jupyter-book build book
-W``) executes the same notebooks; this test is the fast, per-notebook signal.
"""

from __future__ import annotations

from pathlib import Path

import pytest

jupytext = pytest.importorskip("jupytext", reason="jupytext is needed to read the MyST notebooks (the dev extra)")
nbclient = pytest.importorskip("nbclient", reason="nbclient is needed to execute the notebooks (the dev extra)")

NOTEBOOK_DIR = Path(__file__).resolve().parents[1] / "notebooks"
#: Seconds one cell may run; the notebooks are meant to finish in well under 20 s each.
CELL_TIMEOUT = 180


def _is_notebook(path: Path) -> bool:
    head = path.read_text(encoding="utf-8")[:2000]
    return head.startswith("---") and "kernelspec:" in head


NOTEBOOKS = sorted(p for p in NOTEBOOK_DIR.glob("*.md") if _is_notebook(p))


def test_the_book_has_notebooks():
    # an empty glob would make the parametrised test below vanish silently
    assert NOTEBOOKS, f"no MyST notebooks found in {NOTEBOOK_DIR}"


@pytest.mark.timeout(600)
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_executes(path: Path):
    notebook = jupytext.read(path)
    client = nbclient.NotebookClient(
        notebook,
        timeout=CELL_TIMEOUT,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOK_DIR)}},
    )
    client.execute()  # raises CellExecutionError, with the traceback, on the first failing cell
    code_cells = [c for c in notebook.cells if c.cell_type == "code"]
    assert code_cells, f"{path.name} has no code cells"
    assert all(c.get("execution_count") for c in code_cells), f"{path.name}: some code cells did not run"
