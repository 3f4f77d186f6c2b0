"""nbgrader end to end on notebooks 2, 4 and 6, with a student's own answers (see nbgrader_course.py)."""

import pytest

from nbgrader_course import check_grading


@pytest.mark.slow
def test_release_autograde_and_export(tmp_path):
    check_grading(tmp_path, ["02_logistic_regression", "04_learning_rate_decay", "06_convolutional_networks"])
