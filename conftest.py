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


def pytest_collection_modifyitems(items):
    """Every notebook cell that nbval runs is slow: it needs a kernel and trains."""
    for item in items:
        if item.path.suffix == ".ipynb":
            item.add_marker(pytest.mark.slow)
