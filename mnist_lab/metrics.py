"""Counting a classifier's mistakes: the confusion matrix and the most frequent confusions.

Labels and predictions are class numbers (N,); class probabilities (N, classes),
e.g. ``model.predict(x)``, are accepted too and read as their arg-max. The
pictures of these numbers are in :mod:`mnist_lab.plot`.

>>> confusion_matrix([0, 1, 1], [0, 1, 0], num_classes=2)
array([[1, 0],
       [1, 1]])
"""

from __future__ import annotations

import numpy as np

from ._tf import tf

__all__ = ["confusion_matrix", "most_confused", "class_numbers"]


def _check_count(value, name):
    """A positive int, or a one-line ValueError naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer; got {value!r}")
    return int(value)


def class_numbers(values, n, name="predictions"):
    """Class numbers (n,) from class numbers or from (n, classes) probabilities.

    ``n`` is the expected length (one per image); a mismatch, fractional
    classes or another shape raise a one-line ValueError naming ``name``.

    >>> class_numbers([[0.1, 0.9], [0.8, 0.2]], 2)
    array([1, 0])
    """
    v = np.asarray(values)
    if v.ndim == 2 and v.shape[1] == 1:
        v = v[:, 0]
    elif v.ndim == 2 and v.shape[0] == n:
        v = v.argmax(axis=1)
    if v.ndim != 1 or len(v) != n:
        raise ValueError(
            f"{name} must have length {n} (one per image), or shape ({n}, classes); "
            f"got shape {v.shape}"
        )
    if not np.issubdtype(v.dtype, np.integer):
        if not (np.issubdtype(v.dtype, np.floating) and np.all(v == np.round(v))):
            raise ValueError(f"{name} must be whole class numbers; got dtype {v.dtype}")
    return v.astype(np.int64)


def _check_pairs(labels, predictions, num_classes=None):
    """Class numbers (y, p) of equal length, and the number of classes (at least 10 by default)."""
    y = np.asarray(labels)
    if y.ndim == 0:
        raise ValueError(f"labels must be a 1-D array of classes; got a scalar {labels!r}")
    y = class_numbers(y, len(y), "labels")
    p = class_numbers(predictions, len(y), "predictions")
    if num_classes is None:
        num_classes = max(10, int(max(y.max(initial=0), p.max(initial=0))) + 1)
    for name, v in (("labels", y), ("predictions", p)):
        if len(v) and (v.min() < 0 or v.max() >= num_classes):
            raise ValueError(f"{name} must be classes 0..{num_classes - 1}; "
                             f"got values {v.min()}..{v.max()}")
    return y, p, num_classes


def confusion_matrix(labels, predictions, num_classes=10):
    """Count (true, predicted) pairs: rows are true classes, columns predictions.

    Counted by ``tf.math.confusion_matrix``; returned as a NumPy int64 array
    of shape (num_classes, num_classes).

    >>> confusion_matrix([0, 1, 1], [0, 1, 0], num_classes=2)
    array([[1, 0],
           [1, 1]])
    """
    y, p, num_classes = _check_pairs(labels, predictions, _check_count(num_classes, "num_classes"))
    counts = tf.math.confusion_matrix(y, p, num_classes=num_classes, dtype=tf.int64)
    return np.asarray(counts.numpy(), dtype=np.int64)


def most_confused(labels, predictions, k=5):
    """The `k` most frequent mistakes as (true, predicted, count), most frequent first.

    Ties are ordered by true class, then predicted class.

    >>> most_confused([4, 4, 7, 1], [9, 9, 1, 1], k=5)
    [(4, 9, 2), (7, 1, 1)]
    """
    k = _check_count(k, "k")
    y, p, num_classes = _check_pairs(labels, predictions)
    counts = confusion_matrix(y, p, num_classes)
    np.fill_diagonal(counts, 0)
    pairs = [(int(t), int(q), int(counts[t, q])) for t, q in zip(*np.nonzero(counts))]
    pairs.sort(key=lambda pair: (-pair[2], pair[0], pair[1]))
    return pairs[:k]
