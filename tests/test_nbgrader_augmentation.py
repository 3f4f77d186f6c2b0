"""nbgrader end to end on notebook 9, the longest to autograde (see nbgrader_course.py)."""

import pytest

from nbgrader_course import check_grading


@pytest.mark.slow
def test_release_autograde_and_export(tmp_path):
    check_grading(tmp_path, ["09_data_augmentation"])
