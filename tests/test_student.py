"""Student copies: solution regions stripped, everything else kept, bad markers and unsafe targets rejected."""

import json
import os
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
    hidden = {line.strip() for c in source.cells for line in _hidden_tests(c.source)}
    assert not hidden & copy_lines, "hidden tests left in the copy"
    assert "colab.research.google.com" in source.cells[0].source
    assert "colab.research.google.com" not in copy.cells[0].source, "the badge would open the solutions"
    assert copy.cells[0].source.startswith(source.cells[0].source.split("\n")[0])  # the title stays
    assert all(c.get("outputs", []) == [] for c in copy.cells)
    # every other cell stays as it was: the DATASET and QUICK switches, the checks
    for i, (a, b) in enumerate(zip(copy.cells[1:], source.cells[1:]), start=1):
        assert a.source == b.source or "nbgrader" in b.metadata, f"cell {i} changed but holds no solution"
    assert copy.cells[runner.parameters_index(copy)].source == source.cells[runner.parameters_index(source)].source


def _hidden_tests(source):
    """Lines of a cell's hidden tests."""
    within = False
    for line in source.splitlines():
        if line.strip() in (student.BEGIN_HIDDEN, student.END_HIDDEN):
            within = line.strip() == student.BEGIN_HIDDEN
        elif within:
            yield line


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


# --- Hidden tests, nbgrader's cell rules, the badge and the course's nbgrader_config.py ----------

def graded_notebook(tmp_path, check, name="graded.ipynb"):
    """A task, its solution cell and its autograder test ``check``."""
    test = nbformat.v4.new_code_cell(check, metadata={"nbgrader": student.test_metadata("test-secret", 2)})
    solution = nbformat.v4.new_code_cell("### BEGIN SOLUTION\nsecret = 42\n### END SOLUTION",
                                         metadata={"nbgrader": student.solution_metadata("solution-secret")})
    return make_nb(tmp_path / name, [nbformat.v4.new_markdown_cell("**Task.** Compute it."), solution, test])


def test_hidden_tests_are_stripped_and_locked(tmp_path):
    src = graded_notebook(tmp_path, "assert secret > 0\n### BEGIN HIDDEN TESTS\nassert secret == 42\n"
                                    "### END HIDDEN TESTS")
    [made] = student.make_student_copies([src], tmp_path / "out")
    assert made.tasks == 1
    test = nbformat.read(str(made.target), as_version=4).cells[2]
    assert test.source == "assert secret > 0"
    assert test.metadata["editable"] is False and test.metadata["nbgrader"]["locked"] is True


@pytest.mark.parametrize("check, message", [
    ("### BEGIN HIDDEN TEST\nassert secret == 42\n### END HIDDEN TEST", "looks like a hidden-tests marker"),
    ("###BEGIN HIDDEN TESTS\nassert secret == 42\n###END HIDDEN TESTS", "looks like a hidden-tests marker"),
    ("# begin hidden tests\nassert secret == 42", "looks like a hidden-tests marker"),
    ("### BEGIN HIDDEN TESTS\nassert secret == 42", "BEGIN HIDDEN TESTS at line 1 is never closed"),
    ("assert secret\n### END HIDDEN TESTS", "END HIDDEN TESTS at line 2 without a matching"),
    ("### BEGIN HIDDEN TESTS\n### BEGIN SOLUTION\nx\n### END SOLUTION\n### END HIDDEN TESTS", "nested"),
])
def test_bad_hidden_tests_are_errors(tmp_path, capsys, check, message):
    src = graded_notebook(tmp_path, check)
    code, err = run_cli(capsys, src, "--out", tmp_path / "out")
    assert code == 2 and "graded.ipynb: cell 2" in err and message in err
    assert not (tmp_path / "out").exists()


