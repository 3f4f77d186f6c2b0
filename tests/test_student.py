"""Student copies: solution regions stripped, everything else kept, bad markers and unsafe targets rejected."""

import json
import os
import re
from pathlib import Path

import nbformat
import pytest

from mnist_lab.tooling import lessons, runner, student
from mnist_lab.tooling.cli import main

NOTEBOOKS = lessons.notebooks(Path(__file__).resolve().parents[1] / "notebooks")


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
def test_real_notebook_student_copy(path):
    """No solution text left, same cells, no Colab badge pointing at the solutions."""
    source = runner.read(path)
    copy, tasks = student.student_notebook(source, name=path.name)
    assert tasks >= 1
    assert len(copy.cells) == len(source.cells)
    copy_lines = {line.strip() for c in copy.cells for line in c.source.splitlines()}
    assert not any("BEGIN SOLUTION" in line or "END SOLUTION" in line for line in copy_lines)
    solution = {line.strip() for c in source.cells for line in _lines(c.source, inside=True) if line.strip()}
    elsewhere = {line.strip() for c in source.cells for line in _lines(c.source, inside=False)}
    assert (solution & copy_lines) - elsewhere == set()
    assert "colab.research.google.com" in source.cells[0].source
    assert "colab.research.google.com" not in copy.cells[0].source, "the badge would open the solutions"
    assert copy.cells[0].source.startswith(source.cells[0].source.split("\n")[0])  # the title stays
    assert all(c.get("outputs", []) == [] for c in copy.cells)
    # every other cell stays as it was: the DATASET switch, profile.shrink, the checks
    for i, (a, b) in enumerate(zip(copy.cells[1:], source.cells[1:]), start=1):
        assert a.source == b.source or "nbgrader" in b.metadata, f"cell {i} changed but holds no solution"
    assert copy.cells[runner.parameters_index(copy)].source == source.cells[runner.parameters_index(source)].source


@pytest.mark.skipif(not NOTEBOOKS, reason="no notebooks in notebooks/")
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_nbgrader_makes_the_same_copy(path):
    """nbgrader's own ClearSolutions (defaults, metadata enforced) accepts the notebook and agrees with ours."""
    from nbgrader.preprocessors import ClearSolutions

    source = runner.read(path)
    theirs, _ = ClearSolutions().preprocess(runner.read(path), {})
    ours, _ = student.student_notebook(source, name=path.name)
    assert [c.cell_type for c in ours.cells] == [c.cell_type for c in theirs.cells]
    badge = re.compile(r"\n*\[!\[Open In Colab\].*\n*")
    assert ours.cells[0].source == badge.sub("\n\n", theirs.cells[0].source, count=1).strip("\n")
    for i, (a, b) in enumerate(zip(ours.cells[1:], theirs.cells[1:]), start=1):
        assert a.source == b.source, f"cell {i} differs from nbgrader's"
        assert a.metadata == b.metadata, f"cell {i} metadata differs from nbgrader's"


@pytest.mark.slow
@pytest.mark.skipif(not NOTEBOOKS, reason="no notebooks in notebooks/")
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_real_notebook_copy_stops_at_first_stub(path):
    """The copy runs up to its first stub and stops there."""
    copy, _ = student.student_notebook(runner.read(path), name=path.name)
    first_stub = next(i for i, c in enumerate(copy.cells)
                      if c.cell_type == "code" and "raise NotImplementedError()" in c.source)
    with pytest.raises(runner.CellError) as e:
        runner.execute(copy, cwd=path.parent, timeout=300)
    assert e.value.index == first_stub and "NotImplementedError" in e.value.error


def _lines(source, inside):
    """Lines of a cell inside (or outside) its solution regions."""
    within = False
    for line in source.splitlines():
        if student.is_marker(line):
            within = not within
        elif within == inside:
            yield line


# --- Nothing the instructor has is lost; nothing that looks like a solution ships -----------------

def run_cli(capsys, *argv):
    """Exit code and stderr of ``mnist-lab student ...``, checking that an error is one line."""
    code = main(["student", *map(str, argv)])
    err = capsys.readouterr().err
    if code:
        assert err.startswith("mnist-lab student: ") and err.strip().count("\n") == 0, err
    return code, err


def solutions(tmp_path, name="a.ipynb", folder="solutions"):
    """A solution notebook in its own folder, with a secret answer."""
    (tmp_path / folder).mkdir(exist_ok=True)
    return make_nb(tmp_path / folder / name, [
        nbformat.v4.new_markdown_cell("**Task.** Compute it."),
        nbformat.v4.new_code_cell("### BEGIN SOLUTION\nsecret = 42\n### END SOLUTION")])


@pytest.mark.parametrize("begin, end", [
    ("###BEGIN SOLUTION", "###END SOLUTION"),
    ("## BEGIN SOLUTION", "## END SOLUTION"),
    ("#### BEGIN SOLUTION", "#### END SOLUTION"),
    ("### begin solution", "### end solution"),
    ("### Begin Solution", "### End Solution"),
    ("### BEGIN  SOLUTION", "### END  SOLUTION"),
    ("### BEGIN_SOLUTION", "### END_SOLUTION"),
    ("# BEGIN SOLUTION", "# END SOLUTION"),
    ("### BEGIN SOLUTION here", "### END SOLUTION here"),
    ("### BEGIN SOLUTION (task 1)", "### END SOLUTION."),
    ("x = 0  ### BEGIN SOLUTION", "x = 1  ### END SOLUTION"),
])
@pytest.mark.parametrize("cell", [nbformat.v4.new_code_cell, nbformat.v4.new_markdown_cell])
def test_near_miss_markers_are_errors(tmp_path, capsys, begin, end, cell):
    src = make_nb(tmp_path / "bad.ipynb", [nbformat.v4.new_markdown_cell("**Task.** Do it."),
                                          cell(f"ok = 1\n{begin}\nsecret = 42\n{end}")])
    code, err = run_cli(capsys, src, "--out", tmp_path / "out")
    assert code == 2
    assert "bad.ipynb: cell 1, line 2:" in err and "looks like a solution marker" in err
    assert not (tmp_path / "out").exists()


