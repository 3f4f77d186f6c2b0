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


NAN, INF = float("nan"), float("inf")
P = np.array([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7]])
Y = np.array([1, 2, 3, 4])
NONE = "is None: did you assign your answer"
TEXT = "should be a number, got the text"
IS_NAN = r"is NaN \(not a number\)"
IS_INF = "is infinite"

BAD_ANSWERS = {
    # check_predictions
    "pred-none": (lambda m: checks.check_predictions(None, P), "predicted digits " + NONE),
    "pred-text": (lambda m: checks.check_predictions("1 0 1", P), "predicted digits " + TEXT),
    "pred-strings": (lambda m: checks.check_predictions(["1", "0", "1"], P), "predicted digits should be numbers"),
    "pred-nan": (lambda m: checks.check_predictions(np.array([1, NAN, 1]), P), "predicted digits " + IS_NAN),
    "pred-inf": (lambda m: checks.check_predictions(np.array([1, INF, 1]), P), "predicted digits " + IS_INF),
    "pred-fraction": (lambda m: checks.check_predictions(np.array([1, 0.5, 1]), P),
                      "predicted digits should be whole numbers, got 0.5"),
    "prob-none": (lambda m: checks.check_predictions(P.argmax(axis=1), None), "probabilities " + NONE),
    "prob-nan": (lambda m: checks.check_predictions(P.argmax(axis=1), P * NAN), "probabilities " + IS_NAN),
    "prob-dict": (lambda m: checks.check_predictions(P.argmax(axis=1), {"a": 1}), "probabilities should be a number"),
    # check_accuracy
    "acc-nan": (lambda m: checks.check_accuracy(NAN, Y, Y), "the accuracy " + IS_NAN),
    "acc-inf": (lambda m: checks.check_accuracy(INF, Y, Y), "the accuracy " + IS_INF),
    "acc-none": (lambda m: checks.check_accuracy(None, Y, Y), "the accuracy " + NONE),
    "acc-text": (lambda m: checks.check_accuracy("1.0", Y, Y), "the accuracy " + TEXT),
    "acc-bool": (lambda m: checks.check_accuracy(True, Y, Y), "the accuracy should be a number, got bool True"),
    "acc-list": (lambda m: checks.check_accuracy([0.4, 1.0], Y, Y), r"should be one number, got list of shape \(2,\)"),
    "acc-labels-none": (lambda m: checks.check_accuracy(1.0, None, Y), "labels " + NONE),
    "acc-labels-fraction": (lambda m: checks.check_accuracy(1.0, Y + 0.5, Y), "labels should be whole numbers"),
    "acc-empty": (lambda m: checks.check_accuracy(1.0, [], []), "empty"),
    # check_model_accuracy
    "model-acc-nan": (lambda m: checks.check_model_accuracy(NAN, m, np.zeros((2, 784)), [0, 1]),
                      "your accuracy " + IS_NAN),
    "model-acc-inf": (lambda m: checks.check_model_accuracy(-INF, m, np.zeros((2, 784)), [0, 1]),
                      "your accuracy " + IS_INF),
    "model-acc-none": (lambda m: checks.check_model_accuracy(None, m, np.zeros((2, 784)), [0, 1]),
                       "your accuracy " + NONE),
    "model-acc-text": (lambda m: checks.check_model_accuracy("0.9", m, np.zeros((2, 784)), [0, 1]),
                       "your accuracy " + TEXT),
    "model-acc-no-model": (lambda m: checks.check_model_accuracy(0.9, None, np.zeros((2, 784)), [0, 1]),
                           "the model is None"),
    "model-acc-layer": (lambda m: checks.check_model_accuracy(0.9, m.layers[-1], np.zeros((2, 784)), [0, 1]),
                        "expected a Keras model, got Dense"),
    # check_weight_count
    "weights-fraction": (lambda m: checks.check_weight_count(7850.9, m),
                         "the number of weights should be whole numbers, got 7850.9; a count is an integer"),
    "weights-nan": (lambda m: checks.check_weight_count(NAN, m), "the number of weights " + IS_NAN),
    "weights-inf": (lambda m: checks.check_weight_count(INF, m), "the number of weights " + IS_INF),
    "weights-none": (lambda m: checks.check_weight_count(None, m), "the number of weights " + NONE),
    "weights-text": (lambda m: checks.check_weight_count("7850", m), "the number of weights " + TEXT),
    "weights-list": (lambda m: checks.check_weight_count([7850], m), "should be one number"),
    "weights-no-model": (lambda m: checks.check_weight_count(7850, None), "the model is None"),
    "weights-text-model": (lambda m: checks.check_weight_count(7850, "model"), "expected a Keras model, got str"),
    # check_model_shape
    "shape-none": (lambda m: checks.check_model_shape(None), "the model is None"),
    "shape-text": (lambda m: checks.check_model_shape("model"), "expected a Keras model, got str"),
    "shape-number": (lambda m: checks.check_model_shape(42), "expected a Keras model, got int"),
    # check_at_least
    "least-nan": (lambda m: checks.check_at_least(NAN, 0.9), "validation accuracy " + IS_NAN),
    "least-inf": (lambda m: checks.check_at_least(INF, 0.9), "validation accuracy " + IS_INF),
    "least-none": (lambda m: checks.check_at_least(None, 0.9), "validation accuracy " + NONE),
    "least-text": (lambda m: checks.check_at_least("0.97", 0.9), "validation accuracy " + TEXT),
    "least-list": (lambda m: checks.check_at_least([0.3, 0.97], 0.9), "pick the value you mean"),
    "least-target-nan": (lambda m: checks.check_at_least(0.97, NAN), "the target " + IS_NAN),
}


@pytest.mark.parametrize("case", BAD_ANSWERS, ids=list(BAD_ANSWERS))
def test_bad_answers_fail_with_a_hint(logistic, capsys, case):
    call, message = BAD_ANSWERS[case]
    with pytest.raises(checks.CheckFailed, match=message) as e:
        call(logistic)
    assert "\n" not in str(e.value)
    assert "Correct" not in capsys.readouterr().out


def test_whole_floats_and_numpy_scalars_are_accepted(logistic, capsys):
    checks.check_weight_count(7850.0, logistic)
    checks.check_weight_count(np.int64(7850), logistic)
    checks.check_at_least(np.float32(0.97), 0.95)
    checks.check_accuracy(np.float64(0.5), [1, 2, 3, 4], np.array([1.0, 2.0, 0.0, 0.0]))
    assert capsys.readouterr().out.count("Correct") == 4