def test_hidden_tests_belong_in_a_code_cell(tmp_path, capsys):
    src = make_nb(tmp_path / "md.ipynb", [nbformat.v4.new_markdown_cell(
        "### BEGIN HIDDEN TESTS\nsecret\n### END HIDDEN TESTS")])
    code, err = run_cli(capsys, src, "--out", tmp_path / "out")
    assert code == 2 and "md.ipynb: cell 0, line 1: hidden tests in a markdown cell" in err


@pytest.mark.parametrize("metadata, message", [
    (student.solution_metadata("answer-1"), "Markdown solution cell is not marked as a grade cell"),
    (student.answer_metadata("solution-secret", 1), "Duplicate grade id: solution-secret"),
    ({k: v for k, v in student.answer_metadata("answer-1", 1).items() if k != "points"}, "does not have points"),
])
def test_cells_nbgrader_refuses_are_one_line_errors(tmp_path, capsys, metadata, message):
    src = graded_notebook(tmp_path, "assert secret == 42")
    nb = nbformat.read(str(src), as_version=4)
    answer = nbformat.v4.new_markdown_cell("### BEGIN SOLUTION\nBecause.\n### END SOLUTION")
    answer.metadata["nbgrader"] = metadata
    nb.cells.append(answer)
    nbformat.write(nb, str(src))
    code, err = run_cli(capsys, src, "--out", tmp_path / "out")
    assert code == 2 and "graded.ipynb: nbgrader refuses its cell metadata" in err and message in err
    assert not (tmp_path / "out").exists()


def test_badge_is_dropped_from_markdown_cells_only():
    badge = "[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://x/y.ipynb)"
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(f"# Title\n\n{badge}\n\nText."),
                                         nbformat.v4.new_code_cell(f"print({badge!r})")])
    nb, _ = student.DropColabBadge().preprocess(nb, {})
    assert nb.cells[0].source == "# Title\n\nText."
    assert badge in nb.cells[1].source


def test_the_course_config_gives_nbgrader_the_same_preprocessors():
    """nbgrader_config.py hands nbgrader the list mnist-lab student runs, and a cell timeout."""
    from nbgrader.converters import GenerateAssignment
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(Path(__file__).resolve().parents[1])).load_config()
    assert config.GenerateAssignment.preprocessors == student.release_preprocessors()
    assert student.release_preprocessors() == [*GenerateAssignment.class_traits()["preprocessors"].default(),
                                               student.DropColabBadge]
    assert 0 < config.Execute.timeout <= 600


def test_quick_profile_preprocessor_sets_quick_after_the_parameters_only_when_enabled():
    """nbgrader autograde --QuickProfile.enabled=True runs a notebook with QUICK = True; off by default."""
    from traitlets.config import Config

    def notebook(parameters):
        return nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import os"),
                                               nbformat.v4.new_code_cell(parameters, metadata={"tags": ["parameters"]}),
                                               nbformat.v4.new_code_cell("print(QUICK)")])

    off, _ = student.QuickProfile().preprocess(notebook("QUICK = False"), {})
    assert [c.source for c in off.cells] == ["import os", "QUICK = False", "print(QUICK)"]
    config = Config()
    config.QuickProfile.enabled = True
    on, _ = student.QuickProfile(config=config).preprocess(notebook("QUICK = False\nEPOCHS = 3"), {})
    assert on.cells[2].source.startswith("QUICK = True") and on.cells[2].id == "quick-profile"
    assert [c.source for c in on.cells[:2] + on.cells[3:]] == ["import os", "QUICK = False\nEPOCHS = 3", "print(QUICK)"]
    for parameters in ("EPOCHS = 3", "QUICK = (", None):   # no QUICK, a broken cell, no Parameters cell
        nb = notebook(parameters or "QUICK = False")
        if parameters is None:
            nb.cells[1].metadata = {}
        before = [c.source for c in nb.cells]
        assert [c.source for c in student.QuickProfile(config=config).preprocess(nb, {})[0].cells] == before
    chain = student.autograde_preprocessors()
    assert chain.index(student.QuickProfile) == [pp.__name__ for pp in chain].index("Execute") - 1