def test_prose_about_solutions_is_not_a_marker():
    assert student.count_regions("A weekend solution: begin with the solution of task 1.", "markdown") == 0


def test_marker_in_raw_cell_is_an_error(tmp_path, capsys):
    src = make_nb(tmp_path / "raw.ipynb", [nbformat.v4.new_code_cell("x = 1"),
                                          nbformat.v4.new_raw_cell("### BEGIN SOLUTION\nsecret\n### END SOLUTION")])
    code, err = run_cli(capsys, src, "--out", tmp_path / "out")
    assert code == 2 and "raw.ipynb: cell 1, line 1: solution marker in a raw cell" in err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("force", [False, True])
def test_never_writes_through_a_symlink(tmp_path, capsys, force):
    src = solutions(tmp_path)
    before = src.read_bytes()
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "a.ipynb").symlink_to(src)
    code, err = run_cli(capsys, src, "--out", tmp_path / "out", *(["--force"] if force else []))
    assert code == 2 and "symbolic link" in err
    assert src.read_bytes() == before and (tmp_path / "out" / "a.ipynb").is_symlink()


@pytest.mark.parametrize("force", [False, True])
def test_never_writes_onto_a_hard_link_of_a_source(tmp_path, capsys, force):
    src = solutions(tmp_path)
    before = src.read_bytes()
    (tmp_path / "out").mkdir()
    os.link(src, tmp_path / "out" / "a.ipynb")
    code, err = run_cli(capsys, src, "--out", tmp_path / "out", *(["--force"] if force else []))
    assert code == 2 and "hard link" in err
    assert src.read_bytes() == before and os.path.samefile(src, tmp_path / "out" / "a.ipynb")


def test_overwrites_only_with_force(tmp_path, capsys):
    src = solutions(tmp_path)
    target = tmp_path / "out" / "a.ipynb"
    target.parent.mkdir()
    target.write_text("the student's own work")
    code, err = run_cli(capsys, src, "--out", tmp_path / "out")
    assert code == 2 and "exists" in err and "--force" in err
    assert target.read_text() == "the student's own work"
    code, _ = run_cli(capsys, src, "--out", tmp_path / "out", "--force")
    assert code == 0
    assert "secret" not in target.read_text() and "raise NotImplementedError()" in target.read_text()
    assert "secret = 42" in src.read_text()


def test_force_replaces_a_file_without_touching_its_other_links(tmp_path, capsys):
    """A target hard-linked to some other file (not a source) is replaced, the other file keeps its text."""
    src = solutions(tmp_path)
    other = tmp_path / "elsewhere.ipynb"
    other.write_text("keep me")
    (tmp_path / "out").mkdir()
    os.link(other, tmp_path / "out" / "a.ipynb")
    assert run_cli(capsys, src, "--out", tmp_path / "out", "--force")[0] == 0
    assert other.read_text() == "keep me"
    assert "raise NotImplementedError()" in (tmp_path / "out" / "a.ipynb").read_text()


def test_refuses_two_sources_with_the_same_name(tmp_path, capsys):
    first, second = solutions(tmp_path, folder="one"), solutions(tmp_path, folder="two")
    code, err = run_cli(capsys, first, second, "--out", tmp_path / "out")
    assert code == 2 and "same file name" in err
    assert not (tmp_path / "out").exists()


def test_checks_every_target_before_writing_any(tmp_path, capsys):
    a, b = solutions(tmp_path, "a.ipynb"), solutions(tmp_path, "b.ipynb")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "b.ipynb").write_text("mine")
    assert run_cli(capsys, a, b, "--out", tmp_path / "out")[0] == 2
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["b.ipynb"]


@pytest.mark.parametrize("break_cell", [
    lambda cell: cell.pop("outputs"),            # a code cell must have outputs
    lambda cell: cell.update(source=42),         # source is text
    lambda cell: cell.update(cell_type="cod"),   # no such cell type
])
def test_schema_invalid_notebook_is_one_line(tmp_path, capsys, break_cell):
    raw = json.loads(nbformat.writes(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")])))
    break_cell(raw["cells"][0])
    src = tmp_path / "broken.ipynb"
    src.write_text(json.dumps(raw))
    code, err = run_cli(capsys, src, "--out", tmp_path / "out")
    assert code == 2 and "broken.ipynb: not a valid notebook" in err
    assert not (tmp_path / "out").exists()


def test_out_below_a_file_is_one_line(tmp_path, capsys):
    src = solutions(tmp_path)
    (tmp_path / "file").write_text("x")
    code, err = run_cli(capsys, src, "--out", tmp_path / "file" / "out")
    assert code != 0 and "cannot write" in err


def test_unmarked_solution_cells_are_handled_like_nbgrader_source_cells(tmp_path):
    """A cell with markers but no nbgrader metadata still gets stripped, and carries the metadata in the copy."""
    src = solutions(tmp_path)
    assert "nbgrader" not in runner.read(src).cells[1].metadata
    [made] = student.make_student_copies([src], tmp_path / "out")
    cell = nbformat.read(str(made.target), as_version=4).cells[1]
    assert cell.metadata["nbgrader"]["solution"] is True
    assert cell.source == "# YOUR CODE HERE\nraise NotImplementedError()"
