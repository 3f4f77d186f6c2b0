"""Self-checks for the Task cells: each recomputes the answer, prints a confirmation or raises :class:`CheckFailed`."""

from __future__ import annotations

import numpy as np


class CheckFailed(AssertionError):
    """Your answer does not match; the message says what to look at."""


_BUILD = "start it with keras.Input(shape=...), or call it once on a batch, e.g. model(x_train[:1])"


def _fail(message: str):
    raise CheckFailed(message)


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _numbers(value, what: str, whole: bool = False) -> np.ndarray:
    """``value`` as a finite numeric array (whole numbers if ``whole``), or CheckFailed saying what is wrong."""
    if value is None:
        _fail(f"{what} is None: did you assign your answer? A function that prints instead of returning "
              "gives None.")
    if isinstance(value, (str, bytes)):
        _fail(f"{what} should be a number, got the text {_short(value)}; remove the quotes.")
    try:
        array = np.asarray(value)
    except Exception:  # ragged lists and other objects NumPy cannot turn into one array
        array = np.asarray(None)
    if array.dtype == bool or not (np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating)):
        _fail(f"{what} should be {'numbers' if array.ndim else 'a number'}, got {type(value).__name__} "
              f"{_short(value)}.")
    if np.isnan(array).any():
        _fail(f"{what} is NaN (not a number): did the training diverge (loss NaN), or did you take the mean "
              "of an empty array?")
    if np.isinf(array).any():
        _fail(f"{what} is infinite: did something divide by zero?")
    if whole and (array != np.round(array)).any():
        bad = array.flat[np.flatnonzero(array != np.round(array))[0]]
        _fail(f"{what} should be whole numbers, got {bad:g}; "
              f"{'a count' if array.ndim == 0 else 'a class'} is an integer.")
    return array


def _number(value, what: str, whole: bool = False) -> float:
    """``value`` as one finite float, or CheckFailed with a hint."""
    array = _numbers(value, what, whole)
    if array.ndim:
        _fail(f"{what} should be one number, got {type(value).__name__} of shape {array.shape}; "
              "pick the value you mean, e.g. results[1].")
    return float(array)


def _classes(value, what: str) -> np.ndarray:
    """``value`` as one class per sample; one-hot rows (a single 1 each) count as the class of their 1."""
    array = _numbers(value, what)
    if array.ndim == 2 and array.shape[1] > 1 and np.isin(array, (0, 1)).all() and (array.sum(axis=1) == 1).all():
        return array.argmax(axis=1)
    if array.ndim != 1:
        _fail(f"{what} should be one class per sample, shape (samples,), got shape {array.shape}. "
              "Hint: for probabilities, take the argmax along axis=1.")
    return _numbers(array, what, whole=True)


def _model(model, needs: str = "count_params", built: bool = True) -> None:
    """CheckFailed unless ``model`` looks like a Keras model (or layer) with method ``needs``, built if ``built``."""
    if model is None:
        _fail("the model is None: pass the Keras model itself (does your function return it?).")
    if not callable(getattr(model, needs, None)):
        _fail(f"expected a Keras model, got {type(model).__name__} {_short(model)}.")
    if built and not getattr(model, "built", True):
        _fail(f"{type(model).__name__} '{getattr(model, 'name', '')}' is not built yet, so it has no weights or "
              f"shapes; {_BUILD}.")


def _params(layer) -> str:
    """A layer's parameter count for a hint; an unbuilt layer has none yet."""
    return f"{layer.count_params():,}" if getattr(layer, "built", True) else "not built"


def _shapes(model) -> tuple[tuple, tuple]:
    """Input and output shape (without the batch axis) of a built model, subclassed models included."""
    if getattr(model, "inputs", None) and getattr(model, "outputs", None):
        return tuple(model.inputs[0].shape[1:]), tuple(model.outputs[0].shape[1:])
    import keras  # a subclassed model knows only the shape it was built with; its output shape is computed

    config = model.get_build_config() if callable(getattr(model, "get_build_config", None)) else None
    built_with = (config or {}).get("input_shape")
    if not built_with or not all(isinstance(side, (int, type(None))) for side in built_with):
        _fail(f"cannot tell the model's input shape (built with {_short(built_with)}); the check needs a model "
              f"with one input: {_BUILD}.")
    got_in = tuple(built_with[1:])
    try:
        output = keras.tree.flatten(model.compute_output_spec(keras.KerasTensor((None, *got_in))))[0]
    except Exception as error:  # Keras cannot trace the model's call() symbolically
        output = error
    if isinstance(output, Exception):
        _fail(f"cannot compute the model's output shape for inputs of shape {got_in} "
              f"({type(output).__name__}): its call() must work on symbolic inputs, so use keras.ops there, "
              "not NumPy.")
    return got_in, tuple(output.shape[1:])


def _all_layers(model):
    """Every layer of ``model``, and of the models nested in it, depth first."""
    for layer in getattr(model, "layers", None) or []:
        yield layer
        yield from _all_layers(layer)


