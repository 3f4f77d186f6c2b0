"""Student copies: the notebooks with every worked solution replaced by a stub.

Solution regions use nbgrader's markers, in code or Markdown cells that carry
nbgrader's solution-cell metadata::

    ### BEGIN SOLUTION
    predicted = probabilities.argmax(axis=1)
    ### END SOLUTION

nbgrader's own preprocessors do the stripping (``ClearSolutions``: a code
region becomes ``# YOUR CODE HERE`` / ``raise NotImplementedError()`` at the
marker's indentation, a Markdown region ``YOUR ANSWER HERE``; ``ClearOutput``
clears outputs), so a copy made here equals what nbgrader makes. Before
that, every cell is checked more strictly than nbgrader does: a line that
looks like a marker but is not exactly one would otherwise ship its solution
to students. The Colab badge is dropped (it points at the solutions).
Writing never follows a link and never replaces a file unless asked.
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
_MARKER = re.compile(r"^(\s*)### (BEGIN|END) SOLUTION\s*$")
_NEAR_MARKER = re.compile(r"(?<![a-z])(BEGIN|END)[\W_]*SOLUTION", re.IGNORECASE)  # not "weekend solution"
_BADGE = re.compile(r"^\s*\[!\[Open In Colab\]\([^)]*\)\]\([^)]*\)\s*$", re.MULTILINE)


class MarkerError(ValueError):
    """A solution marker that is misspelt, unbalanced, nested or in a raw cell."""


class OutputError(ValueError):
    """A student copy would overwrite a file, follow a link or clobber a source."""


@dataclasses.dataclass
class StudentCopy:
    source: Path
    target: Path
    tasks: int


def is_marker(line: str) -> bool:
    """True for a line that is exactly a solution marker (indentation allowed)."""
    return bool(_MARKER.match(line))


def solution_metadata(grade_id: str) -> dict:
    """nbgrader's metadata for a solution cell that is not graded automatically."""
    return {"grade": False, "grade_id": grade_id, "locked": False, "schema_version": 3,
            "solution": True, "task": False}


def count_regions(source: str, cell_type: str, where: str = "cell") -> int:
    """Check one cell's markers strictly; return its number of solution regions.

    Raises :class:`MarkerError` naming ``where`` and the line for a near-miss
    (``###BEGIN SOLUTION``, lowercase, extra words...), a marker in a raw
    cell, or a region that is nested, never closed or never opened.
    """
    regions, open_at = 0, None
    for number, line in enumerate(source.splitlines(), start=1):
        exact = _MARKER.match(line)
        if not exact:
            if _NEAR_MARKER.search(line):
                raise MarkerError(f"{where}, line {number}: {line.strip()!r} looks like a solution marker but is "
                                  f"not one; write exactly {BEGIN!r} or {END!r} alone on the line")
            continue
        if cell_type not in ("code", "markdown"):
            raise MarkerError(f"{where}, line {number}: solution marker in a {cell_type} cell; "
                              f"make the cell a Markdown or code cell")
        if exact.group(2) == "BEGIN":
            if open_at is not None:
                raise MarkerError(f"{where}: nested {BEGIN} at line {number} "
                                  f"(the region opened at line {open_at} is not closed)")
            open_at = number
        else:
            if open_at is None:
                raise MarkerError(f"{where}: {END} at line {number} without a matching {BEGIN}")
            open_at, regions = None, regions + 1
    if open_at is not None:
        raise MarkerError(f"{where}: {BEGIN} at line {open_at} is never closed")
    return regions


def mark_solution_cells(nb: nbformat.NotebookNode) -> int:
    """Give every cell holding a solution region nbgrader's solution metadata; return how many changed.

    The ``grade_id`` is derived from the cell's id, so it is unique and stays
    put when cells are inserted elsewhere.
    """
    changed = 0
    for i, cell in enumerate(nb.cells):
        if any(is_marker(line) for line in cell.source.splitlines()) and \
                not cell.metadata.get("nbgrader", {}).get("solution"):
            cell.metadata["nbgrader"] = solution_metadata(f"solution-{cell.get('id') or i}")
            changed += 1
    return changed


