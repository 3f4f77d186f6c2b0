"""Test-wide settings: quick profile, headless plotting, nbval hygiene.

Lives at the repository root so it applies to ``tests/`` and ``notebooks/``
alike; notebook kernels inherit the environment set here.
"""

import os

os.environ.setdefault("MNIST_LAB_QUICK", "1")
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def pytest_collectstart(collector):
    """nbval: never compare stderr (TensorFlow log noise) or rich HTML reprs."""
    if collector.path is not None and collector.path.suffix == ".ipynb":
        collector.skip_compare += ("text/html", "application/javascript", "stderr",
                                   "application/vnd.mnist-lab.result+json")
