"""Counting a classifier's mistakes: the confusion matrix, the most frequent confusions, and where two models differ.

Predictions may be class numbers (N,) or probabilities (N, classes), read as their arg-max.
"""

from __future__ import annotations

import numpy as np

from . import data
from ._tf import tf

__all__ = ["confusion_matrix", "most_confused", "paired_counts", "class_numbers"]


def class_numbers(values, n, name="predictions"):
    """Class numbers (n,) from class numbers or (n, classes) probabilities; else a ValueError naming ``name``."""
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
    """Class numbers (y, p) of equal length, and the number of classes (by default at least 10)."""
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
    """Count (true, predicted) pairs with ``tf.math.confusion_matrix``: rows true classes, columns predictions.

    ``num_classes=None`` counts at least 10 classes, more if a label or prediction needs them.
    """
    if num_classes is not None:
        num_classes = data.positive_int(num_classes, "num_classes")
    y, p, num_classes = _check_pairs(labels, predictions, num_classes)
    counts = tf.math.confusion_matrix(y, p, num_classes=num_classes, dtype=tf.int64)
    return np.asarray(counts.numpy(), dtype=np.int64)


def most_confused(labels, predictions, k=5):
    """The `k` most frequent mistakes as (true, predicted, count), most frequent first, ties by class."""
    k = data.positive_int(k, "k")
    y, p, num_classes = _check_pairs(labels, predictions)
    counts = confusion_matrix(y, p, num_classes)
    np.fill_diagonal(counts, 0)
    pairs = [(int(t), int(q), int(counts[t, q])) for t, q in zip(*np.nonzero(counts))]
    pairs.sort(key=lambda pair: (-pair[2], pair[0], pair[1]))
    return pairs[:k]


def paired_counts(labels, predictions_a, predictions_b):
    """(only_a, only_b): how many images only model a gets right, and only model b, of the same images.

    Images both get right or both get wrong say nothing about which model is better; the accuracy
    gap is exactly ``(only_a - only_b) / n``. If the two were equally good, ``only_a - only_b`` would
    be 0 give or take about ``sqrt(only_a + only_b)`` (McNemar's test).
    """
    y, a, _ = _check_pairs(labels, predictions_a)
    b = class_numbers(predictions_b, len(y), "predictions_b")
    right_a, right_b = a == y, b == y
    return int(np.sum(right_a & ~right_b)), int(np.sum(right_b & ~right_a))
