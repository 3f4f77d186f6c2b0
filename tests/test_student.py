"""Student copies: solution regions stripped, everything else kept, bad markers rejected."""

from pathlib import Path

import nbformat
import pytest

from mnist_lab import notebooks, student
from mnist_lab.cli import main

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def make_nb(path, cells):
    nb = nbformat.v4.new_notebook()
    nb.cells = cells
    nbformat.write(nb, str(path))
    return path


def test_code_and_markdown_regions(tmp_path):
    code = nbformat.v4.new_code_cell(
        "x = 1\nfor i in range(3):\n    ### BEGIN SOLUTION\n    x += i\n    ### END SOLUTION\nprint(x)")
    code.outputs = [nbformat.v4.new_output("stream", text="4\n")]
    code.execution_count = 7
    text = nbformat.v4.new_markdown_cell("**Answer.**\n### BEGIN SOLUTION\nBecause weights start random.\n### END SOLUTION")
    keep = nbformat.v4.new_markdown_cell("# Title")
    src = make_nb(tmp_path / "lesson.ipynb", [keep, code, text])
    [copy] = student.make_student_copies([src], tmp_path / "out")
    assert copy.tasks == 2
    nb = nbformat.read(str(copy.target), as_version=4)
    nbformat.validate(nb)
    assert nb.cells[0].source == "# Title"
    assert nb.cells[1].source == ("x = 1\nfor i in range(3):\n    # YOUR CODE HERE\n"
                                  "    raise NotImplementedError()\nprint(x)")
    assert nb.cells[1].outputs == [] and nb.cells[1].execution_count is None
    assert nb.cells[2].source == "**Answer.**\nYOUR ANSWER HERE"
    assert "x += i" in nbformat.read(str(src), as_version=4).cells[1].source  # source untouched


@pytest.mark.parametrize("source, message", [
    ("### BEGIN SOLUTION\na\n### BEGIN SOLUTION\nb\n### END SOLUTION\n### END SOLUTION", "nested"),
    ("### BEGIN SOLUTION\na", "never closed"),
    ("a\n### END SOLUTION", "without a matching"),
])
def test_bad_markers_name_file_and_cell(tmp_path, source, message):
    out = tmp_path / "out"
    src = make_nb(tmp_path / "bad.ipynb", [nbformat.v4.new_markdown_cell("ok"), nbformat.v4.new_code_cell(source)])
    with pytest.raises(student.MarkerError, match=rf"bad.ipynb: cell 1: .*{message}"):
        student.make_student_copies([src], out)
    assert not out.exists()  # checked before anything is written


def test_refuses_source_folder(tmp_path):
    src = make_nb(tmp_path / "a.ipynb", [nbformat.v4.new_code_cell("1")])
    with pytest.raises(ValueError, match="holds the solution notebooks"):
        student.make_student_copies([src], tmp_path)


def test_cli_reports_and_rejects(tmp_path, capsys):
    src = make_nb(tmp_path / "a.ipynb", [nbformat.v4.new_code_cell("### BEGIN SOLUTION\n1\n### END SOLUTION")])
    assert main(["student", str(src), "--out", str(tmp_path / "s")]) == 0
    assert "1 student notebook, 1 solution stripped" in capsys.readouterr().out
    assert main(["student", str(src), "--out", str(tmp_path)]) == 2
    assert "holds the solution notebooks" in capsys.readouterr().err
    assert main(["student", str(tmp_path / "missing.ipynb"), "--out", str(tmp_path / "s2")]) == 2


@pytest.mark.skipif(not NOTEBOOKS, reason="no notebooks in notebooks/")
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_real_notebook_student_copy(path, tmp_path):
    """No solution text left, same cells, and the copy runs up to its first stub and stops there."""
    source = notebooks.read(path)
    copy, tasks = student.student_notebook(source, name=path.name)
    assert tasks >= 1
    assert len(copy.cells) == len(source.cells)
    copy_lines = {line.strip() for c in copy.cells for line in c.source.splitlines()}
    assert not any("BEGIN SOLUTION" in line or "END SOLUTION" in line for line in copy_lines)
    solution = {line.strip() for c in source.cells for line in _lines(c.source, inside=True) if line.strip()}
    elsewhere = {line.strip() for c in source.cells for line in _lines(c.source, inside=False)}
    assert (solution & copy_lines) - elsewhere == set()
    first_stub = next(i for i, c in enumerate(copy.cells)
                      if c.cell_type == "code" and "raise NotImplementedError()" in c.source)
    with pytest.raises(notebooks.CellError) as e:
        notebooks.execute(copy, cwd=path.parent, timeout=300)
    assert e.value.index == first_stub and "NotImplementedError" in e.value.error


def _lines(source, inside):
    """Lines of a cell inside (or outside) its solution regions."""
    within = False
    for line in source.splitlines():
        if student._MARKER.match(line):
            within = not within
        elif within == inside:
            yield line
