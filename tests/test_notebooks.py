"""Every notebook follows the series' conventions and is committed clean."""

import json
import re
from pathlib import Path

import nbformat
import pytest

from mnist_lab.tooling import lessons, publish, runner, stamp, student

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = lessons.notebooks(ROOT / "notebooks")
COURSE = publish.read_course(ROOT / "pyproject.toml")  # where the course lives: badges and setup cells follow it
by_name = pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)


def test_series_is_numbered_in_order():
    """01, 02, ... with no number used twice (a number may be reserved for a notebook to come)."""
    numbers = [int(p.name[:2]) for p in NOTEBOOKS]
    assert numbers[:9] == list(range(1, 10)), "the series 01-09 must be complete"
    assert len(set(numbers)) == len(numbers) and numbers == sorted(numbers)


@by_name
def test_committed_clean(path):
    """Outputs of a published run (stamp.py checks which), or only where nbval checks them; no run metadata."""
    raw = json.loads(path.read_text())
    nb = nbformat.reads(path.read_text(), as_version=4)
    nbformat.validate(nb)
    assert set(raw["metadata"]) <= set(runner.KEEP_METADATA)
    stamped = stamp.run_of(nb) is not None
    checked, count, grade_ids = 0, 0, set()
    for i, cell in enumerate(nb.cells):
        allowed = {"tags", "nbgrader"} | ({stamp.KEY} if stamped and cell.cell_type == "code" else set())
        assert set(cell.metadata) <= allowed, f"cell {i} has metadata {dict(cell.metadata)}"
        # nbgrader's metadata, exactly: solution regions in solution cells or written answers, checks in tests
        has_region = any(student.is_marker(line) for line in cell.source.splitlines())
        if has_region or "nbgrader" in cell.metadata:
            meta = cell.metadata.get("nbgrader", {})
            grade_id, points = meta.get("grade_id"), meta.get("points")
            expected = {"solution": student.solution_metadata(grade_id),
                        "test": student.test_metadata(grade_id, points),
                        "answer": student.answer_metadata(grade_id, points)}.get(student.role(cell))
            assert meta == expected, f"cell {i} needs nbgrader's metadata of a solution, written answer or test"
            assert has_region == (student.role(cell) != "test"), \
                f"cell {i}: a solution region in a test cell, or none in a solution cell"
            assert points is None or points > 0, f"cell {i} is graded but earns no points"
            assert grade_id not in grade_ids, f"cell {i} repeats grade_id {grade_id}"
            grade_ids.add(grade_id)
        assert "NBVAL_" not in cell.source, f"cell {i}: nbval's markers go in the cell's tags, out of students' sight"
        if cell.cell_type != "code":
            continue
        count += 1
        if stamped:   # every cell ran, numbered as a fresh kernel numbers them
            assert cell.execution_count == count, f"cell {i} should be numbered {count}"
        elif runner.is_checked(cell):
            checked += 1
            assert cell.execution_count == checked, f"checked cell {i} should be numbered {checked}"
        else:
            assert cell.execution_count is None, f"cell {i} has an execution count"
            assert cell.outputs == [], f"cell {i} stores outputs but nbval does not check them"
        for out in cell.outputs:
            assert out.get("name") != "stderr", f"cell {i} stores stderr output"
            assert out.get("output_type") != "error", f"cell {i} stores an error"


@by_name
def test_structure(path):
    nb = runner.read(path)
    first = nb.cells[0]
    assert first.cell_type == "markdown" and re.match(rf"# {int(path.name[:2])}\. ", first.source)
    assert f"({COURSE.badge(path.name)})" in first.source, \
        "the Colab badge must open this notebook where pyproject.toml says; run mnist-lab publish OWNER/REPO"
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code[0].source == COURSE.setup_cell(), \
        "the setup cell must be the series' one, installing what pyproject.toml says; run mnist-lab publish OWNER/REPO"
    params = nb.cells[runner.parameters_index(nb)]
    assert re.search(r'^DATASET = "mnist"', params.source, re.M), "parameters cell must define DATASET"
    # `mnist-lab run --set NAME=VALUE` sees every setting: one plain assignment each.
    assert runner.parameter_names(nb) == re.findall(r"^([A-Z][A-Z0-9_]*) =", params.source, re.M)
    assert sum("parameters" in c.metadata.get("tags", []) for c in nb.cells) == 1
    later = "\n".join(c.source for c in nb.cells[runner.parameters_index(nb) + 1:] if c.cell_type == "code")
    assert re.search(r"^QUICK = False  +# True: ", params.source, re.M), \
        "parameters cell must define QUICK = False, with a comment saying what True does"
    assert re.search(r"\bQUICK\b", later), "a cell after the parameters must apply QUICK"
    if re.search(r"^EPOCHS = ", params.source, re.M):
        assert re.search(r"^(if QUICK:.*\n    EPOCHS, \w+ = profile\.quick\(EPOCHS|EPOCHS, \w+ = profile\.quick\(EPOCHS\) if QUICK else)",
                         later, re.M), \
            "EPOCHS must pass through profile.quick when QUICK is on"


