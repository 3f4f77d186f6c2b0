"""Self-checks accept right answers and explain wrong ones."""

import numpy as np
import pytest

from mnist_lab import checks, models


@pytest.fixture(scope="module")
def logistic():
    return models.logistic_regression(input_shape=(784,))


def test_predictions(capsys):
    p = np.array([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7]])
    checks.check_predictions(p.argmax(axis=1), p)
    assert "Correct" in capsys.readouterr().out
    with pytest.raises(checks.CheckFailed, match="sample 1: you have 1, the highest probability is for 0"):
        checks.check_predictions(np.array([1, 1, 1]), p)
    with pytest.raises(checks.CheckFailed, match="axis=1"):
        checks.check_predictions(p.argmax(axis=0), p)


def test_accuracy(capsys):
    y = np.array([1, 2, 3, 4])
    pred = np.array([1, 2, 0, 0])
    checks.check_accuracy(0.5, y, pred)
    assert "2 of 4" in capsys.readouterr().out
    with pytest.raises(checks.CheckFailed, match="percentage"):
        checks.check_accuracy(50.0, y, pred)
    with pytest.raises(checks.CheckFailed, match="0.2500 is not the fraction"):
        checks.check_accuracy(0.25, y, pred)


def test_model_accuracy(logistic, digits):
    x, y = digits
    x = x[:50].reshape(50, 784).astype("float32") / 255
    predicted = logistic.predict(x, verbose=0).argmax(axis=1)
    right = float(np.mean(predicted == y[:50]))
    checks.check_model_accuracy(right, logistic, x, y[:50])
    with pytest.raises(checks.CheckFailed, match="differs from the model's"):
        checks.check_model_accuracy(right + 0.1, logistic, x, y[:50])


def test_weight_count(logistic, capsys):
    checks.check_weight_count(7850, logistic)
    assert "7,850" in capsys.readouterr().out
    with pytest.raises(checks.CheckFailed, match="forget the biases"):
        checks.check_weight_count(7840, logistic)
    with pytest.raises(checks.CheckFailed, match="too many"):
        checks.check_weight_count(9000, logistic)


def test_weight_count_of_one_layer(capsys):
    conv = models.conv_network((8, 16), pool=True).get_layer("conv_2")
    checks.check_weight_count(3216, conv)
    assert "3,216" in capsys.readouterr().out
    with pytest.raises(checks.CheckFailed, match=r"forget the biases.*conv_2: 3,216"):
        checks.check_weight_count(3200, conv)


def test_model_shape(capsys):
    model = models.conv_network((8, 16), pool=True)
    checks.check_model_shape(model, input_shape=(28, 28, 1), layer_types={"Conv2D": 2, "MaxPooling2D": 2})
    assert "Correct" in capsys.readouterr().out
    with pytest.raises(checks.CheckFailed, match=r"expected \(784,\)"):
        checks.check_model_shape(model, input_shape=(784,))
    with pytest.raises(checks.CheckFailed, match="at least 3 Conv2D"):
        checks.check_model_shape(model, layer_types={"Conv2D": 3})


def test_at_least(capsys):
    checks.check_at_least(0.97, 0.95)
    assert "reaches" in capsys.readouterr().out
    with pytest.raises(checks.CheckFailed, match="below the target"):
        checks.check_at_least(0.90, 0.95)