def check_predictions(predicted, probabilities) -> None:
    """Predicted digits must be the most probable class of each row."""
    probabilities = _numbers(probabilities, "probabilities")
    predicted = _numbers(predicted, "predicted digits")
    if probabilities.ndim != 2:
        _fail(f"probabilities should be 2-D (samples, classes), got shape {probabilities.shape}")
    if predicted.shape != (len(probabilities),):
        _fail(f"expected one predicted digit per sample, shape ({len(probabilities)},); got {predicted.shape}. "
              "Hint: take the argmax along axis=1, the class axis.")
    predicted = _numbers(predicted, "predicted digits", whole=True)
    expected = probabilities.argmax(axis=1)
    wrong = np.flatnonzero(predicted != expected)
    if len(wrong):
        i = wrong[0]
        _fail(f"{len(wrong):,} of {len(predicted):,} predictions differ from the most probable class; "
              f"e.g. sample {i}: you have {predicted[i]:g}, the highest probability is for {expected[i]}.")
    print(f"Correct: {len(predicted):,} predicted digits, each the most probable class.")


def check_accuracy(accuracy, labels, predicted, tolerance: float = 1e-6) -> None:
    """An accuracy must be the fraction of predictions equal to the labels (0..1); one-hot rows count as classes."""
    accuracy = _number(accuracy, "the accuracy")
    labels = _classes(labels, "labels")
    predicted = _classes(predicted, "predicted digits")
    if labels.shape != predicted.shape:
        _fail(f"labels {labels.shape} and predictions {predicted.shape} must have the same shape")
    if labels.size == 0:
        _fail("labels and predictions are empty: an accuracy needs at least one prediction")
    expected = float(np.mean(labels == predicted))
    if abs(accuracy - 100 * expected) <= 100 * tolerance and expected != 0:
        _fail(f"{accuracy} looks like a percentage; give the accuracy as a fraction, {expected:.4f}.")
    if abs(accuracy - expected) > tolerance:
        _fail(f"{accuracy:.4f} is not the fraction of correct predictions ({expected:.4f}). "
              "Hint: compare predicted and true labels element-wise and take the mean.")
    print(f"Correct: accuracy {expected:.4f} ({int(round(expected * len(labels))):,} of {len(labels):,}).")


def check_model_accuracy(accuracy, model, x, y, tolerance: float = 1e-3) -> None:
    """An accuracy computed by hand must agree with the model's own evaluation."""
    accuracy = _number(accuracy, "your accuracy")
    _model(model, needs="predict", built=False)   # predict builds a model that is not built yet
    labels = _classes(y, "labels")
    predicted = np.asarray(model.predict(x, verbose=0)).argmax(axis=1)
    if labels.shape != predicted.shape:
        _fail(f"the model made {len(predicted):,} predictions but there are {len(labels):,} labels: "
              "pass the labels of the same images.")
    expected = float(np.mean(predicted == labels))
    if abs(accuracy - expected) > tolerance:
        _fail(f"your accuracy {accuracy:.4f} differs from the model's {expected:.4f} on the same data. "
              "Did you use the same images, scaled the same way?")
    print(f"Correct: your accuracy matches the model's, {expected:.4f}.")


def check_weight_count(answer, model) -> None:
    """A stated number of weights must equal the parameter count of a model (or of one layer)."""
    answer = int(_number(answer, "the number of weights", whole=True))
    _model(model)
    expected = int(model.count_params())
    if answer != expected:
        parts = getattr(model, "layers", None) or [model]
        per_layer = ", ".join(f"{layer.name}: {_params(layer)}" for layer in parts)
        hint = ("too few: did you forget the biases (one per output unit)?" if answer < expected
                else "too many: layers without weights (pooling, flatten, dropout) add none.")
        _fail(f"{answer:,} is not right, the model has {expected:,} weights; {hint} Per layer: {per_layer}.")
    print(f"Correct: the model has {expected:,} weights.")


def check_model_shape(model, input_shape=None, output_shape=(10,), layer_types=None) -> None:
    """A model must take ``input_shape``, output ``output_shape`` and, optionally, use the given layer types.

    Layers inside nested models count, so a Sequential block inside a functional model is looked into.
    """
    _model(model)
    got_in, got_out = _shapes(model)
    if input_shape is not None and got_in != tuple(input_shape):
        _fail(f"the model takes inputs of shape {got_in}, expected {tuple(input_shape)}")
    if output_shape is not None and got_out != tuple(output_shape):
        _fail(f"the model outputs shape {got_out}, expected {tuple(output_shape)}: one probability per class")
    if layer_types:
        names = [type(layer).__name__ for layer in _all_layers(model)]
        for wanted, count in layer_types.items():
            if names.count(wanted) < count:
                _fail(f"expected at least {count} {wanted} layer(s), found {names.count(wanted)}; layers: {names}")
    print(f"Correct: the model maps {got_in} to {got_out}.")


