"""Notebook plumbing: execute, parametrize, clean, and read results.

Used by ``mnist-lab run``, the test suite and maintainers refreshing the
stored outputs. Conventions of the series' notebooks:

* a code cell tagged ``parameters`` holds the settings (``DATASET``,
  ``EPOCHS``, ...); :func:`inject_parameters` adds a cell after it, as
  papermill does;
* a cell whose source contains ``# NBVAL_CHECK_OUTPUT`` keeps its outputs in
  the committed notebook, and nbval compares them; every other output is
  stripped (:func:`clean`);
* :func:`mnist_lab.train.report` attaches each run's numbers under the
  mimetype :data:`mnist_lab.RESULT_MIMETYPE`, which :func:`results` reads back.
"""

from __future__ import annotations

import ast
import os
import tempfile
from pathlib import Path

import nbformat

from .. import RESULT_MIMETYPE

CHECK_MARK = "# NBVAL_CHECK_OUTPUT"
KEEP_METADATA = ("kernelspec", "language_info", "colab")


def read(path: str | os.PathLike) -> nbformat.NotebookNode:
    """Read a notebook (nbformat 4), with a one-line error for a broken file."""
    try:
        return nbformat.read(str(path), as_version=4)
    except Exception as e:
        raise ValueError(f"{path}: not a readable notebook ({type(e).__name__}: {e})") from None


def is_checked(cell) -> bool:
    """True for a code cell whose outputs nbval compares."""
    return cell.cell_type == "code" and CHECK_MARK in cell.source


def clean(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Strip outputs except in checked cells, execution counts and run metadata.

    Of a cell's metadata only ``tags`` and ``nbgrader`` (solution cells) stay.

    Checked cells keep their outputs and are numbered 1, 2, ... (nbval wants
    an execution count on a cell with stored outputs). Returns the notebook
    (changed in place), ready to commit.
    """
    nb.metadata = {k: v for k, v in nb.metadata.items() if k in KEEP_METADATA}
    if "language_info" in nb.metadata:
        nb.metadata["language_info"] = {"name": "python"}
    # A cell keeps its id, so inserting or deleting a cell changes only that cell in the diff.
    taken, seen = {c.get("id") for c in nb.cells}, set()
    checked = 0
    for i, cell in enumerate(nb.cells):
        tags, nbgrader = cell.get("metadata", {}).get("tags"), cell.get("metadata", {}).get("nbgrader")
        cell.metadata = {"tags": tags} if tags else {}
        if nbgrader:  # nbgrader's cell metadata (solution cells): what makes the notebook an nbgrader source
            cell.metadata["nbgrader"] = nbgrader
        if not cell.get("id") or cell.id in seen:
            cell.id = next(f"cell-{i}-{n}" for n in range(len(nb.cells) + 1) if f"cell-{i}-{n}" not in taken)
            taken.add(cell.id)
        seen.add(cell.id)
        if cell.cell_type != "code":
            continue
        if is_checked(cell):  # nbval wants a count on a cell with stored outputs: number them 1, 2, ...
            checked += 1
            cell.execution_count = checked
        else:
            cell.execution_count, cell.outputs = None, []
        cell.outputs = _merge_streams(cell.outputs)
        for out in cell.outputs:
            if "execution_count" in out:
                out["execution_count"] = cell.execution_count
    nb.nbformat, nb.nbformat_minor = 4, 5
    return nb


def _merge_streams(outputs: list) -> list:
    """Join consecutive prints to the same stream into one output.

    How a kernel splits printed text into messages depends on timing; merged,
    the same cell always stores the same outputs, and commits stay stable.
    """
    merged = []
    for out in outputs:
        previous = merged[-1] if merged else None
        if (out.get("output_type") == "stream" and previous is not None
                and previous.get("output_type") == "stream" and previous.get("name") == out.get("name")):
            previous["text"] = "".join(previous["text"]) + "".join(out["text"])
        else:
            merged.append(out)
    return merged


def parameters_index(nb: nbformat.NotebookNode) -> int:
    """Index of the cell tagged ``parameters``; ValueError if there is none."""
    for i, cell in enumerate(nb.cells):
        if "parameters" in cell.get("metadata", {}).get("tags", []):
            return i
    raise ValueError("notebook has no cell tagged 'parameters'")


def parameter_names(nb: nbformat.NotebookNode) -> list[str]:
    """Names assigned in the parameters cell, in order: what a run may override.

    >>> nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
    ...     "EPOCHS = 5  # at most\\nSEEDS = 3", metadata={"tags": ["parameters"]})])
    >>> parameter_names(nb)
    ['EPOCHS', 'SEEDS']
    """
    tree = ast.parse(nb.cells[parameters_index(nb)].source)
    return [target.id for node in tree.body if isinstance(node, ast.Assign)
            for target in node.targets if isinstance(target, ast.Name)]


def inject_parameters(nb: nbformat.NotebookNode, **params) -> nbformat.NotebookNode:
    """Insert a cell setting ``params`` right after the parameters cell."""
    if not params:
        return nb
    lines = ["# Injected by mnist-lab run"] + [f"{k} = {v!r}" for k, v in params.items()]
    cell = nbformat.v4.new_code_cell("\n".join(lines), metadata={"tags": ["injected-parameters"]})
    nb.cells.insert(parameters_index(nb) + 1, cell)
    return nb


def execute(nb: nbformat.NotebookNode, cwd: str | os.PathLike, timeout: int = 1800, on_cell=None):
    """Run every cell in a fresh kernel; return the notebook with its outputs.

    ``on_cell(index, total)`` is called before each code cell (progress
    bars). A failing cell raises :class:`CellError` naming the cell.
    """
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(cwd)}})
    code_cells = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    if on_cell is not None:
        def hook(cell, cell_index, **_):
            on_cell(code_cells.index(cell_index) if cell_index in code_cells else 0, len(code_cells))
        client.on_cell_execute = hook
    try:
        with tempfile.TemporaryDirectory(prefix="mnist-lab-kernel-") as sockets:
            if os.name == "posix":   # Unix sockets in a private folder: no open TCP port, no unencrypted-TCP warning
                client.km = client.create_kernel_manager()
                client.km.transport, client.km.ip = "ipc", os.path.join(sockets, "kernel")
            client.execute()
    except CellExecutionError as e:
        index = next((i for i, c in enumerate(nb.cells) if c.cell_type == "code"
                      and any(o.get("output_type") == "error" for o in c.get("outputs", []))), None)
        error = next((f"{o.ename}: {o.evalue}" for c in nb.cells if c.cell_type == "code"
                      for o in c.get("outputs", []) if o.get("output_type") == "error"), str(e).splitlines()[0])
        raise CellError(index, error) from None
    return nb


class CellError(RuntimeError):
    """A notebook cell failed; ``index`` is its position among all cells."""

    def __init__(self, index, error):
        self.index, self.error = index, error
        super().__init__(f"cell {index}: {error}")


def results(nb: nbformat.NotebookNode) -> list[dict]:
    """Every run record the notebook reported, in order."""
    found = []
    for cell in nb.cells:
        for out in cell.get("outputs", []) if cell.cell_type == "code" else []:
            record = out.get("data", {}).get(RESULT_MIMETYPE)
            if record:
                found.append(dict(record))
    return found


def write(nb: nbformat.NotebookNode, path: str | os.PathLike) -> Path:
    """Write a notebook, validating it first."""
    nbformat.validate(nb)
    path = Path(path)
    nbformat.write(nb, str(path))
    return path
