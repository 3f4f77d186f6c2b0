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


def always_two(built=True):
    """A softmax layer that predicts class 2 for any input: zero weights, the bias favours 2."""
    import keras

    head = keras.layers.Dense(10, activation="softmax", kernel_initializer="zeros",
                              bias_initializer=keras.initializers.Constant(np.eye(10)[2]))
    return keras.Sequential(([keras.Input((784,))] if built else []) + [head])


def subclassed(built=True):
    """A subclassed model: no keras.Input, so no model.inputs, even once built by a first call."""
    import keras

    class Small(keras.Model):
        def __init__(self):
            super().__init__()
            self.conv = keras.layers.Conv2D(4, 3)
            self.flat = keras.layers.Flatten()
            self.head = keras.layers.Dense(10, activation="softmax")
            self.unused = keras.layers.Dense(3)      # never called, so never built

        def call(self, x):
            return self.head(self.flat(self.conv(x)))

    model = Small()
    if built:
        model(np.zeros((1, 28, 28, 1), dtype="float32"))
    return model


@pytest.mark.parametrize("make", [always_two, subclassed], ids=["sequential", "subclassed"])
def test_unbuilt_model_fails_with_a_hint(make):
    model = make(built=False)
    for call in (lambda: checks.check_weight_count(7850, model), lambda: checks.check_model_shape(model)):
        with pytest.raises(checks.CheckFailed, match=r"is not built yet.*keras.Input\(shape=...\).*model\(x_train") as e:
            call()
        assert "\n" not in str(e.value)


def test_unbuilt_model_is_built_by_the_accuracy_check(capsys):
    labels = np.array([2, 2, 0, 1])
    checks.check_model_accuracy(0.5, always_two(built=False), np.zeros((4, 784)), labels)
    assert "matches the model's, 0.5000" in capsys.readouterr().out


@pytest.mark.filterwarnings("ignore:`build\\(\\)` was called on layer")  # the unused layer
def test_built_subclassed_model_is_checked(capsys):
    model = subclassed()
    checks.check_model_shape(model, input_shape=(28, 28, 1), layer_types={"Conv2D": 1})
    checks.check_weight_count(4 * (3 * 3 + 1) + 26 * 26 * 4 * 10 + 10, model)
    assert "maps (28, 28, 1) to (10,)" in capsys.readouterr().out
    with pytest.raises(checks.CheckFailed, match=r"takes inputs of shape \(28, 28, 1\), expected \(784,\)"):
        checks.check_model_shape(model, input_shape=(784,))
    with pytest.raises(checks.CheckFailed, match=r"has 27,090 weights.*conv2d\w*: 40, .*dense\w*: 27,050.*: not built"):
        checks.check_weight_count(27_000, model)


def test_layers_in_nested_models_are_counted(capsys):
    import keras

    block = keras.Sequential([keras.layers.Conv2D(4, 3), keras.layers.MaxPooling2D(), keras.layers.Conv2D(4, 3)])
    inputs = keras.Input((28, 28, 1))
    outputs = keras.layers.Dense(10, activation="softmax")(keras.layers.Flatten()(block(inputs)))
    model = keras.Model(inputs, outputs)
    checks.check_model_shape(model, input_shape=(28, 28, 1), layer_types={"Conv2D": 2, "MaxPooling2D": 1})
    assert "Correct" in capsys.readouterr().out
    with pytest.raises(checks.CheckFailed, match="at least 3 Conv2D layer.*, found 2"):
        checks.check_model_shape(model, layer_types={"Conv2D": 3})


def test_one_hot_labels_count_as_classes(capsys):
    labels, predicted = np.array([0, 1, 2, 3, 4]), np.array([0, 1, 2, 3, 0])
    one_hot = np.eye(10)[labels]
    checks.check_accuracy(0.8, one_hot, predicted)
    checks.check_accuracy(0.8, one_hot, np.eye(10)[predicted])
    with pytest.raises(checks.CheckFailed, match="0.9600 is not the fraction of correct predictions"):
        checks.check_accuracy(0.96, one_hot, np.eye(10)[predicted])   # element-wise, not per sample
    # 5 samples (a broadcast error) and 10 samples (a silent 10x10 comparison) alike
    checks.check_model_accuracy(0.2, always_two(), np.zeros((5, 784)), one_hot)
    checks.check_model_accuracy(0.1, always_two(), np.zeros((10, 784)), np.eye(10))
    assert capsys.readouterr().out.count("Correct") == 4


@pytest.mark.parametrize("call, message", [
    (lambda: checks.check_accuracy(0.8, [0, 1], np.full((2, 10), 0.1)),
     r"predicted digits should be one class per sample, shape \(samples,\), got shape \(2, 10\)\. Hint: .*argmax"),
    (lambda: checks.check_accuracy(0.8, [[0], [1]], [0, 1]), r"labels should be one class per sample.*\(2, 1\)"),
    (lambda: checks.check_model_accuracy(0.2, always_two(), np.zeros((5, 784)), np.full((5, 10), 0.1)),
     r"labels should be one class per sample.*\(5, 10\)"),
    (lambda: checks.check_model_accuracy(0.2, always_two(), np.zeros((5, 784)), np.eye(10)[:4]),
     "the model made 5 predictions but there are 4 labels"),
], ids=["probabilities-as-predictions", "column-of-labels", "probabilities-as-labels", "too-few-labels"])
def test_labels_that_are_not_classes_fail_with_a_hint(call, message):
    with pytest.raises(checks.CheckFailed, match=message) as e:
        call()
    assert "\n" not in str(e.value)


def test_subclassed_model_whose_shapes_cannot_be_found():
    import keras

    class TwoInputs(keras.Model):
        def __init__(self):
            super().__init__()
            self.head = keras.layers.Dense(10)

        def call(self, inputs):
            return self.head(keras.ops.concatenate(inputs, axis=-1))

    class UsesNumPy(TwoInputs):
        def call(self, x):
            return self.head(np.asarray(x).reshape(len(x), -1))     # runs eagerly, not symbolically

    two, numpy = TwoInputs(), UsesNumPy()
    two([np.zeros((1, 3)), np.zeros((1, 4))])
    numpy(np.zeros((1, 28, 28, 1)))
    with pytest.raises(checks.CheckFailed, match=r"cannot tell the model's input shape .*needs a model with one input"):
        checks.check_model_shape(two)
    with pytest.raises(checks.CheckFailed, match=r"cannot compute .* shape \(28, 28, 1\) .*use keras.ops") as e:
        checks.check_model_shape(numpy)
    assert "\n" not in str(e.value)