def check_at_least(value, threshold, what: str = "validation accuracy") -> None:
    """A result must reach a threshold, e.g. a task's accuracy target."""
    value = _number(value, what)
    threshold = _number(threshold, "the target")
    if value < threshold:
        _fail(f"{what} {value:.4f} is below the target {threshold:.4f}; "
              "train longer, or change the architecture, and compare on the validation set.")
    print(f"Correct: {what} {value:.4f} reaches {threshold:.4f}.")


# --- checks for answers that are not a count: values, training runs, models built anew -------------


def check_equal(answer, expected, what: str) -> None:
    """An answer must equal ``expected`` (numbers as numbers); a wrong answer's message does not give it away."""
    if isinstance(expected, (int, float, np.integer, np.floating)) and not isinstance(expected, bool):
        right = _number(answer, what) == float(expected)
    else:
        right = bool(answer == expected)
    if not right:
        _fail(f"{what}: {_short(answer)} is not right; read the task again, part by part.")
    text = repr(answer)
    print(f"Correct: {what}" + (f", {text}." if len(text) <= 40 else "."))


def check_history(history, epochs, learning_rate=None, steps=None) -> None:
    """``history`` must be what ``fit`` returned for ``epochs`` epochs with validation data.

    ``learning_rate``: the rate of every epoch, one number or one per epoch;
    ``steps``: training steps per epoch (the batch size decides them).
    The confirmation names no numbers, so it reads the same in every profile.
    """
    logs = getattr(history, "history", None)
    if not isinstance(logs, dict):
        _fail(f"expected the History that model.fit returns, got {type(history).__name__} {_short(history)}.")
    if "val_loss" not in logs:
        _fail("the training ran without validation data: pass validation_data=(x_val, y_val) to fit.")
    done = len(logs.get("loss", []))
    if done != epochs:
        _fail(f"the history has {done} epochs, the task asks for {epochs}: pass epochs=EPOCHS to fit.")
    if learning_rate is not None:
        wanted = np.broadcast_to(np.asarray(learning_rate, dtype=float), (epochs,))
        used = logs.get("learning_rate")
        if used is None:
            if np.ndim(learning_rate):
                _fail("no learning rate was logged per epoch: pass the learning-rate callback to fit's callbacks.")
            try:
                used = [float(history.model.optimizer.learning_rate)] * epochs
            except (AttributeError, TypeError, ValueError):
                _fail("cannot read the optimizer's learning rate: give Adam a number, learning_rate=...")
        used = np.asarray(used, dtype=float)
        if used.shape != wanted.shape or not np.allclose(used, wanted, rtol=1e-5):
            bad = int(np.flatnonzero(~np.isclose(used, wanted, rtol=1e-5))[0]) if used.shape == wanted.shape else 0
            _fail(f"epoch {bad + 1} trained at learning rate {used[bad]:.3g}, the task asks for {wanted[bad]:.3g}.")
    if steps is not None:
        got = (getattr(history, "params", None) or {}).get("steps")
        if got != steps:
            _fail(f"{got} training steps per epoch, the task's batch size gives {steps}: "
                  "pass batch_size=BATCH_SIZE to fit.")
    print("Correct: trained for the epochs asked for, with validation data"
          + (", at the learning rates asked for" if learning_rate is not None else "")
          + (", in batches of the size asked for" if steps is not None else "") + ".")


def check_new_layers(model, other) -> None:
    """``model`` must have layers of its own: a layer shared with ``other`` shares, and keeps training, its weights."""
    _model(model)
    _model(other)
    theirs = {id(weight) for weight in other.weights}
    shared = [layer.name for layer in model.layers if any(id(weight) in theirs for weight in layer.weights)]
    if shared:
        _fail(f"{model.name} shares the layers {', '.join(shared)} with {other.name}, and so their trained "
              "weights; build new layers, e.g. layers.Conv2D(...) written out again.")
    print(f"Correct: {model.name} has layers and weights of its own.")


def check_candidates(candidates, baseline, records) -> None:
    """A dict name -> History holding ``baseline`` and models of your own, and one run record per model of yours."""
    if not isinstance(candidates, dict):
        _fail(f"candidates should be a dict, name -> history, got {type(candidates).__name__} {_short(candidates)}.")
    if not any(history is baseline for history in candidates.values()):
        _fail("the notebook's history is not among the candidates: add it, e.g. candidates['notebook'] = history.")
    if len(candidates) < 2:
        _fail("the notebook's model is the only candidate: train an architecture of your own and add its history.")
    for name, history in candidates.items():
        logs = getattr(history, "history", None)
        if not isinstance(logs, dict) or "val_accuracy" not in logs:
            _fail(f"candidates[{name!r}] is not the History of a fit with validation data: store what "
                  "model.fit(..., validation_data=(x_val, y_val)) returns.")
        _model(getattr(history, "model", None), needs="evaluate")
    if not isinstance(records, (list, tuple)) or len(records) != len(candidates) - 1 \
            or not all(hasattr(record, "best_val_accuracy") for record in records):
        _fail(f"candidate_records should hold one run record (run.report()) for each of your "
              f"{len(candidates) - 1} candidate(s).")
    print(f"Correct: {len(candidates)} candidates, each trained with validation data.")
