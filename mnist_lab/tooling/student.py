"""Student copies: nbgrader's release of the notebooks, made with or without a course folder.

The notebooks are nbgrader source notebooks. Cells carry nbgrader's metadata:

* a **solution cell** holds code between nbgrader's markers, stripped for students::

      ### BEGIN SOLUTION
      predicted = probabilities.argmax(axis=1)
      ### END SOLUTION

* a **written answer** (Markdown, or code an instructor reads) is a solution
  cell with points, graded by hand;
* an **autograder test** is a locked cell with points, the task's self-check;
  it may hold hidden tests between ``### BEGIN HIDDEN TESTS`` and
  ``### END HIDDEN TESTS``, which students never see and autograding runs.

:func:`release_preprocessors` is nbgrader's own ``GenerateAssignment`` chain
plus :class:`DropColabBadge` (the badge would open the notebook with its
solutions). The course's ``nbgrader_config.py`` gives nbgrader this list, and
:func:`student_notebook` runs it without a gradebook, so ``mnist-lab student``
and ``nbgrader generate_assignment`` write the same copies: a code region
becomes ``# YOUR CODE HERE`` / ``raise NotImplementedError()``, a Markdown
region ``YOUR ANSWER HERE``, outputs and hidden tests are removed.

Before that, every cell is checked more strictly than nbgrader does: a line
that looks like a marker but is not exactly one would otherwise ship a
solution or a hidden test to students. Writing never follows a link and
never replaces a file unless asked.
"""

from __future__ import annotations

import copy
import dataclasses
import os
import re
from pathlib import Path

import nbformat
from nbgrader.converters import GenerateAssignment
from nbgrader.nbgraderformat import MetadataValidator, ValidationError
from nbgrader.preprocessors import NbGraderPreprocessor, SaveCells
from traitlets import Bool

from . import runner

BEGIN = "### BEGIN SOLUTION"
END = "### END SOLUTION"
BEGIN_HIDDEN = "### BEGIN HIDDEN TESTS"
END_HIDDEN = "### END HIDDEN TESTS"
_MARKER = re.compile(r"^(\s*)### (BEGIN|END) (SOLUTION|HIDDEN TESTS)\s*$")
# not "weekend solution"; "END HIDDEN TEST" (no S) is a near miss
_NEAR_MARKER = re.compile(r"(?<![a-z])(BEGIN|END)[\W_]*(SOLUTION|HIDDEN[\W_]*TESTS?)", re.IGNORECASE)
_BADGE = re.compile(r"^\s*\[!\[Open In Colab\]\([^)]*\)\]\([^)]*\)\s*$", re.MULTILINE)


class MarkerError(ValueError):
    """A solution or hidden-tests marker that is misspelt, unbalanced, nested or misplaced."""


class OutputError(ValueError):
    """A student copy would overwrite a file, follow a link or clobber a source."""


@dataclasses.dataclass
class StudentCopy:
    source: Path
    target: Path
    tasks: int


def is_marker(line: str) -> bool:
    """True for a line that is exactly a solution marker (indentation allowed)."""
    exact = _MARKER.match(line)
    return bool(exact) and exact.group(3) == "SOLUTION"


def solution_metadata(grade_id: str) -> dict:
    """nbgrader's metadata for a solution cell that earns no points by itself (its test cell does)."""
    return {"grade": False, "grade_id": grade_id, "locked": False, "schema_version": 3,
            "solution": True, "task": False}


def answer_metadata(grade_id: str, points: float) -> dict:
    """nbgrader's metadata for a written answer: a solution cell an instructor grades by hand."""
    return {"grade": True, "grade_id": grade_id, "locked": False, "points": points, "schema_version": 3,
            "solution": True, "task": False}


def test_metadata(grade_id: str, points: float) -> dict:
    """nbgrader's metadata for an autograder test: locked, and worth ``points`` if it runs without an error."""
    return {"grade": True, "grade_id": grade_id, "locked": True, "points": points, "schema_version": 3,
            "solution": False, "task": False}


def role(cell) -> str | None:
    """``"solution"``, ``"answer"``, ``"test"`` (see the metadata functions above), or None for any other cell."""
    meta = cell.get("metadata", {}).get("nbgrader") or {}
    if meta.get("solution"):
        return "answer" if meta.get("grade") else "solution"
    return "test" if meta.get("grade") else None


def count_regions(source: str, cell_type: str, where: str = "cell") -> int:
    """Check one cell's markers strictly; return its number of solution regions.

    Raises :class:`MarkerError` naming ``where`` and the line for a near-miss
    (``###BEGIN SOLUTION``, lowercase, extra words...), a marker in a raw
    cell, hidden tests outside a code cell, or a region that is nested,
    never closed or never opened.
    """
    regions, open_at, open_kind = 0, None, None
    for number, line in enumerate(source.splitlines(), start=1):
        exact = _MARKER.match(line)
        if not exact:
            near = _NEAR_MARKER.search(line)
            if near:
                begin, end = (BEGIN, END) if near.group(2).upper() == "SOLUTION" else (BEGIN_HIDDEN, END_HIDDEN)
                raise MarkerError(f"{where}, line {number}: {line.strip()!r} looks like a "
                                  f"{'solution' if begin == BEGIN else 'hidden-tests'} marker but is not one; "
                                  f"write exactly {begin!r} or {end!r} alone on the line")
            continue
        which, kind = exact.group(2), exact.group(3)
        begin, end = (BEGIN, END) if kind == "SOLUTION" else (BEGIN_HIDDEN, END_HIDDEN)
        if cell_type not in ("code", "markdown"):
            raise MarkerError(f"{where}, line {number}: solution marker in a {cell_type} cell; "
                              f"make the cell a Markdown or code cell")
        if kind != "SOLUTION" and cell_type != "code":
            raise MarkerError(f"{where}, line {number}: hidden tests in a {cell_type} cell; "
                              f"they belong in a code cell holding the task's test")
        if which == "BEGIN":
            if open_at is not None:
                raise MarkerError(f"{where}: nested {begin} at line {number} "
                                  f"(the region opened at line {open_at} is not closed)")
            open_at, open_kind = number, kind
        else:
            if open_at is None or open_kind != kind:
                raise MarkerError(f"{where}: {end} at line {number} without a matching {begin}")
            regions += kind == "SOLUTION"
            open_at = None
    if open_at is not None:
        begin = BEGIN if open_kind == "SOLUTION" else BEGIN_HIDDEN
        raise MarkerError(f"{where}: {begin} at line {open_at} is never closed")
    return regions


