"""nbgrader end to end on notebooks 3, 5 and 7 (see nbgrader_course.py)."""

import pytest

from nbgrader_course import check_grading


@pytest.mark.slow
def test_release_autograde_and_export(tmp_path):
    check_grading(tmp_path, ["03_dense_networks", "05_dropout_overfitting", "07_dropout_convnets"])
