"""nbgrader end to end on notebooks 1, 8 and 10 (see nbgrader_course.py)."""

import pytest

from nbgrader_course import check_grading


@pytest.mark.slow
def test_release_autograde_and_export(tmp_path):
    check_grading(tmp_path, ["01_data", "08_batch_normalization", "10_distributed_training"])
