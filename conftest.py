"""Test-wide settings: nbval runs the notebooks in the quick profile, and nbval hygiene.

Lives at the repository root so it applies to ``tests/`` and ``notebooks/``
alike; notebook kernels inherit the environment set here (so it sets no
MPLBACKEND: kernels keep Jupyter's inline backend, as for a student).
"""

import os
from pathlib import Path

import nbformat
import py
import pytest
from nbval.plugin import IPyNbFile

from mnist_lab import RESULT_MIMETYPE, SAMPLE_MIMETYPE
from mnist_lab.tooling import atomic, lessons, runner

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# nbval runs a copy of each notebook with QUICK = True, written here (gitignored; the same path on
# every test worker, which xdist needs to collect the same tests).
QUICK_COPIES = Path(__file__).resolve().parent / ".nbval"

# Executed copies that `jupyter nbconvert --execute` leaves beside the lessons are not lessons to test.
collect_ignore_glob = [f"*{ending}" for ending in lessons.LEFTOVERS]


def quick_copy(path: Path) -> Path:
    """Write ``path`` with ``QUICK = True`` injected after its Parameters cell (as papermill does) to QUICK_COPIES."""
    from papermill.iorw import load_notebook_node
    from papermill.parameterize import parameterize_notebook

    nb = parameterize_notebook(load_notebook_node(str(path)), {"QUICK": True})
    for cell in nb.cells:
        if "injected-parameters" in cell.metadata.get("tags", []):
            cell.id = "injected-parameters"   # the same copy on every worker
    QUICK_COPIES.mkdir(exist_ok=True)
    return atomic.write_text(QUICK_COPIES / path.name, nbformat.writes(nb))   # whole, even with two workers writing it


class QuickNotebook(IPyNbFile):
    """nbval's collector for a lesson: its tests keep the lesson's path and name, and read and run its quick copy."""

    quick: Path

    @property
    def fspath(self):   # nbval reads the notebook from fspath and starts the kernel in its folder
        return py.path.local(self.quick)


@pytest.hookimpl(wrapper=True)
def pytest_collect_file(file_path, parent):
    """nbval collects a lesson that has a QUICK parameter from its quick copy instead."""
    collected = yield
    if file_path.suffix != ".ipynb" or not any(isinstance(item, IPyNbFile) for item in collected):
        return collected
    try:
        names = runner.parameter_names(runner.read(file_path))
    except ValueError:   # no Parameters cell (or a broken one): nbval runs the notebook as it is
        return collected
    if "QUICK" not in names:
        return collected
    node = QuickNotebook.from_parent(parent, path=file_path)
    node.quick = quick_copy(file_path)
    return [node if isinstance(item, IPyNbFile) else item for item in collected]


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
