"""Tests for mnist_lab.callbacks: learning-rate schedules, epoch timing, live curves and Run."""

import json

import keras
import numpy as np
import pytest
from matplotlib.figure import Figure

from mnist_lab import RESULT_MIMETYPE, _jupyter, callbacks, models, experiment
from mnist_lab.callbacks import EpochTimer, Run, TrainingPlot

pytestmark = [
    pytest.mark.filterwarnings("error::matplotlib.MatplotlibDeprecationWarning"),
    pytest.mark.filterwarnings("error::DeprecationWarning:mnist_lab"),
    pytest.mark.usefixtures("no_figure_left_open"),   # no callback may leave a pyplot figure open
]


def images(x):
    """uint8 (N, 28, 28) -> float32 (N, 28, 28, 1) in [0, 1]."""
    return (x.astype("float32") / 255.0)[..., np.newaxis]


def compiled(model, learning_rate=0.5, metrics=("accuracy",)):
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
                  loss="sparse_categorical_crossentropy", metrics=list(metrics))
    return model


def tiny_dense():
    return keras.Sequential([keras.Input((784,)), keras.layers.Dense(10, activation="softmax")])


class RateRecorder(keras.callbacks.Callback):
    """Reads the optimizer's learning rate at the end of every epoch."""

    def __init__(self):
        super().__init__()
        self.rates = []

    def on_epoch_end(self, epoch, logs=None):
        self.rates.append(float(self.model.optimizer.learning_rate))


# --- learning-rate callback ----------------------------------------------------


@pytest.mark.slow
def test_callback_sets_the_optimizer_rate_each_epoch(digits):
    x, y = images(digits[0][:64]), digits[1][:64]
    model = compiled(models.logistic_regression(), learning_rate=0.5)
    recorder = RateRecorder()
    history = model.fit(x, y, batch_size=32, epochs=3, verbose=0,
                        callbacks=[callbacks.learning_rate_callback(experiment.exponential_decay()), recorder])
    expected = [0.01, 0.006, 0.0036]  # the optimizer was compiled with 0.5
    assert recorder.rates == pytest.approx(expected, rel=1e-6)
    assert history.history["learning_rate"] == pytest.approx(expected, rel=1e-6)


@pytest.mark.slow
def test_callback_accepts_keras_two_argument_schedules_returning_numpy(digits, capsys):
    model = compiled(models.logistic_regression(), learning_rate=0.02)
    recorder = RateRecorder()
    halve = callbacks.learning_rate_callback(lambda epoch, lr: np.float32(lr) / 2, verbose=1)
    model.fit(images(digits[0][:32]), digits[1][:32], batch_size=32, epochs=2, verbose=0,
              callbacks=[halve, recorder])
    assert recorder.rates == pytest.approx([0.01, 0.005], rel=1e-6)
    assert "Epoch 2: LearningRateScheduler setting learning rate to 0.005" in capsys.readouterr().out


def test_callback_wraps_results_as_python_floats():
    callback = callbacks.learning_rate_callback(lambda epoch: np.float16(0.25) + keras.ops.zeros(()))
    assert isinstance(callback, keras.callbacks.LearningRateScheduler)
    value = callback.schedule(0, 0.1)
    assert type(value) is float and value == 0.25


def test_callback_rejects_bad_schedules():
    with pytest.raises(ValueError, match=r"schedule must be a function of the epoch"):
        callbacks.learning_rate_callback(0.01)
    with pytest.raises(ValueError, match=r"schedule\(0\) must return a finite rate >= 0"):
        callbacks.learning_rate_callback(lambda epoch: -1.0).schedule(0, 0.1)


# --- EpochTimer ----------------------------------------------------------------


@pytest.mark.slow
def test_epoch_timer_records_one_entry_per_epoch_and_restarts_with_each_fit(digits):
    model = compiled(models.logistic_regression(), learning_rate=1e-3)
    timer = EpochTimer()
    with pytest.raises(ValueError, match=r"no epoch timed yet"):
        timer.seconds_per_epoch
    x, y = images(digits[0][:32]), digits[1][:32]
    model.fit(x, y, epochs=3, verbose=0, callbacks=[timer])
    assert len(timer.epoch_seconds) == 3 and all(s > 0 for s in timer.epoch_seconds)
    assert timer.seconds_per_epoch == pytest.approx(sum(timer.epoch_seconds) / 3)
    model.fit(x, y, epochs=1, verbose=0, callbacks=[timer])
    assert len(timer.epoch_seconds) == 1


# --- TrainingPlot --------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("live", [None, True, False])
def test_training_plot_records_epochs_and_draws_curves(digits, live):
    x, y = digits
    x = x[:64].reshape(64, 784).astype("float32") / 255.0
    y = y[:64]
    keras.utils.set_random_seed(0)
    model = compiled(tiny_dense(), learning_rate=1e-3)
    curves = TrainingPlot(live=live, title="tiny")
    history = model.fit(x, y, validation_split=0.25, epochs=2, batch_size=16,
                        verbose=0, callbacks=[curves])

    assert set(curves.history) >= {"loss", "accuracy", "val_loss", "val_accuracy"}
    for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
        np.testing.assert_allclose(curves.history[key], history.history[key], rtol=1e-6)
    assert curves.epochs == [1, 2]
    # outside a notebook kernel (and in the quick profile) auto means "draw once"
    assert curves.live_ is (live is True)

    fig = curves.figure
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    assert fig.get_suptitle() == "tiny: epoch 2/2"
    for ax, key in zip(fig.axes, ("loss", "accuracy")):
        assert len(ax.lines) == 2  # training and validation
        train_line, val_line = ax.lines
        assert list(train_line.get_xdata()) == [1, 2]
        np.testing.assert_allclose(train_line.get_ydata(), curves.history[key])
        np.testing.assert_allclose(val_line.get_ydata(), curves.history["val_" + key])


