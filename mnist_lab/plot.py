"""Pictures for the MNIST notebooks: digits, errors, training curves, what a model learned.

Every function draws into a new matplotlib Figure (not through ``pyplot``, so none is left open or
drawn twice) and returns that Figure; pass ``ax=`` (one-panel pictures) or an empty ``fig=`` (several panels)
to draw into your own, whose Figure is returned. :func:`plot_confusion_matrix` returns its Axes either
way (its picture is ``.figure``), as scikit-learn's confusion-matrix display keeps ``ax_``. Images
may be uint8 0..255 or float 0..1; predictions may be classes or probabilities, as in
:mod:`mnist_lab.metrics`.
"""

import math

import matplotlib
import numpy as np
from matplotlib.patches import Rectangle
from matplotlib.ticker import MaxNLocator

from ._tf import tf  # noqa: F401  (quiet TensorFlow start-up, before keras)
import keras  # noqa: E402  (must come after the quiet TensorFlow import)

from . import _drawing, data, metrics
from ._model_plots import plot_feature_maps, plot_filters, plot_weight_templates
from .data import positive_int

__all__ = [
    "plot_digits",
    "plot_errors",
    "plot_training_curves",
    "plot_learning_rate",
    "plot_confusion_matrix",
    "plot_weight_templates",
    "plot_filters",
    "plot_feature_maps",
    "plot_histories",
]

# --------------------------------------------------------------------------
# Digits
# --------------------------------------------------------------------------

def _digit_grid(count, ncols, cell_height=1.15, title=None, fig=None):
    """A Figure (new or `fig`) with `count` axes in rows of `ncols` (no empty axes)."""
    ncols = min(ncols, count)
    nrows = math.ceil(count / ncols)
    fig = _drawing.figure(fig, (1.0 * ncols + 0.2, cell_height * nrows + (0.4 if title else 0.1)))
    axes = [fig.add_subplot(nrows, ncols, i + 1) for i in range(count)]
    if title:
        fig.suptitle(title)
    return fig, axes


def plot_digits(images, labels=None, predictions=None, n=30, ncols=10, title=None, fig=None):
    """Show the first `n` digits, `ncols` a row, titled with their label or prediction.

    Wrong predictions get a red title "predicted (true label)" and a red frame.
    """
    x = data.check_images(images).reshape(-1, 28, 28)
    n, ncols = positive_int(n, "n"), positive_int(ncols, "ncols")
    y = None if labels is None else metrics.class_numbers(labels, len(x), "labels")
    p = None if predictions is None else metrics.class_numbers(predictions, len(x), "predictions")
    count = min(n, len(x))
    shown, vmin, vmax = _drawing.display_range(x[:count])

    wrong = np.zeros(count, dtype=bool)
    if y is not None and p is not None:
        wrong = p[:count] != y[:count]
        if title is None:
            title = (f"{wrong.sum()} of {count} predictions wrong "
                     f"(red: predicted, then true label)")

    fig, axes = _digit_grid(count, ncols, title=title, fig=fig)
    for i, ax in enumerate(axes):
        if p is not None:
            text = f"{p[i]} (true {y[i]})" if wrong[i] else f"{p[i]}"
        elif y is not None:
            text = f"{y[i]}"
        else:
            text = None
        _drawing.show_digit(ax, shown[i], vmin, vmax, text, wrong[i])
    return fig


def plot_errors(images, labels, probabilities, n=30, ncols=10, title=None, fig=None):
    """Show at most `n` misclassified digits, the most confident mistakes first.

    ``probabilities`` is the model's output (N, classes). The most confident errors are the
    interesting ones: sloppy handwriting, or a wrong label.
    """
    x = data.check_images(images).reshape(-1, 28, 28)
    n, ncols = positive_int(n, "n"), positive_int(ncols, "ncols")
    y = metrics.class_numbers(labels, len(x), "labels")
    prob = np.asarray(probabilities, dtype=np.float64)
    if prob.ndim != 2 or prob.shape[0] != len(x) or prob.shape[1] < 2:
        raise ValueError(
            f"probabilities must have shape ({len(x)}, classes), one row per image; "
            f"got {prob.shape}"
        )
    predicted = prob.argmax(axis=1)
    confidence = prob[np.arange(len(x)), predicted]
    errors = np.flatnonzero(predicted != y)
    errors = errors[np.argsort(-confidence[errors], kind="stable")]

    if len(errors) == 0:
        message = f"No errors: all {len(x)} digits classified correctly"
        fig = _drawing.figure(fig, (6, 0.9 if title else 0.6))
        fig.suptitle(f"{title}\n{message}" if title else message)
        return fig

    shown_idx = errors[:n]
    if title is None:
        title = (f"{len(errors)} errors in {len(x)} digits ({len(errors) / len(x):.1%}), "
                 f"most confident first")
        if len(shown_idx) < len(errors):
            title += f"; showing {len(shown_idx)}"
    shown, vmin, vmax = _drawing.display_range(x[shown_idx])
    fig, axes = _digit_grid(len(shown_idx), ncols, cell_height=1.3, title=title, fig=fig)
    for ax, i, image in zip(axes, shown_idx, shown):
        text = f"{predicted[i]} ({confidence[i]:.0%})\ntrue {y[i]}"
        _drawing.show_digit(ax, image, vmin, vmax, text, wrong=True, fontsize=9)
    return fig


