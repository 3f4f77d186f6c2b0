"""Training runs on record: schedules, best epochs, seeds, run records and tables."""

import json
import random

import keras
import numpy as np
import pytest

from mnist_lab import _jupyter, callbacks, models, experiment
from mnist_lab.experiment import Best, RunRecord


def images(x):
    """uint8 (N, 28, 28) -> float32 (N, 28, 28, 1) in [0, 1]."""
    return (x.astype("float32") / 255.0)[..., np.newaxis]


def compiled(model, learning_rate=0.5):
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


@pytest.fixture(scope="module")
def fitted(digits):
    """A 3-epoch fit of logistic regression with validation and a timer."""
    x, y = images(digits[0]), digits[1]
    keras.utils.set_random_seed(0)
    model = compiled(models.logistic_regression(), learning_rate=0.5)
    timer = callbacks.EpochTimer()
    history = model.fit(x[:64], y[:64], batch_size=32, epochs=3, verbose=0,
                        validation_data=(x[-100:], y[-100:]), callbacks=[timer])
    return model, history, timer


# --- schedules ---------------------------------------------


def test_exponential_decay_defaults_are_the_tutorials():
    schedule = experiment.exponential_decay()
    values = [schedule(epoch) for epoch in range(4)]
    assert values == pytest.approx([0.01, 0.006, 0.0036, 0.00216], rel=1e-12)
    assert all(type(v) is float for v in values)


def test_exponential_decay_batchnorm_variant_and_constant():
    schedule = experiment.exponential_decay(0.01, 0.666)
    assert [schedule(e) for e in range(3)] == pytest.approx([0.01, 0.00666, 0.00443556], rel=1e-12)
    assert experiment.exponential_decay(0.003, 1)(50) == pytest.approx(0.003)


@pytest.mark.parametrize("kwargs, message", [
    ({"initial_rate": 0}, r"initial_rate must be a positive number, got 0"),
    ({"initial_rate": -0.01}, r"initial_rate must be a positive number"),
    ({"initial_rate": float("nan")}, r"initial_rate must be a positive number"),
    ({"initial_rate": "0.01"}, r"initial_rate must be a positive number"),
    ({"decay": 0}, r"decay must be a factor in \(0, 1\], got 0"),
    ({"decay": 1.5}, r"decay must be a factor in \(0, 1\]"),
    ({"decay": -0.6}, r"decay must be a factor in \(0, 1\]"),
])
def test_exponential_decay_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        experiment.exponential_decay(**kwargs)


def test_schedule_rejects_negative_epochs():
    with pytest.raises(ValueError, match=r"epoch must be an integer >= 0"):
        experiment.exponential_decay()(-1)


# --- best validation accuracy -------------------------------------------------


def test_best_val_accuracy_is_the_maximum_with_a_one_based_epoch():
    history = {"loss": [1.0, 0.5, 0.4, 0.3], "val_accuracy": [0.90, 0.95, 0.95, 0.93]}
    best = experiment.best_val_accuracy(history)
    assert best == Best(accuracy=0.95, epoch=2)  # a tie goes to the first epoch
    assert best.accuracy == 0.95 and best.epoch == 2
    assert experiment.best_val_accuracy({"val_accuracy": [0.99, 0.5]}) == (0.99, 1)
    assert experiment.best_val_accuracy({"val_accuracy": [0.1, 0.2, 0.3]}) == (0.3, 3)