def mark_solution_cells(nb: nbformat.NotebookNode) -> int:
    """Give every cell holding a solution region nbgrader's metadata; return how many changed.

    A code cell becomes a solution cell, a Markdown cell a written answer worth
    1 point (nbgrader grades every Markdown answer by hand). The ``grade_id``
    is derived from the cell's id, so it is unique and stays put when cells
    are inserted elsewhere.
    """
    changed = 0
    for i, cell in enumerate(nb.cells):
        if any(is_marker(line) for line in cell.source.splitlines()) and \
                not cell.metadata.get("nbgrader", {}).get("solution"):
            grade_id = f"solution-{cell.get('id') or i}"
            cell.metadata["nbgrader"] = (answer_metadata(grade_id, 1) if cell.cell_type == "markdown"
                                         else solution_metadata(grade_id))
            changed += 1
    return changed


def validate(nb: nbformat.NotebookNode, name: str = "notebook") -> None:
    """One-line :class:`ValueError` for a notebook that breaks the nbformat schema."""
    try:
        nbformat.validate(nb)
    except nbformat.ValidationError as e:
        where = "/".join(str(p) for p in e.absolute_path) or "top level"
        raise ValueError(f"{name}: not a valid notebook (at {where}: {e.message.splitlines()[0][:200]})") from None


def validate_grading(nb: nbformat.NotebookNode, name: str = "notebook") -> None:
    """One-line :class:`ValueError` for cell metadata that nbgrader would refuse (e.g. a duplicate grade_id)."""
    try:
        MetadataValidator().validate_nb(nb)
    except ValidationError as e:
        raise ValueError(f"{name}: nbgrader refuses its cell metadata: {str(e).splitlines()[0][:200]}") from None


class DropColabBadge(NbGraderPreprocessor):
    """Remove the "Open In Colab" badge: in a student copy it would open the notebook with its solutions."""

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "markdown" and _BADGE.search(cell.source):
            cell.source = re.sub(r"\n{3,}", "\n\n", _BADGE.sub("", cell.source)).strip("\n")
        return cell, resources


class QuickProfile(NbGraderPreprocessor):
    """With ``enabled``, run the notebook in its quick profile: a cell ``QUICK = True`` after the Parameters cell.

    Autograding then takes seconds a cell instead of the notebook's full training
    (``nbgrader autograde "*" --QuickProfile.enabled=True``); notebooks without ``QUICK`` are left alone.
    """

    enabled = Bool(False, help="run each notebook that has a QUICK parameter with QUICK = True").tag(config=True)

    def preprocess(self, nb, resources):
        if not self.enabled:
            return nb, resources
        try:
            index, names = runner.parameters_index(nb), runner.parameter_names(nb)
        except ValueError:   # no Parameters cell, or one a student broke: run it as it is
            return nb, resources
        if "QUICK" in names:
            cell = nbformat.v4.new_code_cell("QUICK = True  # the quick profile: autograded with few epochs and images")
            cell.id = "quick-profile"
            nb.cells.insert(index + 1, cell)
        return nb, resources


def autograde_preprocessors() -> list:
    """nbgrader's ``Autograde`` preprocessors with :class:`QuickProfile` before its ``Execute`` (nbgrader_config.py)."""
    from nbgrader.converters import Autograde
    from nbgrader.preprocessors import Execute

    chain = Autograde.class_traits()["autograde_preprocessors"].default()
    at = chain.index(Execute)
    return [*chain[:at], QuickProfile, *chain[at:]]


def release_preprocessors() -> list:
    """nbgrader's ``GenerateAssignment`` preprocessors, then :class:`DropColabBadge` (set in nbgrader_config.py)."""
    return [*GenerateAssignment.class_traits()["preprocessors"].default(), DropColabBadge]


def student_notebook(nb: nbformat.NotebookNode, name: str = "notebook") -> tuple[nbformat.NotebookNode, int]:
    """A student copy of ``nb``, as ``nbgrader generate_assignment`` makes it, and the number of solution regions.

    Runs :func:`release_preprocessors` except ``SaveCells``, which only stores
    the cells in nbgrader's gradebook.
    """
    validate(nb, name)
    total = sum(count_regions(cell.source, cell.cell_type, where=f"{name}: cell {i}")
                for i, cell in enumerate(nb.cells))
    nb = copy.deepcopy(nb)
    mark_solution_cells(nb)
    validate_grading(nb, name)
    resources = {}
    for preprocessor in release_preprocessors():
        if preprocessor is not SaveCells:
            nb, resources = preprocessor().preprocess(nb, resources)
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
