"""A student's view: their own answers fill every code stub of a handout.

The answers live in student_answers.py; the nbgrader tests (test_nbgrader_*.py)
autograde the filled handouts, which must earn every autograded point.
"""

from pathlib import Path

import pytest

from mnist_lab.tooling import runner, student
from student_answers import ANSWERED, ANSWERS, WRONG, fill

NOTEBOOK_DIR = Path(__file__).resolve().parents[1] / "notebooks"


@pytest.mark.parametrize("name", ANSWERED)
@pytest.mark.parametrize("wrong", [False, True], ids=["own answers", "one wrong"])
def test_answers_fill_every_code_stub(name, wrong):
    handout, _ = student.student_notebook(runner.read(NOTEBOOK_DIR / f"{name}.ipynb"), name=name)
    filled = fill(handout, name, wrong=wrong)
    assert "NotImplementedError" not in "\n".join(c.source for c in filled.cells if c.cell_type == "code")
    gid, code, _ = WRONG[name]
    wrong_cell = next(c for c in filled.cells if c.metadata.get("nbgrader", {}).get("grade_id") == gid)
    assert (code.strip() in wrong_cell.source) == wrong
    assert (ANSWERS[name, gid].strip() in wrong_cell.source) != wrong


def test_the_wrong_answer_is_checked_by_a_test_of_its_notebook():
    for name, (_, _, test_id) in WRONG.items():
        roles = {c.metadata["nbgrader"]["grade_id"]: student.role(c)
                 for c in runner.read(NOTEBOOK_DIR / f"{name}.ipynb").cells if "nbgrader" in c.metadata}
        assert roles.get(test_id) == "test", f"{name}: {test_id} is not an autograder test"
