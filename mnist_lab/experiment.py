"""The bookkeeping of training experiments: seeds, learning-rate schedules, and one-line run records (:class:`RunRecord`)."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Callable, NamedTuple

from ._tf import tf  # noqa: F401  (quiet TensorFlow start-up, before keras)
import keras
import numpy as np

from . import RESULT_MIMETYPE, _jupyter


# --- learning-rate schedules -------------------------------------------------


def exponential_decay(initial_rate: float = 0.01, decay: float = 0.6) -> Callable[[int], float]:
    """Return ``schedule(epoch) = initial_rate * decay ** epoch`` (epoch from 0), a plain float as Keras wants."""
    if isinstance(initial_rate, bool) or not isinstance(initial_rate, (int, float)) \
            or not math.isfinite(initial_rate) or initial_rate <= 0:
        raise ValueError(f"initial_rate must be a positive number, got {initial_rate!r}")
    if isinstance(decay, bool) or not isinstance(decay, (int, float)) or not 0 < decay <= 1:
        raise ValueError(f"decay must be a factor in (0, 1], got {decay!r}")
    initial_rate, decay = float(initial_rate), float(decay)

    def schedule(epoch: int) -> float:
        if isinstance(epoch, bool) or not isinstance(epoch, (int, np.integer)) or epoch < 0:
            raise ValueError(f"epoch must be an integer >= 0 (Keras counts from 0), got {epoch!r}")
        return initial_rate * decay ** int(epoch)

    schedule.__doc__ = f"Learning rate {initial_rate:g} * {decay:g} ** epoch."
    return schedule


# --- reading a History -------------------------------------------------------


class Best(NamedTuple):
    """A run's validation accuracy at its best epoch, and that epoch, 1-based as Keras prints it."""

    accuracy: float
    epoch: int


def _history_dict(history) -> Mapping:
    values = getattr(history, "history", history)
    if not isinstance(values, Mapping):
        raise ValueError(f"expected a keras History (what fit returns) or its .history dict, "
                         f"got {type(history).__name__}")
    return values


def best_val_accuracy(history, key: str = "val_accuracy", monitor: str | None = None) -> Best:
    """A run's validation accuracy (``key``) at its best epoch, and that epoch (from 1; ties: the first).

    The best epoch has the highest accuracy or, with ``monitor`` (e.g. ``"val_loss"``), the best value
    of that metric (lowest for a loss): the epoch ``EarlyStopping(restore_best_weights=True)`` restores.
    """
    values = _history_dict(history)
    series = _validation_series(values, key)
    watched = series if monitor in (None, key) else _validation_series(values, monitor)
    sign = -1 if monitor is not None and "loss" in monitor else 1
    best = max(range(len(watched)), key=lambda i: (sign * watched[i], -i))
    return Best(accuracy=series[best], epoch=best + 1)


def _validation_series(values: Mapping, key: str) -> list[float]:
    if key not in values:
        if key.startswith("val_") and key[4:] in values:
            remedy = "pass validation_data=(x_val, y_val) (or validation_split) to fit"
        else:
            remedy = 'compile with metrics=["accuracy"] and pass validation_data to fit'
        raise ValueError(f"history has no {key!r} (it has {sorted(values) or 'nothing'}); {remedy}")
    series = [float(v) for v in values[key]]
    if not series:
        raise ValueError(f"history[{key!r}] is empty; train for at least one epoch")
    if "loss" in values and len(values["loss"]) != len(series):
        raise ValueError(f"history has {len(values['loss'])} epochs of loss but {len(series)} of {key!r}; "
                         f"validate every epoch (validation_freq=1) to locate the best epoch")
    if any(math.isnan(v) for v in series):
        raise ValueError(f"history[{key!r}] contains NaN; the run diverged")
    return series


def mean_and_spread(accuracies, explain: bool = False) -> str:
    """Test accuracies of several seeds as "mean% ± sd", the sample sd in percentage points.

    ``explain=True`` adds what the numbers are, for a sentence in a notebook.
    """
    accuracies = np.asarray(accuracies, dtype=float)
    if accuracies.ndim != 1 or accuracies.size == 0:
        raise ValueError(f"expected a non-empty list of accuracies, got shape {accuracies.shape}")
    several = accuracies.size > 1
    text = f"{100 * accuracies.mean():.2f}%" + (f" ± {100 * accuracies.std(ddof=1):.2f}" if several else "")
    if explain:
        text += (f" (mean ± standard deviation over {accuracies.size} seeds)" if several
                 else " (1 seed: no spread to show)")
    return text


# --- reproducibility ---------------------------------------------------------


def _op_determinism(enable: bool) -> None:
    if enable:
        tf.config.experimental.enable_op_determinism()
        return
    # the public API can only switch determinism on; the switch-off is in tensorflow.python.framework.config
    from tensorflow.python.framework import config as tf_config

    is_enabled = getattr(tf_config, "is_op_determinism_enabled", None)
    disable = getattr(tf_config, "disable_op_determinism", None)
    if is_enabled is not None and disable is not None and is_enabled():
        disable()


