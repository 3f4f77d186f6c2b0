"""nbgrader's own command line on a course folder made of the notebooks, as README.md tells instructors.

:func:`check_grading` runs the whole workflow for some notebooks: release with
``nbgrader generate_assignment`` (the same copies ``mnist-lab student``
makes), submissions autograded in the quick profile (``--QuickProfile.enabled=True``), grades exported to CSV
and read back. The test_nbgrader_*.py files call it for their share of the
notebooks, so the two test workers share the work.
"""

import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat

from mnist_lab.tooling import runner, student
from mnist_lab.tooling.cli import main
from student_answers import WRONG, fill, grade_id

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = ROOT / "notebooks"


def nbgrader(course: Path, *args: str) -> None:
    """Run ``nbgrader ARGS`` in the course folder."""
    done = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course,
                          capture_output=True, text=True, timeout=1800)
    assert done.returncode == 0, f"nbgrader {' '.join(args)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-5000:]}"


def points(nb, *roles) -> float:
    return sum(c.metadata["nbgrader"]["points"] for c in nb.cells if student.role(c) in roles)


def errors(path: Path) -> list[tuple[str, str]]:
    """(cell id, exception name) of each error an autograded notebook shows, in order."""
    return [(c.get("id"), out.get("ename")) for c in runner.read(path).cells if c.cell_type == "code"
            for out in c.outputs if out.get("output_type") == "error"]


def as_json(path: Path) -> dict:
    return json.loads(nbformat.writes(runner.read(path)))


def check_grading(tmp_path: Path, names: list[str]) -> None:
    """The instructors' workflow on ``names``, end to end, with nbgrader's command line."""
    course = tmp_path / "course"
    (course / "source").mkdir(parents=True)
    shutil.copy(ROOT / "nbgrader_config.py", course)
    for name in names:
        (course / "source" / name).mkdir()
        shutil.copy(NOTEBOOK_DIR / f"{name}.ipynb", course / "source" / name)
    nbgrader(course, "generate_assignment", "*")

    # one source of truth: mnist-lab student writes what nbgrader released
    assert main(["student", *(str(NOTEBOOK_DIR / f"{name}.ipynb") for name in names),
                 "--out", str(tmp_path / "handout")]) == 0
    released = {name: course / "release" / name / f"{name}.ipynb" for name in names}
    for name in names:
        assert as_json(tmp_path / "handout" / f"{name}.ipynb") == as_json(released[name]), \
            f"{name}: mnist-lab student and nbgrader generate_assignment differ"

    # submissions: the worked solutions, the untouched handout and, where there are some, a student's own answers
    submissions = {}
    for name in names:
        source, handout = runner.read(NOTEBOOK_DIR / f"{name}.ipynb"), runner.read(released[name])
        submissions[name, "solution"] = source
        submissions[name, "untouched"] = handout
        if name in WRONG:
            submissions[name, "own-answers"] = fill(runner.read(released[name]), name, wrong=True)
    for (name, who), nb in submissions.items():
        (course / "submitted" / who / name).mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, str(course / "submitted" / who / name / f"{name}.ipynb"))
    nbgrader(course, "autograde", "*", "--QuickProfile.enabled=True")   # as README tells instructors
    nbgrader(course, "export", "--to", "grades.csv")
    with open(course / "grades.csv", newline="") as f:
        grades = {(row["assignment"], row["student_id"]): row for row in csv.DictReader(f)}

    for name in names:
        source = runner.read(NOTEBOOK_DIR / f"{name}.ipynb")
        auto, total = points(source, "test"), points(source, "test", "answer")
        if 2 <= int(name[:2]) <= 9:
            assert auto > 0, f"{name} has no autograded task"
        score = {who: float(grades[name, who]["score"]) for n, who in submissions if n == name}
        assert {float(grades[name, who]["max_score"]) for n, who in submissions if n == name} == {total}
        autograded = course / "autograded"
        assert score["solution"] == auto, f"{name}: the worked solutions earn {score['solution']} of {auto}"
        assert errors(autograded / "solution" / name / f"{name}.ipynb") == []
        assert "quick-profile" in [c.get("id") for c in runner.read(autograded / "solution" / name / f"{name}.ipynb").cells]
        # the untouched handout: 0 points, and a Run all stops first at the first code task's stub
        assert score["untouched"] == 0, f"{name}: the untouched handout earns {score['untouched']}"
        first_stub = next(c.get("id") for c in runner.read(released[name]).cells
                          if c.cell_type == "code" and "raise NotImplementedError()" in c.source)
        assert errors(autograded / "untouched" / name / f"{name}.ipynb")[0] == (first_stub, "NotImplementedError")
        if name in WRONG:   # every own answer earns its points, the wrong one loses exactly its task's
            test_id = WRONG[name][2]
            test_cell = next(c for c in source.cells if grade_id(c) == test_id)
            assert score["own-answers"] == auto - test_cell.metadata["nbgrader"]["points"], \
                f"{name}: the student's own answers earn {score['own-answers']} of {auto}"
            assert [cell for cell, _ in errors(autograded / "own-answers" / name / f"{name}.ipynb")] == \
                [test_cell.get("id")]