# --------------------------------------------------------------------------
# Training curves
# --------------------------------------------------------------------------

def _accuracy_key(history):
    """The metric for the second panel: 'accuracy' if present, else the first other one."""
    names = [k for k in history if not k.startswith("val_")
             and k not in {"loss", "learning_rate", "lr"}]
    if "accuracy" in names:
        return "accuracy"
    return names[0] if names else None


def plot_training_curves(history, title=None, epochs=None, total_epochs=None, fig=None):
    """Draw a run's loss and accuracy per epoch, training and validation, side by side.

    ``epochs`` maps a metric to the 1-based epochs of its values, for metrics not logged every epoch;
    ``total_epochs`` widens the epoch axis. :class:`mnist_lab.callbacks.TrainingPlot` draws this live.
    """
    values = getattr(history, "history", history)
    if not isinstance(values, dict):
        raise ValueError(f"history must be a keras History or a dict of lists; got {type(history).__name__}")
    series = {k: [float(x) for x in v] for k, v in values.items()
              if np.ndim(v) == 1 and len(v) and k not in {"learning_rate", "lr"}}
    if not series:
        raise ValueError("history holds no metric values: train for at least one epoch")
    epochs = epochs or {}
    epochs_of = {k: list(epochs.get(k, range(1, len(v) + 1))) for k, v in series.items()}
    last = max(e[-1] for e in epochs_of.values())
    total = max(positive_int(total_epochs, "total_epochs") if total_epochs is not None else 0, last)

    fig = _drawing.figure(fig, (11, 4))
    fig.suptitle(title or f"Training curves, {last} epoch{'s' if last != 1 else ''}")
    acc = _accuracy_key(series)
    panels = [("loss", "Loss (lower is better)"),
              (acc, f"{acc.replace('_', ' ').capitalize()} (higher is better)" if acc else "Accuracy")]
    for ax, (key, heading) in zip(fig.subplots(1, 2), panels):
        ax.set_title(heading)
        ax.set_xlabel("epoch")
        ax.set_xlim(0.5, total + 0.5)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        if key is None:
            ax.text(0.5, 0.5, "no metric compiled:\nuse metrics=['accuracy']",
                    ha="center", va="center", transform=ax.transAxes)
            continue
        for name, label, style in ((key, "training", "o-"), ("val_" + key, "validation", "s--")):
            if name in series:
                ax.plot(epochs_of[name], series[name], style, markersize=4,
                        label=f"{label} ({series[name][-1]:.3f})")
        if ax.lines:
            ax.legend(loc="best")
    return fig


def plot_learning_rate(schedule, epochs, title=None, initial_learning_rate=None, ax=None):
    """Draw a learning-rate schedule at epochs 0..epochs-1: is the decay as fast as you meant?

    ``schedule`` is ``schedule(epoch)``, a LearningRateScheduler, or Keras' ``schedule(epoch, lr)``
    together with ``initial_learning_rate``.
    """
    if isinstance(schedule, keras.callbacks.LearningRateScheduler):
        schedule = schedule.schedule
    if not callable(schedule):
        raise ValueError(f"schedule must be a function epoch -> learning rate; got {schedule!r}")
    epochs = positive_int(epochs, "epochs")
    values = []
    lr = initial_learning_rate
    for epoch in range(epochs):
        if initial_learning_rate is None:
            lr = schedule(epoch)
        else:
            lr = schedule(epoch, lr)
        values.append(float(lr))
    values = np.array(values)

    _, ax, _ = _drawing.axes(ax, (7, 4))
    ax.plot(np.arange(epochs), values, "o-", markersize=4)
    if np.all(values > 0):
        ax.set_yscale("log")
    ax.set_xlabel("epoch (as passed to the schedule, from 0)")
    ax.set_ylabel("learning rate")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(alpha=0.3, which="both")
    ax.set_title(title or f"Learning-rate schedule: {values[0]:.3g} to {values[-1]:.3g}")
    return ax.figure