def set_seed(seed: int, deterministic: bool = False) -> None:
    """Seed Python's ``random``, NumPy, TensorFlow and Keras so a run can be repeated.

    ``deterministic=True`` also switches on TensorFlow's op determinism (process-wide; ``False`` switches
    it off again): slower, and ops without a deterministic implementation raise instead of running.
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed < 2**32:
        raise ValueError(f"seed must be an integer in [0, 2**32), got {seed!r}")
    if not isinstance(deterministic, bool):
        raise ValueError(f"deterministic must be True or False, got {deterministic!r}")
    keras.utils.set_random_seed(int(seed))  # random, numpy, tensorflow and Keras' own seed generator
    _op_determinism(deterministic)


# --- run records -------------------------------------------------------------


def _fraction(value, what: str) -> float:
    number = float(value)
    if not 0.0 <= number <= 1.0:
        raise ValueError(f"{what} must be an accuracy between 0 and 1, got {value!r}")
    return number


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.2f}%"


def _seconds(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.2f}" if value >= 0.1 else f"{value:.3f}"


@dataclasses.dataclass
class RunRecord:
    """Headline numbers of one training run, printable on one line and storable as JSON.

    Accuracies are fractions in [0, 1]; ``best_epoch`` counts from 1; ``None`` fields are left out of the line.
    """

    name: str
    params: int
    epochs: int
    seconds_per_epoch: float | None
    best_val_accuracy: float
    best_epoch: int
    test_accuracy: float | None = None
    images_per_second: float | None = None

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"name must be a non-empty string, got {self.name!r}")
        self.params = int(self.params)
        self.epochs = int(self.epochs)
        self.best_epoch = int(self.best_epoch)
        if self.params < 0:
            raise ValueError(f"params must be >= 0, got {self.params}")
        if self.epochs < 1:
            raise ValueError(f"epochs must be at least 1, got {self.epochs}")
        if not 1 <= self.best_epoch <= self.epochs:
            raise ValueError(f"best_epoch must be between 1 and epochs={self.epochs}, got {self.best_epoch}")
        self.best_val_accuracy = _fraction(self.best_val_accuracy, "best_val_accuracy")
        if self.test_accuracy is not None:
            self.test_accuracy = _fraction(self.test_accuracy, "test_accuracy")
        for field in ("seconds_per_epoch", "images_per_second"):
            value = getattr(self, field)
            if value is not None:
                value = float(value)
                if not value > 0:
                    raise ValueError(f"{field} must be a positive number or None, got {value!r}")
                setattr(self, field, value)

    @classmethod
    def from_fit(cls, name: str, model, history, timer=None,
                 test_accuracy: float | None = None, images_per_second: float | None = None,
                 monitor: str | None = None) -> RunRecord:
        """A record from a trained model, its validated History, and optionally the fit's EpochTimer.

        ``monitor`` is as for :func:`best_val_accuracy`.
        """
        values = _history_dict(history)
        best = best_val_accuracy(values, monitor=monitor)
        return cls(
            name=name,
            params=model.count_params(),
            epochs=len(values["val_accuracy"]),  # == len(values["loss"]), checked above
            seconds_per_epoch=None if timer is None else timer.seconds_per_epoch,
            best_val_accuracy=best.accuracy,
            best_epoch=best.epoch,
            test_accuracy=test_accuracy,
            images_per_second=images_per_second,
        )

    def __str__(self) -> str:
        parts = [self.name, f"{self.params:,} params", f"{self.epochs} epoch{'s' if self.epochs != 1 else ''}"]
        if self.seconds_per_epoch is not None:
            parts.append(f"{_seconds(self.seconds_per_epoch)} s/epoch")
        if self.images_per_second is not None:
            parts.append(f"{self.images_per_second:,.0f} images/s")
        parts.append(f"best val {_percent(self.best_val_accuracy)} (epoch {self.best_epoch})")
        if self.test_accuracy is not None:
            parts.append(f"test {_percent(self.test_accuracy)}")
        return " | ".join(parts)

    def to_dict(self) -> dict:
        """The fields as a dict of plain str/int/float/None, ready for ``json.dumps``."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: Mapping) -> RunRecord:
        """Rebuild a record from :meth:`to_dict` output (e.g. read back from a notebook's JSON)."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - names)
        if unknown:
            raise ValueError(f"unknown RunRecord fields {unknown}; expected some of {sorted(names)}")
        required = {f.name for f in dataclasses.fields(cls) if f.default is dataclasses.MISSING}
        missing = sorted(required - set(values))
        if missing:
            raise ValueError(f"RunRecord dict lacks fields {missing}")
        return cls(**values)


def show_record(record: RunRecord) -> None:
    """Show a record's one line; in Jupyter also attach its JSON (``RESULT_MIMETYPE``) for the notebook runner."""
    if not isinstance(record, RunRecord):
        raise TypeError(f"show_record needs a RunRecord, got {type(record).__name__}")
    _jupyter.show(str(record), RESULT_MIMETYPE, record.to_dict())


def _cell(text: str) -> str:
    return str(text).replace("|", r"\|").replace("\n", " ")


def format_table(records, reference: Mapping[str, str] | None = None, reference_title: str = "reference") -> str:
    """A Markdown table comparing runs: model, parameters, s/epoch, best val acc, test acc.

    ``reference`` maps a record's name to text for one more column (e.g. published figures).
    """
    records = list(records)
    if not records:
        raise ValueError("format_table needs at least one RunRecord")
    for record in records:
        if not isinstance(record, RunRecord):
            raise ValueError(f"format_table needs RunRecords, got {type(record).__name__}")
    header = ["model", "parameters", "s/epoch", "best val acc", "test acc"]
    align = [":--", "--:", "--:", "--:", "--:"]
    if reference is not None:
        header.append(reference_title)
        align.append(":--")
    lines = ["| " + " | ".join(map(_cell, header)) + " |", "|" + "|".join(align) + "|"]
    for r in records:
        row = [r.name, f"{r.params:,}", _seconds(r.seconds_per_epoch),
               f"{_percent(r.best_val_accuracy)} (epoch {r.best_epoch})", _percent(r.test_accuracy)]
        if reference is not None:
            row.append(reference.get(r.name, "—"))
        lines.append("| " + " | ".join(map(_cell, row)) + " |")
    return "\n".join(lines)