def validate(nb: nbformat.NotebookNode, name: str = "notebook") -> None:
    """One-line :class:`ValueError` for a notebook that breaks the nbformat schema."""
    try:
        nbformat.validate(nb)
    except nbformat.ValidationError as e:
        where = "/".join(str(p) for p in e.absolute_path) or "top level"
        raise ValueError(f"{name}: not a valid notebook (at {where}: {e.message.splitlines()[0][:200]})") from None


def student_notebook(nb: nbformat.NotebookNode, name: str = "notebook") -> tuple[nbformat.NotebookNode, int]:
    """A student copy of ``nb`` and the number of solution regions removed."""
    from nbgrader.preprocessors import ClearOutput, ClearSolutions

    validate(nb, name)
    total = sum(count_regions(cell.source, cell.cell_type, where=f"{name}: cell {i}")
                for i, cell in enumerate(nb.cells))
    nb = copy.deepcopy(nb)
    mark_solution_cells(nb)
    nb, _ = ClearSolutions().preprocess(nb, {})
    nb, _ = ClearOutput().preprocess(nb, {})
    if nb.cells and nb.cells[0].cell_type == "markdown":
        nb.cells[0].source = re.sub(r"\n{3,}", "\n\n", _BADGE.sub("", nb.cells[0].source)).strip("\n")
    nbformat.validate(nb)
    return nb, total


def _check_target(target: Path, sources: list[Path], force: bool) -> None:
    if target.is_symlink():
        raise OutputError(f"{target} is a symbolic link; remove it or choose another --out (links are never followed)")
    if not target.exists():
        return
    if not target.is_file():
        raise OutputError(f"{target} exists and is not a file; choose another --out")
    if any(src.exists() and os.path.samefile(src, target) for src in sources):
        raise OutputError(f"{target} is a hard link to a source notebook; remove it or choose another --out")
    if not force:
        raise OutputError(f"{target} exists; choose another --out, or pass --force to overwrite")


def _write_new(nb: nbformat.NotebookNode, target: Path) -> None:
    """Write to a temporary file beside ``target`` and rename it into place.

    Renaming replaces the directory entry, never the contents of a file that
    the old entry shares with another path (a hard link elsewhere keeps its text).
    """
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    with open(tmp, "x", encoding="utf-8") as f:   # "x": a new file, never an existing one or a link's target
        try:
            nbformat.write(nb, f)
        except BaseException:
            tmp.unlink()
            raise
    os.replace(tmp, target)


def make_student_copies(sources, out: str | os.PathLike, force: bool = False) -> list[StudentCopy]:
    """Write a student copy of each notebook into ``out``.

    Every notebook and every target is checked before any file is written, so
    a problem leaves nothing half done. Refuses a folder holding a source,
    two sources with the same file name, targets that are links (symbolic,
    or hard links to a source) and, unless ``force``, existing files.
    """
    sources = [Path(s) for s in sources]
    out_path = Path(out)
    if out_path.exists() and not out_path.is_dir():
        raise OutputError(f"--out {out_path} is not a folder")
    out_path = out_path.resolve()
    seen = {}
    for src in sources:
        if src.resolve().parent == out_path:
            raise OutputError(f"--out {out_path} holds the solution notebooks; choose another folder")
        if src.name in seen:
            raise OutputError(f"{seen[src.name]} and {src} have the same file name; "
                              f"make their copies with separate --out folders")
        seen[src.name] = src
    made = []
    for src in sources:
        nb, tasks = student_notebook(runner.read(src), name=str(src))
        target = out_path / src.name
        _check_target(target, sources, force)
        made.append((src, nb, tasks, target))
    out_path.mkdir(parents=True, exist_ok=True)
    copies = []
    for src, nb, tasks, target in made:
        _write_new(nb, target)
        copies.append(StudentCopy(src, target, tasks))
    return copies
