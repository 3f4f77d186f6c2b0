"""The course's training helper trains exactly as the compile and fit lines it stands for."""

import ast
from pathlib import Path

import keras
import nbformat
import numpy as np
import pytest
from IPython.core.inputtransformer2 import TransformerManager

from mnist_lab import callbacks, fitting, models, experiment

ROOT = Path(__file__).resolve().parents[1]


def small_data(digits):
    x, y = (digits[0].astype("float32") / 255.0)[..., np.newaxis], digits[1]
    return x[:64], y[:64], x[-64:], y[-64:]


def test_compile_and_fit_is_the_lessons_compile_and_fit(digits):
    data = small_data(digits)
    experiment.set_seed(0)
    by_hand = models.logistic_regression()
    by_hand.compile(optimizer=keras.optimizers.Adam(learning_rate=0.01),
                    loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    expected = by_hand.fit(data[0], data[1], batch_size=32, epochs=2, validation_data=data[2:], verbose=0,
                           callbacks=[callbacks.EpochTimer()])
    experiment.set_seed(0)
    helped = models.logistic_regression()
    history = fitting.compile_and_fit(helped, callbacks.EpochTimer(), learning_rate=0.01, data=data,
                                      batch_size=32, epochs=2)
    assert sorted(history.history) == ["accuracy", "loss", "val_accuracy", "val_loss"]
    np.testing.assert_allclose(history.history["val_loss"], expected.history["val_loss"], rtol=1e-6)


def test_the_schedule_and_more_callbacks_reach_the_fit(digits):
    schedule = experiment.exponential_decay(0.01, 0.5)
    model, timer = models.logistic_regression(), callbacks.EpochTimer()
    history = fitting.compile_and_fit(model, callbacks.EpochTimer(), timer, learning_rate=0.01, schedule=schedule,
                                      data=small_data(digits), batch_size=32, epochs=3)
    assert float(model.optimizer.learning_rate) == pytest.approx(schedule(2))
    assert len(timer.epoch_seconds) == len(history.history["loss"]) == 3


def test_data_must_hold_two_or_four_arrays(digits):
    with pytest.raises(ValueError, match=r"data must be \(x_train, y_train, x_val, y_val\) or \(x_train, y_train\), "
                                         r"got 3 items"):
        fitting.compile_and_fit(models.logistic_regression(), callbacks.EpochTimer(), learning_rate=0.01,
                                data=small_data(digits)[:3], batch_size=32, epochs=1)


def test_two_arrays_train_a_final_model_without_validation(digits):
    history = fitting.compile_and_fit(models.logistic_regression(), callbacks.EpochTimer(), learning_rate=0.01,
                                      data=small_data(digits)[:2], batch_size=32, epochs=2)
    assert sorted(history.history) == ["accuracy", "loss"]
    assert len(history.history["loss"]) == 2


def test_a_learning_rate_in_place_of_a_callback_gets_a_clear_error(digits):
    with pytest.raises(ValueError, match=r"takes Keras callbacks, got 0.01; give the learning rate by name: "
                                         r"learning_rate=0.01"):
        fitting.compile_and_fit(models.logistic_regression(), callbacks.EpochTimer(), 0.01, learning_rate=0.01,
                                data=small_data(digits), batch_size=32, epochs=1)


def test_the_optimizer_is_chosen_by_name_at_its_own_default_rate(digits):
    model = models.logistic_regression()
    fitting.compile_and_fit(model, callbacks.EpochTimer(), optimizer="sgd", data=small_data(digits), batch_size=32,
                            epochs=1)
    assert isinstance(model.optimizer, keras.optimizers.SGD)
    assert float(model.optimizer.learning_rate) == pytest.approx(0.01)


def test_an_optimizer_object_trains_at_the_given_rate(digits):
    model = models.logistic_regression()
    fitting.compile_and_fit(model, callbacks.EpochTimer(), optimizer=keras.optimizers.SGD(momentum=0.9),
                            learning_rate=0.05, data=small_data(digits), batch_size=32, epochs=1)
    assert float(model.optimizer.learning_rate) == pytest.approx(0.05) and model.optimizer.momentum == 0.9


def code_cells(number):
    path = next((ROOT / "notebooks").glob(f"{number}_*.ipynb"))
    return [cell.source for cell in nbformat.read(path, as_version=4).cells if cell.cell_type == "code"]


def functions_defined(number):
    """name -> the ast of each function a notebook defines."""
    trees = (ast.parse(TransformerManager().transform_cell(source)) for source in code_cells(number))
    return {node.name: node for tree in trees for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)}


TRAINING_NOTEBOOKS = ["03", "04", "05", "06", "07", "08", "09"]


@pytest.mark.parametrize("number", TRAINING_NOTEBOOKS)
def test_notebooks_train_with_the_one_helper(number):
    """Notebooks 3 to 9 train with fitting.compile_and_fit; a function of their own may add callbacks and keep
    records around it (notebook 3's fit, notebook 9's train_one) but never compiles or fits by itself."""
    code = code_cells(number)
    assert any("fitting.compile_and_fit" in source for source in code), f"notebook {number} does not use the helper"
    for name, tree in functions_defined(number).items():
        calls = {ast.unparse(node.func) for node in ast.walk(tree) if isinstance(node, ast.Call)}
        own = {call for call in calls if call.endswith((".compile", ".fit"))}
        assert not own, f"notebook {number}: {name}() trains with {own} instead of compile_and_fit"
        assert name not in {"compile_and_fit", "fit_recipe"}, f"notebook {number} defines its own {name}"


def test_the_helper_is_shown_once_where_it_is_taught():
    """d2l's way: notebook 3 prints compile_and_fit's source; the notebooks after it only call it."""
    shows = [n for n in TRAINING_NOTEBOOKS if any("getsource(fitting.compile_and_fit)" in s for s in code_cells(n))]
    assert shows == ["03"]