# --------------------------------------------------------------------------
# Confusion matrix
# --------------------------------------------------------------------------

def plot_confusion_matrix(labels, predictions, class_names=None, title=None, ax=None):
    """Draw the confusion matrix with its counts; the three most frequent mistakes are framed in red.

    Returns the matrix's Axes, ``ax`` if given, else one in a new Figure: show it with ``.figure``.
    """
    num_classes = None if class_names is None else len(class_names)
    counts = metrics.confusion_matrix(labels, predictions, num_classes=num_classes)
    num_classes = len(counts)
    names = [str(c) for c in (class_names if class_names is not None else range(num_classes))]
    worst = metrics.most_confused(labels, predictions, k=3)

    size = 1.5 + 0.55 * num_classes
    fig, ax, drawn_on = _drawing.axes(ax, (size + 1.2, size + 0.6))
    norm = matplotlib.colors.PowerNorm(gamma=0.4, vmin=0, vmax=max(counts.max(), 1))
    im = ax.imshow(counts, cmap="Blues", norm=norm)
    fig.colorbar(im, ax=ax, shrink=0.8, label="count")
    for (t, q), count in np.ndenumerate(counts):
        if count:
            dark = norm(count) > 0.6
            ax.text(q, t, str(count), ha="center", va="center", fontsize=8,
                    color="white" if dark else "black")
    for t, q, _ in worst:
        ax.add_patch(Rectangle((q - 0.5, t - 0.5), 1, 1, fill=False,
                               edgecolor=_drawing.WRONG, linewidth=2))
    ax.set_xticks(range(num_classes), names)
    ax.set_yticks(range(num_classes), names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    accuracy = np.trace(counts) / max(counts.sum(), 1)
    confused = ", ".join(f"{names[t]} as {names[q]}: {c}" for t, q, c in worst) or "none"
    heading = (f"accuracy {accuracy:.1%} on {counts.sum()} digits\n"
               f"most confused (true as predicted): {confused}")
    if drawn_on is ax:
        ax.set_title(f"{title}\n{heading}" if title else heading, fontsize=10)
    else:
        ax.set_title(heading, fontsize=10)
        fig.suptitle(title or "Confusion matrix")
    return ax


# --------------------------------------------------------------------------
# Comparing runs
# --------------------------------------------------------------------------

def plot_histories(histories, metric="val_accuracy", title=None, ax=None, training=False):
    """Compare training runs (name -> History, history dict or Run): one line of `metric` per run.

    The legend gives each run's best value: the minimum for losses, the maximum otherwise.
    ``training=True`` (for a validation metric such as ``"val_loss"``) also draws each run's training
    curve, dashed, in the colour of its validation curve, so the two curves of one network pair up.
    """
    if not isinstance(histories, dict) or not histories:
        raise ValueError("histories must be a non-empty dict: name -> History or history dict")
    if training and not metric.startswith("val_"):
        raise ValueError(f"training=True pairs a validation metric with its training one: "
                         f"use e.g. metric='val_{metric}', got {metric!r}")
    lower_is_better = "loss" in metric
    _, ax, _ = _drawing.axes(ax, (8, 4.5))
    for i, (name, history) in enumerate(histories.items()):
        record = getattr(history, "history", history)
        if not isinstance(record, dict):
            raise ValueError(f"run {name!r}: expected a keras History or a dict of lists; "
                             f"got {type(history).__name__}")
        curves = [(metric, "-", name)]
        if training:
            curves = [(metric, "-", f"{name}, validation"), (metric[len("val_"):], "--", f"{name}, training")]
        for key, style, label in curves:
            if key not in record:
                raise ValueError(f"run {name!r} has no {key!r}; it has {sorted(record)}")
            values = np.asarray(record[key], dtype=float)
            best = values.min() if lower_is_better else values.max()
            ax.plot(np.arange(1, len(values) + 1), values, marker="o", linestyle=style, markersize=4,
                    color=f"C{i % 10}", label=f"{label} (best {best:.4f})")
    ax.set_xlabel("epoch")
    ax.set_ylabel(metric[len("val_"):].replace("_", " ") if training else metric.replace("_", " "))
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(alpha=0.3)
    ax.legend(title="run", loc="best")
    ax.set_title(title or f"{metric.replace('_', ' ')} per epoch "
                 f"({'lower' if lower_is_better else 'higher'} is better)")
    return ax.figure
