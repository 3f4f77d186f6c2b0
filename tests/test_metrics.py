"""Tests for mnist_lab.metrics: the confusion matrix and the most frequent confusions."""

import numpy as np
import pytest

from mnist_lab import metrics

LABELS = [0, 0, 1, 1, 2, 2, 2, 2]
PREDICTIONS = [0, 1, 1, 1, 2, 0, 0, 1]


def hand_count(labels, predictions, num_classes):
    """The confusion matrix counted one pair at a time."""
    counts = [[0] * num_classes for _ in range(num_classes)]
    for true, predicted in zip(labels, predictions):
        counts[true][predicted] += 1
    return counts


def test_confusion_matrix_counts_a_known_case():
    counts = metrics.confusion_matrix(LABELS, PREDICTIONS, num_classes=3)
    np.testing.assert_array_equal(counts, [[1, 1, 0],
                                           [0, 2, 0],
                                           [2, 1, 1]])
    assert isinstance(counts, np.ndarray) and np.issubdtype(counts.dtype, np.integer)
    assert metrics.confusion_matrix(LABELS, PREDICTIONS).shape == (10, 10)


def test_confusion_matrix_equals_a_hand_count(digits):
    _, y = digits
    rng = np.random.default_rng(0)
    predictions = np.where(rng.random(len(y)) < 0.3, rng.integers(0, 10, len(y)), y)
    counts = metrics.confusion_matrix(y, predictions)
    np.testing.assert_array_equal(counts, hand_count(y, predictions, 10))
    assert counts.sum() == len(y)
    assert np.trace(counts) == np.sum(predictions == y)


def test_confusion_matrix_reads_probabilities_as_their_arg_max():
    probabilities = np.eye(3)[PREDICTIONS] * 0.8 + 0.05
    np.testing.assert_array_equal(metrics.confusion_matrix(LABELS, probabilities, num_classes=3),
                                  hand_count(LABELS, PREDICTIONS, 3))


def test_most_confused_sorted_by_count_without_diagonal():
    assert metrics.most_confused(LABELS, PREDICTIONS) == [(2, 0, 2), (0, 1, 1), (2, 1, 1)]
    assert metrics.most_confused(LABELS, PREDICTIONS, k=1) == [(2, 0, 2)]
    assert metrics.most_confused([3, 4], [3, 4]) == []
    assert all(type(v) is int for triple in metrics.most_confused(LABELS, PREDICTIONS) for v in triple)


def test_paired_counts_count_the_images_where_the_two_models_disagree():
    labels = [0, 1, 2, 3, 4, 5]
    a = [0, 1, 2, 9, 9, 9]   # right on 0, 1, 2
    b = [0, 9, 9, 3, 4, 9]   # right on 0, 3, 4
    assert metrics.paired_counts(labels, a, b) == (2, 2)
    assert metrics.paired_counts(labels, a, labels) == (0, 3)


def test_paired_counts_give_the_accuracy_gap_and_read_probabilities():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 10, 500)
    a = np.where(rng.random(500) < 0.9, labels, (labels + 1) % 10)
    b = np.where(rng.random(500) < 0.8, labels, (labels + 3) % 10)
    only_a, only_b = metrics.paired_counts(labels, np.eye(10)[a], b)
    assert only_a - only_b == np.sum(a == labels) - np.sum(b == labels)
    assert only_a == np.sum((a == labels) & (b != labels))


def test_class_numbers_from_classes_or_probabilities():
    np.testing.assert_array_equal(metrics.class_numbers([[0.1, 0.9], [0.8, 0.2]], 2), [1, 0])
    np.testing.assert_array_equal(metrics.class_numbers(np.array([2.0, 1.0]), 2), [2, 1])
    np.testing.assert_array_equal(metrics.class_numbers([[3], [4]], 2), [3, 4])


@pytest.mark.parametrize("call, expected", [
    (lambda: metrics.confusion_matrix([1, 2, 3], [1, 2]), "predictions must have length 3"),
    (lambda: metrics.confusion_matrix([1, 2, 12], [1, 2, 3]), r"labels must be classes 0\.\.9"),
    (lambda: metrics.confusion_matrix([0, 1], [0, 5], num_classes=3), r"predictions must be classes 0\.\.2"),
    (lambda: metrics.confusion_matrix([0, 1], [0, 1], num_classes=0), "num_classes must be a positive integer"),
    (lambda: metrics.confusion_matrix(3, [3]), "labels must be a 1-D array"),
    (lambda: metrics.confusion_matrix([0, 1], [0.5, 1.0]), "whole class numbers"),
    (lambda: metrics.most_confused([0], [1], k=0), "k must be a positive integer"),
    (lambda: metrics.paired_counts([0, 1, 2], [0, 1, 2], [0, 1]), r"predictions_b must have length 3"),
    (lambda: metrics.paired_counts([0, 1], [0, 1, 2], [0, 1]), r"predictions must have length 2"),
])
def test_bad_input_gives_a_clear_one_line_error(call, expected):
    with pytest.raises(ValueError, match=expected) as info:
        call()
    assert "\n" not in str(info.value)
