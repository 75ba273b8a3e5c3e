"""The notebooks are stored with their outputs and still run from top to bottom.

Each notebook is executed with nbclient on a fresh ``python3`` kernel (in a scratch directory).
To refresh the stored outputs after a change, run this file with ``BOOSTLOSS_UPDATE_NOTEBOOKS=1``:
the executed notebooks are written back.
"""

import os
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb"))


def test_the_four_notebooks_are_there():
    assert {path.stem for path in NOTEBOOKS} >= {"quickstart", "robust_regression", "prediction_intervals",
                                                 "imbalanced_classification"}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[path.stem for path in NOTEBOOKS])
def test_notebook_is_stored_with_outputs(path):
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code and all(cell.execution_count for cell in code), "stored without running every cell"
    assert [cell.execution_count for cell in code] == list(range(1, len(code) + 1)), "not run top to bottom"
    outputs = [output for cell in code for output in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert any("image/png" in o.get("data", {}) for o in outputs), "no plot stored"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[path.stem for path in NOTEBOOKS])
def test_notebook_runs(path, tmp_path):
    notebook = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(notebook, timeout=120, kernel_name="python3", record_timing=False,
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()  # raises CellExecutionError, naming the cell (or a cell hung past timeout=120 s)
    if os.environ.get("BOOSTLOSS_UPDATE_NOTEBOOKS"):
        nbformat.write(notebook, path)