def test_best_val_accuracy_follows_the_early_stopping_monitor():
    history = {"loss": [1.0, 0.5, 0.4, 0.3], "val_accuracy": [0.90, 0.96, 0.95, 0.95],
               "val_loss": [0.4, 0.2, 0.1, 0.1]}
    # The lowest loss wins for a loss (first of the tied epochs 3 and 4), not the highest accuracy.
    assert experiment.best_val_accuracy(history, monitor="val_loss") == Best(accuracy=0.95, epoch=3)
    assert experiment.best_val_accuracy(history, monitor="val_accuracy") == Best(accuracy=0.96, epoch=2)
    history["val_auc"] = [0.5, 0.6, 0.7, 0.6]  # any other metric: the highest wins
    assert experiment.best_val_accuracy(history, monitor="val_auc") == Best(accuracy=0.95, epoch=3)
    with pytest.raises(ValueError, match=r"no 'val_lost'"):
        experiment.best_val_accuracy(history, monitor="val_lost")
    with pytest.raises(ValueError, match=r"history\['val_loss'\] contains NaN"):
        experiment.best_val_accuracy({"val_accuracy": [0.9, 0.8], "val_loss": [0.3, float("nan")]}, monitor="val_loss")


@pytest.mark.slow
def test_best_val_accuracy_with_monitor_finds_the_epoch_early_stopping_restores(digits):
    x, y = images(digits[0]), digits[1]
    keras.utils.set_random_seed(0)
    model = compiled(models.logistic_regression(), learning_rate=2.0)  # large steps: the loss goes up and down
    history = model.fit(x[:200], y[:200], batch_size=20, epochs=5, verbose=0, validation_data=(x[-200:], y[-200:]),
                        callbacks=[keras.callbacks.EarlyStopping(monitor="val_loss", patience=5,
                                                                 restore_best_weights=True)])
    kept = experiment.best_val_accuracy(history, monitor="val_loss")
    assert kept.epoch < 5, "the lowest validation loss should come before the last epoch, so that restoring matters"
    loss, accuracy = model.evaluate(x[-200:], y[-200:], verbose=0)
    assert loss == pytest.approx(min(history.history["val_loss"]), rel=1e-4)
    assert accuracy == pytest.approx(kept.accuracy)
    assert history.history["val_loss"][kept.epoch - 1] == min(history.history["val_loss"])


@pytest.mark.slow
def test_best_val_accuracy_reads_a_keras_history(fitted):
    _, history, _ = fitted
    values = history.history["val_accuracy"]
    best = experiment.best_val_accuracy(history)
    assert best.accuracy == pytest.approx(max(values))
    assert best.epoch == values.index(max(values)) + 1
    assert type(best.accuracy) is float


@pytest.mark.parametrize("history, message", [
    ({"loss": [0.5], "accuracy": [0.9]}, r"no 'val_accuracy'.*pass validation_data"),
    ({"loss": [0.5]}, r"no 'val_accuracy'.*metrics=\[\"accuracy\"\]"),
    ({"val_accuracy": []}, r"empty"),
    ({"loss": [0.5, 0.4], "val_accuracy": [0.9]}, r"validation_freq=1"),
    ({"val_accuracy": [0.9, float("nan")]}, r"NaN"),
    ([0.9, 0.95], r"expected a keras History .* got list"),
])
def test_best_val_accuracy_explains_what_is_missing(history, message):
    with pytest.raises(ValueError, match=message):
        experiment.best_val_accuracy(history)


def test_mean_and_spread_uses_the_sample_sd_in_points():
    assert experiment.mean_and_spread([0.9722, 0.9897, 0.9902]) == "98.40% ± 1.03"
    assert experiment.mean_and_spread(np.array([0.5])) == "50.00%"  # one seed: no spread
    assert experiment.mean_and_spread([0.97, 0.99], explain=True) == "98.00% ± 1.41 (mean ± standard deviation over 2 seeds)"
    assert experiment.mean_and_spread([0.5], explain=True) == "50.00% (1 seed: no spread to show)"
    with pytest.raises(ValueError, match=r"non-empty list of accuracies, got shape \(0,\)"):
        experiment.mean_and_spread([])
    with pytest.raises(ValueError, match=r"got shape \(1, 2\)"):
        experiment.mean_and_spread([[0.9, 0.8]])


# --- seeds -------------------------------------------------------------------


def _first_epoch_loss(seed, x, y):
    experiment.set_seed(seed)
    model = compiled(models.dense_network(hidden=(32,), dropout=0.3), learning_rate=1e-3)
    return model.fit(x, y, batch_size=32, epochs=1, shuffle=True, verbose=0).history["loss"][0]


