"""Student copies: the notebooks with every worked solution replaced by a stub.

Solution regions use nbgrader's markers, in code or Markdown cells::

    ### BEGIN SOLUTION
    predicted = probabilities.argmax(axis=1)
    ### END SOLUTION

In a code cell the region becomes ``# YOUR CODE HERE`` and
``raise NotImplementedError()`` at the marker's indentation; in a Markdown
cell it becomes ``YOUR ANSWER HERE``. Lines outside the markers are kept, as
are all other cells; outputs and execution counts are cleared.
"""

from __future__ import annotations

import copy
import dataclasses
import os
import re
from pathlib import Path

import nbformat

from . import runner

BEGIN = "### BEGIN SOLUTION"
END = "### END SOLUTION"
CODE_STUB = ["# YOUR CODE HERE", "raise NotImplementedError()"]
TEXT_STUB = ["YOUR ANSWER HERE"]
_MARKER = re.compile(r"^(\s*)(### (BEGIN|END) SOLUTION)\s*$")


class MarkerError(ValueError):
    """Unbalanced or nested solution markers."""


@dataclasses.dataclass
class StudentCopy:
    source: Path
    target: Path
    tasks: int


def strip_cell(source: str, cell_type: str, where: str = "cell") -> tuple[str, int]:
    """Replace each solution region of one cell's source; return (new source, regions)."""
    out, regions, open_at = [], 0, None
    for number, line in enumerate(source.splitlines(), start=1):
        m = _MARKER.match(line)
        if not m:
            if open_at is None:
                out.append(line)
            continue
        indent, kind = m.group(1), m.group(3)
        if kind == "BEGIN":
            if open_at is not None:
                raise MarkerError(f"{where}: nested {BEGIN} at line {number} (the region opened at line {open_at} is not closed)")
            open_at = number
            stub = CODE_STUB if cell_type == "code" else TEXT_STUB
            out.extend(indent + s for s in stub)
        else:
            if open_at is None:
                raise MarkerError(f"{where}: {END} at line {number} without a matching {BEGIN}")
            open_at, regions = None, regions + 1
    if open_at is not None:
        raise MarkerError(f"{where}: {BEGIN} at line {open_at} is never closed")
    return "\n".join(out), regions


def student_notebook(nb: nbformat.NotebookNode, name: str = "notebook") -> tuple[nbformat.NotebookNode, int]:
    """A stripped copy of ``nb`` and the number of solution regions removed."""
    nb = copy.deepcopy(nb)
    total = 0
    for i, cell in enumerate(nb.cells):
        if cell.cell_type not in ("code", "markdown"):
            continue
        cell.source, regions = strip_cell(cell.source, cell.cell_type, where=f"{name}: cell {i}")
        total += regions
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    nbformat.validate(nb)
    return nb, total


def make_student_copies(sources, out: str | os.PathLike) -> list[StudentCopy]:
    """Write a student copy of each notebook into ``out``.

    Refuses to write into a folder holding any of the sources (the solution
    notebooks are never overwritten) and checks every notebook before writing
    any file, so a bad marker leaves nothing half done.
    """
    sources = [Path(s) for s in sources]
    out = Path(out).resolve()
    for src in sources:
        if src.resolve().parent == out:
            raise ValueError(f"--out {out} holds the solution notebooks; choose another folder")
    made = []
    for src in sources:
        nb, tasks = student_notebook(runner.read(src), name=str(src))
        made.append((src, nb, tasks))
    out.mkdir(parents=True, exist_ok=True)
    copies = []
    for src, nb, tasks in made:
        target = out / src.name
        nbformat.write(nb, str(target))
        copies.append(StudentCopy(src, target, tasks))
    return copies