@by_name
def test_every_task_has_a_solution(path):
    nb = runner.read(path)
    tasks = [i for i, c in enumerate(nb.cells) if c.cell_type == "markdown" and "**Task.**" in c.source]
    assert tasks, "no task cells"
    for i, next_task in zip(tasks, tasks[1:] + [len(nb.cells)]):
        assert any(student.BEGIN in c.source for c in nb.cells[i + 1:next_task]), \
            f"task in cell {i} has no solution before the next task"
    _, regions = student.student_notebook(nb, name=path.name)
    assert regions >= len(tasks)


@by_name
def test_every_task_has_points(path):
    """Each Task earns points: a written answer graded by hand, an autograder test, or both."""
    nb = runner.read(path)
    tasks = [i for i, c in enumerate(nb.cells) if c.cell_type == "markdown" and "**Task.**" in c.source]
    for i, next_task in zip(tasks, tasks[1:] + [len(nb.cells)]):
        graded = [c for c in nb.cells[i + 1:next_task] if student.role(c) in ("answer", "test")]
        assert graded, f"task in cell {i} earns no points"
    assert all(student.role(c) in ("answer", "test")
               for c in nb.cells if c.cell_type == "markdown" and student.is_marker(c.source.splitlines()[0])), \
        "a written answer without points"


@by_name
def test_autograded_tasks(path):
    """Notebooks 2-9 have autograded tasks; a test cell fails on a wrong answer (a check or an assert raises)."""
    tests = [c for c in runner.read(path).cells if student.role(c) == "test"]
    if 2 <= int(path.name[:2]) <= 9:
        assert tests, "no autograded task"
    for cell in tests:
        visible = cell.source.split(student.BEGIN_HIDDEN)[0]
        assert re.search(r"^(checks\.check_\w+\(|assert )", visible, re.M), f"{cell.id}: nothing that can fail"


@by_name
def test_current_keras_api(path):
    source = "\n".join(c.source for c in runner.read(path).cells if c.cell_type == "code")
    assert not re.search(r"compile\(\s*['\"]", source), "compile() with positional arguments"
    assert "tf.keras" not in source, "use keras (Keras 3) directly"
    assert not re.search(r"layers\.\w+\([^)]*input_shape=", source), "use keras.Input, not a layer's input_shape="
    assert not re.search(r"\blr\s*=", source), "use learning_rate="


def test_clean_merges_split_prints_and_drops_unchecked_outputs():
    nb = nbformat.v4.new_notebook()
    checked = nbformat.v4.new_code_cell("print(1); print(2)", metadata={"tags": ["nbval-check-output"]})
    checked.outputs = [nbformat.v4.new_output("stream", name="stdout", text="1\n"),
                       nbformat.v4.new_output("stream", name="stdout", text="2\n"),
                       nbformat.v4.new_output("stream", name="stderr", text="warning\n")]
    loose = nbformat.v4.new_code_cell("print(3)")
    loose.outputs = [nbformat.v4.new_output("stream", name="stdout", text="3\n")]
    nb.cells = [checked, loose]
    runner.clean(nb)
    assert [(o.name, o.text) for o in nb.cells[0].outputs] == [("stdout", "1\n2\n"), ("stderr", "warning\n")]
    assert nb.cells[0].execution_count == 1
    assert nb.cells[1].outputs == [] and nb.cells[1].execution_count is None


@by_name
def test_committed_prints_are_merged(path):
    """A checked cell stores each run of prints as one output, whatever the kernel's timing was."""
    for i, cell in enumerate(runner.read(path).cells):
        streams = [o.get("name") if o.get("output_type") == "stream" else None for o in cell.get("outputs", [])]
        assert all(a is None or a != b for a, b in zip(streams, streams[1:])), f"cell {i} has split prints"