@pytest.mark.slow
def test_set_seed_repeats_weights_and_first_epoch_loss(digits):
    x, y = images(digits[0][:128]), digits[1][:128]
    weights = []
    for seed in (7, 7, 8):
        experiment.set_seed(seed)
        weights.append(models.dense_network(hidden=(32,)).get_weights())
    assert all(np.array_equal(a, b) for a, b in zip(weights[0], weights[1]))
    assert not np.array_equal(weights[0][0], weights[2][0])

    assert _first_epoch_loss(3, x, y) == _first_epoch_loss(3, x, y)
    assert _first_epoch_loss(3, x, y) != _first_epoch_loss(4, x, y)


def test_set_seed_seeds_python_and_numpy():
    experiment.set_seed(5)
    first = (random.random(), np.random.rand())
    experiment.set_seed(5)
    assert (random.random(), np.random.rand()) == first


def test_set_seed_switches_op_determinism_on_and_off_again():
    from tensorflow.python.framework import config as tf_config

    try:
        experiment.set_seed(1, deterministic=True)
        assert tf_config.is_op_determinism_enabled()
    finally:
        experiment.set_seed(1, deterministic=False)
    assert not tf_config.is_op_determinism_enabled()


@pytest.mark.parametrize("seed", [-1, 2**32, 1.5, "1", True, None])
def test_set_seed_rejects_bad_seeds(seed):
    with pytest.raises(ValueError, match=r"seed must be an integer in \[0, 2\*\*32\)"):
        experiment.set_seed(seed)


def test_set_seed_rejects_non_boolean_deterministic():
    with pytest.raises(ValueError, match=r"deterministic must be True or False"):
        experiment.set_seed(0, deterministic="yes")


# --- run records -------------------------------------------------------------


RELU = RunRecord("relu 128", 101770, 20, 0.41, 0.9712, 14, test_accuracy=0.968)


def test_run_record_is_one_line():
    assert str(RELU) == ("relu 128 | 101,770 params | 20 epochs | 0.41 s/epoch | "
                         "best val 97.12% (epoch 14) | test 96.80%")
    short = RunRecord("lenet5", 61706, 1, None, 0.5, 1)
    assert str(short) == "lenet5 | 61,706 params | 1 epoch | best val 50.00% (epoch 1)"
    fast = RunRecord("logreg", 7850, 2, 0.0123, 0.9, 2, images_per_second=48000)
    assert str(fast) == "logreg | 7,850 params | 2 epochs | 0.012 s/epoch | 48,000 images/s | best val 90.00% (epoch 2)"
    assert "\n" not in str(RELU)


def test_run_record_dict_round_trip_through_json():
    record = RunRecord("dense", np.int64(5), np.int32(3), np.float32(0.5), np.float64(0.875), 2,
                       test_accuracy=np.float32(0.75))
    values = record.to_dict()
    assert all(type(v) in (str, int, float) for v in values.values() if v is not None)
    back = RunRecord.from_dict(json.loads(json.dumps(values)))
    assert back == record
    assert RunRecord.from_dict(RELU.to_dict()) == RELU
    assert set(values) == {"name", "params", "epochs", "seconds_per_epoch", "best_val_accuracy",
                           "best_epoch", "test_accuracy", "images_per_second"}


@pytest.mark.parametrize("change, message", [
    ({"best_epoch": 21}, r"best_epoch must be between 1 and epochs=20, got 21"),
    ({"best_val_accuracy": 97.12}, r"best_val_accuracy must be an accuracy between 0 and 1"),
    ({"test_accuracy": -0.1}, r"test_accuracy must be an accuracy between 0 and 1"),
    ({"epochs": 0}, r"epochs must be at least 1"),
    ({"seconds_per_epoch": 0}, r"seconds_per_epoch must be a positive number or None"),
    ({"name": ""}, r"name must be a non-empty string"),
])
def test_run_record_rejects_impossible_values(change, message):
    with pytest.raises(ValueError, match=message):
        RunRecord(**{**RELU.to_dict(), **change})


