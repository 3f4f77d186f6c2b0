"""Keras callbacks for the notebooks: timing, live training curves, learning-rate schedules, run records.

:class:`Run` (``fit(..., callbacks=[run])``, then ``run.report()``) combines :class:`EpochTimer` and
:class:`TrainingPlot`, which also work on their own.
"""

from __future__ import annotations

import dataclasses
import inspect
import math
import time
from typing import Callable

import numpy as np

from ._tf import tf  # noqa: F401  (quiet TensorFlow start-up, before keras)
import keras  # noqa: E402  (must come after the quiet TensorFlow import)

from . import _jupyter, plot, experiment

__all__ = ["Run", "EpochTimer", "TrainingPlot", "learning_rate_callback"]


# --- learning-rate schedules -------------------------------------------------


def _takes_current_rate(schedule: Callable) -> bool:
    """True when ``schedule`` accepts ``(epoch, lr)``, as Keras' two-argument schedules do."""
    try:
        parameters = inspect.signature(schedule).parameters.values()
    except (TypeError, ValueError):  # builtins without a signature
        return False
    positional = [p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return len(positional) >= 2 or any(p.kind == p.VAR_POSITIONAL for p in parameters)


def _current_rate(optimizer) -> float:
    # float(), not keras.ops.convert_to_numpy, which warns about __array__(copy=...) under NumPy 2
    if not hasattr(optimizer, "learning_rate"):
        raise ValueError(f"optimizer {type(optimizer).__name__} has no learning_rate to schedule")
    return float(optimizer.learning_rate)


class _LearningRateScheduler(keras.callbacks.LearningRateScheduler):
    """Keras' LearningRateScheduler, reading the current rate without NumPy deprecation warnings."""

    def on_epoch_begin(self, epoch, logs=None):
        optimizer = self.model.optimizer
        rate = self.schedule(epoch, _current_rate(optimizer))
        optimizer.learning_rate = rate
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: LearningRateScheduler setting learning rate to {rate:.6g}.")

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = _current_rate(self.model.optimizer)


def learning_rate_callback(schedule: Callable, verbose: int = 0) -> keras.callbacks.LearningRateScheduler:
    """A ``LearningRateScheduler`` setting the rate from ``schedule(epoch)`` or ``schedule(epoch, lr)`` each epoch.

    The result is turned into the plain float Keras 3 requires, and logged as ``learning_rate``.
    """
    if not callable(schedule):
        raise ValueError(f"schedule must be a function of the epoch, e.g. exponential_decay(), got {schedule!r}")
    with_rate = _takes_current_rate(schedule)

    def as_float(epoch, lr=None):
        value = schedule(epoch, lr) if with_rate else schedule(epoch)
        try:
            rate = float(value)  # Python/NumPy scalars and 0-d tensors
        except (TypeError, ValueError):
            raise ValueError(f"schedule({epoch}) must return a number, got {value!r}") from None
        if not math.isfinite(rate) or rate < 0:
            raise ValueError(f"schedule({epoch}) must return a finite rate >= 0, got {rate!r}")
        return rate

    return _LearningRateScheduler(as_float, verbose=verbose)


# --- timing ------------------------------------------------------------------


class EpochTimer(keras.callbacks.Callback):
    """Records the wall-clock seconds of each epoch (training plus validation) of the last ``fit``.

    ``epoch_seconds`` has one entry per epoch, ``seconds_per_epoch`` is their mean. Epoch 1 also
    compiles the training function, so it is usually the slowest.
    """

    def __init__(self):
        super().__init__()
        self.epoch_seconds: list[float] = []
        self._start: float | None = None

    def on_train_begin(self, logs=None):
        self.epoch_seconds = []

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        if self._start is not None:
            self.epoch_seconds.append(time.perf_counter() - self._start)
            self._start = None

    @property
    def seconds_per_epoch(self) -> float:
        """Mean wall seconds per epoch."""
        if not self.epoch_seconds:
            raise ValueError("no epoch timed yet; pass the timer to fit(callbacks=[timer])")
        return sum(self.epoch_seconds) / len(self.epoch_seconds)


# --- live training curves ----------------------------------------------------


def _record_logs(history: dict, epochs_of: dict, epoch: int, logs) -> None:
    """Append the scalar metrics of one epoch's ``logs`` to ``history``, noting the 1-based epoch."""
    for key, value in (logs or {}).items():
        if np.ndim(value) != 0:
            continue  # not a scalar metric
        history.setdefault(key, []).append(float(value))
        epochs_of.setdefault(key, []).append(epoch + 1)


def _live_default() -> bool:
    """Redraw live only in a notebook kernel."""
    return _jupyter.kernel() is not None


class TrainingPlot(keras.callbacks.Callback):
    """Live training curves (:func:`mnist_lab.plot.plot_training_curves`) during ``fit``.

    In a notebook kernel the figure is redrawn in place, at most every ``refresh_seconds`` (drawing
    is slower than an epoch of a small model) and after the last epoch; outside a kernel, or with
    ``live=False``, it is drawn once, at the end. ``history`` holds every logged scalar metric per
    epoch, ``figure`` the latest drawing.
    """

    def __init__(self, live=None, title=None, refresh_seconds=2.0):
        super().__init__()
        if isinstance(refresh_seconds, bool) or not isinstance(refresh_seconds, (int, float)) \
                or refresh_seconds < 0:
            raise ValueError(f"refresh_seconds must be a number >= 0, got {refresh_seconds!r}")
        self.live = live
        self.title = title
        self.refresh_seconds = refresh_seconds
        self.on_train_begin()
        self.live_ = False

    def on_train_begin(self, logs=None):
        self.history = {}
        self.epochs = []
        self.figure = None
        self._epochs_of = {}  # metric -> the epochs its values belong to
        self._handle = None
        self._last_draw = None
        self._drawn_epochs = 0
        self.live_ = _live_default() if self.live is None else bool(self.live)

    def on_epoch_end(self, epoch, logs=None):
        _record_logs(self.history, self._epochs_of, epoch, logs)
        self.epochs.append(epoch + 1)
        last = epoch + 1 >= (self.params or {}).get("epochs", 0)
        due = self._last_draw is None or time.monotonic() - self._last_draw >= self.refresh_seconds
        if self.live_ and (due or last):
            self._redraw()
            self._last_draw = time.monotonic()

    def on_train_end(self, logs=None):
        if not self.epochs:
            return
        if self.live_:
            if self.figure is None or self._drawn_epochs != len(self.epochs):
                self._redraw()  # stopped early, between two throttled redraws
            return
        self._draw()
        if _jupyter.kernel() is not None:
            from IPython.display import display

            display(self.figure)

    def _redraw(self):
        self._draw()
        if _jupyter.kernel() is None:
            return
        from IPython.display import display

        if self._handle is None:
            self._handle = display(self.figure, display_id=True)
        else:
            self._handle.update(self.figure)

    def _draw(self):
        self._drawn_epochs = len(self.epochs)
        total = max((self.params or {}).get("epochs") or 0, self.epochs[-1])
        counter = f"epoch {self.epochs[-1]}/{total}"
        if self.figure is not None:
            self.figure.clear()  # redraw in the same figure, so a live display updates in place
        self.figure = plot.plot_training_curves(
            self.history, epochs=self._epochs_of, total_epochs=total,
            title=f"{self.title}: {counter}" if self.title else f"Training, {counter}", fig=self.figure)


# --- one training run --------------------------------------------------------


class Run(keras.callbacks.Callback):
    """One training run: times its epochs, draws its live curves, and reports its :class:`~mnist_lab.experiment.RunRecord`.

    ``monitor`` is that of an ``EarlyStopping(restore_best_weights=True)`` in the same fit, so the
    record shows the epoch whose weights the model kept. ``history``, ``timer`` and ``curves`` hold the
    last fit's metrics, timing and drawing (``curves=False``: none).
    """

    def __init__(self, name: str, title: str | None = None, curves: bool = True, live: bool | None = None,
                 monitor: str | None = None):
        super().__init__()
        if not isinstance(name, str) or not name:
            raise ValueError(f"name must be a non-empty string naming the run, got {name!r}")
        if monitor is not None and not isinstance(monitor, str):
            raise ValueError(f"monitor must be a metric name such as 'val_loss', got {monitor!r}")
        self.name = name
        self.monitor = monitor
        self.timer = EpochTimer()
        self.curves = TrainingPlot(live=live, title=title or name) if curves else None
        self.history: dict = {}
        self._epochs_of: dict = {}

    @property
    def _parts(self):
        return [self.timer] + ([self.curves] if self.curves is not None else [])

    def set_model(self, model):
        super().set_model(model)
        for part in self._parts:
            part.set_model(model)

    def set_params(self, params):
        super().set_params(params)
        for part in self._parts:
            part.set_params(params)

    def on_train_begin(self, logs=None):
        self.history, self._epochs_of = {}, {}
        for part in self._parts:
            part.on_train_begin(logs)

    def on_epoch_begin(self, epoch, logs=None):
        self.timer.on_epoch_begin(epoch, logs)

    def on_epoch_end(self, epoch, logs=None):
        self.timer.on_epoch_end(epoch, logs)  # first: drawing is not part of the epoch's time
        _record_logs(self.history, self._epochs_of, epoch, logs)
        if self.curves is not None:
            self.curves.on_epoch_end(epoch, logs)

    def on_train_end(self, logs=None):
        if self.curves is not None:
            self.curves.on_train_end(logs)

    @property
    def seconds_per_epoch(self) -> float:
        """Mean wall seconds per epoch of the last fit."""
        return self.timer.seconds_per_epoch

    @property
    def figure(self):
        """The training curves of the last fit (a matplotlib Figure), or None."""
        return None if self.curves is None else self.curves.figure

    def record(self, test_accuracy: float | None = None, name: str | None = None,
               validation=None) -> experiment.RunRecord:
        """The run's record, without showing it.

        ``validation`` is the History of a validated run of the same recipe, for a final model
        trained on the training and validation images together.
        """
        if self.model is None or not self.history:
            raise ValueError("this run has not trained yet: pass it to model.fit(..., callbacks=[run])")
        if validation is None and not any(key.startswith("val_") for key in self.history):
            raise ValueError(f"run {self.name!r} was not validated: pass validation_data to fit, or "
                             f"validation=<History of a validated run of the same recipe>")
        record = experiment.RunRecord.from_fit(name or self.name, self.model,
                                          self.history if validation is None else validation,
                                          timer=self.timer, test_accuracy=test_accuracy, monitor=self.monitor)
        if validation is not None:  # the epochs are this run's; its best epoch must lie within them
            record = dataclasses.replace(record, epochs=len(self.timer.epoch_seconds))
        return record

    def report(self, test_accuracy: float | None = None, name: str | None = None,
               validation=None) -> experiment.RunRecord:
        """Show the run's :meth:`record` (in Jupyter with its JSON attached) and return it."""
        record = self.record(test_accuracy=test_accuracy, name=name, validation=validation)
        experiment.show_record(record)
        return record
