"""A notebook runs again in the same kernel: a student's "Run all" twice, with no restart in between."""

import copy
from pathlib import Path

import pytest

from mnist_lab.tooling import runner

NOTEBOOK_DIR = Path(__file__).resolve().parents[1] / "notebooks"


@pytest.mark.slow
@pytest.mark.parametrize("name", ["01_data", "04_learning_rate_decay"])
def test_notebook_runs_twice_in_one_kernel(name):
    nb = runner.read(NOTEBOOK_DIR / f"{name}.ipynb")
    nb.cells[runner.parameters_index(nb)].source += "\nQUICK = True"   # the quick profile
    first = len(nb.cells)
    nb.cells = nb.cells + copy.deepcopy(nb.cells)
    for i, cell in enumerate(nb.cells):
        cell.id = f"run-{i}"        # ids must stay unique in the doubled notebook
    ran = runner.execute(nb, cwd=NOTEBOOK_DIR, timeout=600)   # raises CellError naming the failing cell
    second_pass = [c for c in ran.cells[first:] if c.cell_type == "code"]
    assert second_pass and all(c.execution_count is not None for c in second_pass)