def test_run_record_from_dict_names_bad_fields():
    with pytest.raises(ValueError, match=r"unknown RunRecord fields \['accuracy'\]"):
        RunRecord.from_dict({**RELU.to_dict(), "accuracy": 0.9})
    values = RELU.to_dict()
    del values["params"]
    with pytest.raises(ValueError, match=r"lacks fields \['params'\]"):
        RunRecord.from_dict(values)


@pytest.mark.slow
def test_run_record_from_fit(fitted):
    model, history, timer = fitted
    record = RunRecord.from_fit("logreg", model, history, timer=timer, test_accuracy=0.9)
    best = experiment.best_val_accuracy(history)
    assert (record.params, record.epochs) == (7850, 3)
    assert (record.best_val_accuracy, record.best_epoch) == (pytest.approx(best.accuracy), best.epoch)
    assert record.seconds_per_epoch == pytest.approx(timer.seconds_per_epoch)
    assert record.test_accuracy == 0.9
    untimed = RunRecord.from_fit("logreg", model, history.history)
    assert untimed.seconds_per_epoch is None and "s/epoch" not in str(untimed)
    by_loss = RunRecord.from_fit("logreg", model, history, monitor="val_loss")
    assert (by_loss.best_val_accuracy, by_loss.best_epoch) == tuple(experiment.best_val_accuracy(history, monitor="val_loss"))


def test_report_prints_the_line_outside_ipython(capsys):
    assert experiment.show_record(RELU) is None
    assert capsys.readouterr().out == str(RELU) + "\n"


def test_report_attaches_json_in_a_kernel(monkeypatch, capsys):
    display_module = pytest.importorskip("IPython.display")
    shown = []
    monkeypatch.setattr(_jupyter, "kernel", lambda: object())
    monkeypatch.setattr(display_module, "display", lambda *objs, **kwargs: shown.append((objs, kwargs)))
    assert experiment.show_record(RELU) is None
    assert shown == [(({"text/plain": str(RELU), "application/vnd.mnist-lab.result+json": RELU.to_dict()},),
                      {"raw": True})]
    assert capsys.readouterr().out == ""
    json.dumps(shown[0][0][0])  # the bundle must be JSON-serialisable for nbformat


def test_report_rejects_other_objects():
    with pytest.raises(TypeError, match=r"show_record needs a RunRecord, got dict"):
        experiment.show_record({"name": "x"})


# --- tables --------------------------------------------------------------------


def test_format_table_is_markdown():
    untimed = RunRecord("lenet | tanh", 61706, 10, None, 0.98765, 9)
    table = experiment.format_table([RELU, untimed])
    lines = table.splitlines()
    assert lines[0] == "| model | parameters | s/epoch | best val acc | test acc |"
    assert lines[1] == "|:--|--:|--:|--:|--:|"
    assert lines[2] == "| relu 128 | 101,770 | 0.41 | 97.12% (epoch 14) | 96.80% |"
    assert lines[3] == r"| lenet \| tanh | 61,706 | — | 98.77% (epoch 9) | — |"
    assert len(lines) == 4


def test_format_table_reference_column():
    table = experiment.format_table([RELU], reference={"relu 128": "98.0% (full MNIST)", "other": "x"},
                               reference_title="tutorial")
    header, _, row = table.splitlines()
    assert header.endswith("| test acc | tutorial |")
    assert row.endswith("| 96.80% | 98.0% (full MNIST) |")
    other = experiment.format_table([RunRecord("sigmoid", 1, 1, None, 0.5, 1)], reference={"relu 128": "98%"})
    assert other.splitlines()[2].endswith("| — | — |")


def test_format_table_needs_records():
    with pytest.raises(ValueError, match=r"at least one RunRecord"):
        experiment.format_table([])
    with pytest.raises(ValueError, match=r"needs RunRecords, got dict"):
        experiment.format_table([RELU.to_dict()])
