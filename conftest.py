"""Test-wide settings: quick profile and nbval hygiene.

Lives at the repository root so it applies to ``tests/`` and ``notebooks/``
alike; notebook kernels inherit the environment set here (so it sets no
MPLBACKEND: kernels keep Jupyter's inline backend, as for a student).
"""

import os

import pytest

from mnist_lab import RESULT_MIMETYPE, SAMPLE_MIMETYPE
from mnist_lab.tooling import lessons

os.environ.setdefault("MNIST_LAB_QUICK", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# Executed copies that `jupyter nbconvert --execute` leaves beside the lessons are not lessons to test.
collect_ignore_glob = [f"*{ending}" for ending in lessons.LEFTOVERS]


def pytest_collectstart(collector):
    """nbval: never compare stderr (TensorFlow log noise) or rich HTML reprs."""
    if collector.path is not None and collector.path.suffix == ".ipynb":
        collector.skip_compare += ("text/html", "application/javascript", "stderr",
                                   RESULT_MIMETYPE, SAMPLE_MIMETYPE)


# Files that take minutes, longest first. The test workers are handed whole files in collection order,
# so starting with these keeps both busy to the end instead of leaving one to finish a long file alone.
LONGEST = ("test_nbgrader_own_answers.py", "test_nbgrader_dense.py", "test_nbgrader_batchnorm.py",
           "test_nbgrader_augmentation.py", "09_data_augmentation.ipynb", "08_batch_normalization.ipynb")


def pytest_collection_modifyitems(items):
    """Every notebook cell that nbval runs is slow: it needs a kernel and trains. Long files go first."""
    for item in items:
        if item.path.suffix == ".ipynb":
            item.add_marker(pytest.mark.slow)
    rank = {name: i for i, name in enumerate(LONGEST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(LONGEST)))   # stable: cells keep their order