@pytest.mark.slow
def test_live_redraws_are_throttled_but_last_epoch_drawn(digits, monkeypatch):
    x, y = digits
    x = x[:32].reshape(32, 784).astype("float32") / 255.0
    model = tiny_dense()
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    curves = TrainingPlot(live=True, refresh_seconds=3600)
    drawn = []
    real_draw = curves._draw
    monkeypatch.setattr(curves, "_draw", lambda: (drawn.append(len(curves.epochs)), real_draw()))
    model.fit(x, y[:32], epochs=4, verbose=0, callbacks=[curves])
    assert drawn == [1, 4]  # the first epoch, then the last one; nothing between
    assert curves.figure.get_suptitle().endswith("epoch 4/4")
    assert len(curves.figure.axes) == 2  # redrawn in the same figure, not stacked
    with pytest.raises(ValueError, match="refresh_seconds"):
        TrainingPlot(refresh_seconds=-1)


def test_training_plot_without_validation_or_metrics(digits):
    x, y = digits
    x = x[:32].reshape(32, 784) / 255.0
    model = tiny_dense()
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    curves = TrainingPlot(live=False)
    model.fit(x, y[:32], epochs=1, verbose=0, callbacks=[curves])
    loss_ax, metric_ax = curves.figure.axes
    assert len(loss_ax.lines) == 1 and len(metric_ax.lines) == 0
    assert "metrics=['accuracy']" in metric_ax.texts[0].get_text()


# --- Run -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def fitted_run(digits):
    """A 3-epoch fit of logistic regression with a Run, early stopping on the loss and a schedule."""
    x, y = images(digits[0]), digits[1]
    keras.utils.set_random_seed(0)
    model = compiled(models.logistic_regression(), learning_rate=2.0)
    run = Run("logreg", title="Logistic regression", monitor="val_loss")
    history = model.fit(x[:200], y[:200], batch_size=20, epochs=3, verbose=0,
                        validation_data=(x[-200:], y[-200:]),
                        callbacks=[run, callbacks.learning_rate_callback(lambda epoch: 2.0 / (1 + 10 * epoch))])
    return model, history, run


@pytest.mark.slow
def test_run_times_draws_and_records_the_fit(fitted_run, capsys):
    model, history, run = fitted_run
    assert len(run.timer.epoch_seconds) == 3
    assert run.seconds_per_epoch == pytest.approx(run.timer.seconds_per_epoch)
    for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
        np.testing.assert_allclose(run.history[key], history.history[key], rtol=1e-6)
    assert run.figure.get_suptitle() == "Logistic regression: epoch 3/3"

    record = run.report()
    assert capsys.readouterr().out == str(record) + "\n"
    expected = experiment.RunRecord.from_fit("logreg", model, history, timer=run.timer, monitor="val_loss")
    assert record == expected
    assert (record.params, record.epochs) == (7850, 3)
    assert record.test_accuracy is None


@pytest.mark.slow
def test_run_report_adds_test_accuracy_and_another_name(fitted_run, capsys):
    _, _, run = fitted_run
    record = run.report(test_accuracy=0.875, name="logistic regression")
    assert record.test_accuracy == 0.875 and record.name == "logistic regression"
    assert capsys.readouterr().out.startswith("logistic regression | 7,850 params | 3 epochs")
    assert run.record().name == "logreg"  # the run keeps its own name


@pytest.mark.slow
def test_run_without_validation_takes_it_from_the_validated_run(fitted_run, digits):
    _, history, _ = fitted_run
    x, y = images(digits[0][:64]), digits[1][:64]
    final = Run("final", curves=False, monitor="val_loss")
    model = compiled(models.logistic_regression(), learning_rate=0.1)
    model.fit(x, y, epochs=4, verbose=0, callbacks=[final])
    assert final.figure is None
    with pytest.raises(ValueError, match=r"run 'final' was not validated: pass validation_data to fit, or validation="):
        final.record()
    record = final.record(test_accuracy=0.5, validation=history)
    kept = experiment.best_val_accuracy(history, monitor="val_loss")
    assert (record.best_val_accuracy, record.best_epoch) == (pytest.approx(kept.accuracy), kept.epoch)
    assert record.epochs == 4 and record.seconds_per_epoch == pytest.approx(final.seconds_per_epoch)


def test_run_report_attaches_json_in_a_kernel(fitted_run, monkeypatch, capsys):
    display_module = pytest.importorskip("IPython.display")
    _, _, run = fitted_run
    shown = []
    monkeypatch.setattr(_jupyter, "kernel", lambda: object())
    monkeypatch.setattr(display_module, "display", lambda *objs, **kwargs: shown.append(objs[0]))
    record = run.report(test_accuracy=0.9)
    assert shown == [{"text/plain": str(record), RESULT_MIMETYPE: record.to_dict()}]
    json.dumps(shown[0])


def test_run_rejects_bad_arguments_and_early_reports():
    with pytest.raises(ValueError, match=r"name must be a non-empty string"):
        Run("")
    with pytest.raises(ValueError, match=r"monitor must be a metric name"):
        Run("x", monitor=1)
    with pytest.raises(ValueError, match=r"has not trained yet: pass it to model.fit"):
        Run("x").report()
