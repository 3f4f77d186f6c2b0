"""The self-checks for values, training runs, models built anew and candidate lists."""

import functools

import keras
import numpy as np
import pytest

from mnist_lab import callbacks, checks, experiment


def tiny():
    return keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dense(3, activation="softmax", name="out")],
                            name="tiny")


@functools.cache
def fit(epochs=2, learning_rate=0.01, decay=None, validation=True, batch_size=4):
    """The History of a tiny model's training (made once per setting: compiling takes a while)."""
    model = tiny()
    schedule = experiment.exponential_decay(0.01, decay) if decay else None
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    x, y = np.random.default_rng(0).random((12, 4)), np.arange(12) % 3
    return model.fit(x, y, epochs=epochs, batch_size=batch_size, verbose=0,
                     validation_data=(x, y) if validation else None,
                     callbacks=[callbacks.learning_rate_callback(schedule)] if schedule else [])


def test_equal(capsys):
    checks.check_equal(512, 512, "images per step")
    checks.check_equal(512.0, 512, "images per step")
    checks.check_equal({"type": "worker", "index": 1}, {"type": "worker", "index": 1}, "the task")
    assert capsys.readouterr().out.splitlines() == [
        "Correct: images per step, 512.", "Correct: images per step, 512.0.",
        "Correct: the task, {'type': 'worker', 'index': 1}."]
    with pytest.raises(checks.CheckFailed, match="images per step: 64 is not right") as e:
        checks.check_equal(64, 512, "images per step")
    assert "512" not in str(e.value)
    with pytest.raises(checks.CheckFailed, match="remove the quotes"):
        checks.check_equal("512", 512, "images per step")
    with pytest.raises(checks.CheckFailed, match="is not right"):
        checks.check_equal(["host0"], ["host0", "host1"], "the workers")


def test_history(capsys):
    history = fit(epochs=3, learning_rate=0.01)
    checks.check_history(history, epochs=3, learning_rate=0.01, steps=3)
    schedule = experiment.exponential_decay(0.01, 0.5)
    decayed = fit(epochs=3, decay=0.5)
    checks.check_history(decayed, epochs=3, learning_rate=[schedule(e) for e in range(3)])
    assert capsys.readouterr().out.splitlines() == [
        "Correct: trained for the epochs asked for, with validation data, at the learning rates asked for, "
        "in batches of the size asked for.",
        "Correct: trained for the epochs asked for, with validation data, at the learning rates asked for."]


@pytest.mark.parametrize("case, message", [
    ("not a history", "expected the History that model.fit returns, got str"),
    ("no validation", "without validation data"),
    ("epochs", "the history has 3 epochs, the task asks for 2"),
    ("rate", "epoch 1 trained at learning rate 0.001, the task asks for 0.01"),
    ("no schedule", "pass the learning-rate callback"),
    ("schedule", "epoch 2 trained at learning rate 0.005, the task asks for 0.01"),
    ("batch", "6 training steps per epoch, the task's batch size gives 3"),
])
def test_history_mistakes(case, message):
    calls = {
        "not a history": lambda: checks.check_history("history", 2),
        "no validation": lambda: checks.check_history(fit(validation=False), 2),
        "epochs": lambda: checks.check_history(fit(epochs=3), 2),
        "rate": lambda: checks.check_history(fit(learning_rate=0.001), 2, learning_rate=0.01),
        "no schedule": lambda: checks.check_history(fit(), 2, learning_rate=[0.01, 0.005]),
        "schedule": lambda: checks.check_history(fit(decay=0.5), 2, learning_rate=0.01),
        "batch": lambda: checks.check_history(fit(batch_size=2), 2, steps=3),
    }
    with pytest.raises(checks.CheckFailed, match=message) as e:
        calls[case]()
    assert "\n" not in str(e.value)


def test_new_layers(capsys):
    model = tiny()
    fresh = keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dropout(0.5),
                              keras.layers.Dense(3, activation="softmax")], name="fresh")
    checks.check_new_layers(fresh, model)
    assert capsys.readouterr().out == "Correct: fresh has layers and weights of its own.\n"
    shared = keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dropout(0.5), model.layers[0]], name="shared")
    with pytest.raises(checks.CheckFailed, match="shared shares the layers out with tiny"):
        checks.check_new_layers(shared, model)
    with pytest.raises(checks.CheckFailed, match="the model is None"):
        checks.check_new_layers(None, model)


def test_candidates(capsys):
    baseline, mine = fit(), fit(learning_rate=0.001)
    run = callbacks.Run("mine", curves=False)
    record = experiment.RunRecord("mine", 15, 2, None, 0.5, 1)
    checks.check_candidates({"notebook": baseline, "mine": mine}, baseline, [record])
    assert capsys.readouterr().out == "Correct: 2 candidates, each trained with validation data.\n"
    for candidates, records, message in [
        ([baseline, mine], [record], "should be a dict"),
        ({"mine": mine}, [record], "the notebook's history is not among"),
        ({"notebook": baseline}, [], "the only candidate"),
        ({"notebook": baseline, "mine": "history"}, [record], r"candidates\['mine'\] is not the History"),
        ({"notebook": baseline, "mine": fit(validation=False)}, [record], "is not the History"),
        ({"notebook": baseline, "mine": mine}, [], "one run record"),
        ({"notebook": baseline, "mine": mine}, [run], "one run record"),
    ]:
        with pytest.raises(checks.CheckFailed, match=message):
            checks.check_candidates(candidates, baseline, records)
