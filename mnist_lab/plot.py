"""Pictures for the MNIST notebooks: digits, errors, training curves, what a model learned.

Every function draws into a new :class:`matplotlib.figure.Figure` and returns
it: make it the last expression of a notebook cell to see it, or save it with
``fig.savefig(path)``. Figures are created directly (not through ``pyplot``),
so no helper leaves a figure open behind your back and nothing is drawn twice.

To draw into a figure of your own, pass ``ax=`` (an Axes, for one-panel
pictures) or ``fig=`` (an empty Figure or SubFigure, for pictures of several
panels); the function then returns that ``ax`` or ``fig``.

Images may be uint8 0..255 or float 0..1, shaped (N, 28, 28), (N, 28, 28, 1)
or (N, 784). Labels and predictions are class numbers (N,); class
probabilities (N, 10), e.g. ``model.predict(x)``, are accepted too and read
as their arg-max. The counting behind the confusion matrix is in
:mod:`mnist_lab.metrics`; the live training curves are
:class:`mnist_lab.callbacks.TrainingPlot`.

Example
-------
>>> from mnist_lab import plot
>>> fig = plot.plot_digits(x_test, y_test, predictions=model.predict(x_test))
>>> fig.savefig("predictions.png")
"""

import math

import matplotlib
import numpy as np
from matplotlib.patches import Rectangle
from matplotlib.ticker import MaxNLocator

from ._tf import tf  # noqa: F401  (quiet TensorFlow start-up, before keras)
import keras  # noqa: E402  (must come after the quiet TensorFlow import)

from . import _drawing, metrics
from ._model_plots import plot_feature_maps, plot_filters, plot_weight_templates
from .metrics import _check_count

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
# Input checking
# --------------------------------------------------------------------------

def _check_images(images, name="images"):
    """Return images as an (N, 28, 28) array, or raise a one-line ValueError."""
    x = np.asarray(images)
    if x.ndim == 4 and x.shape[1:] == (28, 28, 1):
        x = x[..., 0]
    elif x.ndim == 2 and x.shape[1] == 784:
        x = x.reshape(-1, 28, 28)
    elif not (x.ndim == 3 and x.shape[1:] == (28, 28)):
        raise ValueError(
            f"{name} must have shape (N, 28, 28), (N, 28, 28, 1) or (N, 784); got {x.shape}"
        )
    if len(x) == 0:
        raise ValueError(f"{name} is empty: expected at least one 28x28 image")
    return x


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
    """Show the first `n` digits in a grid, titled with their label or prediction.

    With `predictions` each digit is titled with what the model predicted;
    wrong predictions get a red title "predicted (true label)" and a red frame,
    so mistakes stand out at a glance.

    Parameters
    ----------
    images : array (N, 28, 28), (N, 28, 28, 1) or (N, 784)
    labels : array (N,), optional
        True classes.
    predictions : array (N,) of classes or (N, 10) of probabilities, optional
    n : int
        How many digits to show (the first `n`).
    ncols : int
        Digits per row.
    title : str, optional
        Figure title; by default with predictions it counts the mistakes.
    fig : matplotlib Figure or SubFigure, optional
        An empty figure to draw into.

    Example
    -------
    >>> plot_digits(x_train, y_train, n=20)
    >>> plot_digits(x_test, y_test, predictions=model.predict(x_test))
    """
    x = _check_images(images)
    n, ncols = _check_count(n, "n"), _check_count(ncols, "ncols")
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
    """Show only the misclassified digits, the most confident mistakes first.

    Each digit is titled with the predicted class, the probability the model
    gave it, and the true label. The most confident errors are the
    interesting ones: sloppy handwriting, or a label that is simply wrong.

    Parameters
    ----------
    images : array (N, 28, 28), (N, 28, 28, 1) or (N, 784)
    labels : array (N,)
        True classes.
    probabilities : array (N, classes)
        Model output, e.g. ``model.predict(images)``.
    n : int
        Show at most `n` errors.
    ncols : int
        Digits per row.
    title : str, optional
        Default: how many errors there are.
    fig : matplotlib Figure or SubFigure, optional
        An empty figure to draw into.

    Example
    -------
    >>> plot_errors(x_test, y_test, model.predict(x_test), n=20)
    """
    x = _check_images(images)
    n, ncols = _check_count(n, "n"), _check_count(ncols, "ncols")
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

    :class:`mnist_lab.callbacks.TrainingPlot` redraws this figure live
    during ``fit``; call it yourself on a finished run.

    Parameters
    ----------
    history : keras History, dict of lists, or anything with a ``.history`` dict
        What ``model.fit`` returned, e.g.; the second panel shows
        "accuracy" (or the first other compiled metric).
    title : str, optional
    epochs : dict name -> list of int, optional
        The (1-based) epochs each metric's values belong to, for metrics not
        logged every epoch (``validation_freq``); default 1, 2, ...
    total_epochs : int, optional
        Width of the epoch axis; default the last epoch drawn.
    fig : matplotlib Figure or SubFigure, optional
        An empty figure to draw into.

    Example
    -------
    >>> history = model.fit(x, y, validation_split=0.1, epochs=10, verbose=0)
    >>> plot_training_curves(history, title="Dense 128 relu")
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
    total = max(_check_count(total_epochs, "total_epochs") if total_epochs is not None else 0, last)

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
    """Draw a learning-rate schedule: the value it gives at epochs 0..epochs-1.

    Look before you train: is the decay as fast as you meant?

    Parameters
    ----------
    schedule : callable
        ``schedule(epoch) -> learning rate``; the same function you give
        ``keras.callbacks.LearningRateScheduler``. A Keras-style
        ``schedule(epoch, lr)`` also works if you pass `initial_learning_rate`
        (it is then chained, as Keras does). A LearningRateScheduler callback
        is accepted too.
    epochs : int
        Number of epochs; epochs are numbered from 0, as Keras passes them.
    title : str, optional
    initial_learning_rate : float, optional
        Only for two-argument schedules.
    ax : matplotlib Axes, optional
        Where to draw; returned instead of a new Figure.

    Example
    -------
    >>> plot_learning_rate(lambda epoch: 1e-3 * 0.9 ** epoch, epochs=20)
    """
    if isinstance(schedule, keras.callbacks.LearningRateScheduler):
        schedule = schedule.schedule
    if not callable(schedule):
        raise ValueError(f"schedule must be a function epoch -> learning rate; got {schedule!r}")
    epochs = _check_count(epochs, "epochs")
    values = []
    lr = initial_learning_rate
    for epoch in range(epochs):
        if initial_learning_rate is None:
            lr = schedule(epoch)
        else:
            lr = schedule(epoch, lr)
        values.append(float(lr))
    values = np.array(values)

    _, ax, drawn_on = _drawing.axes(ax, (7, 4))
    ax.plot(np.arange(epochs), values, "o-", markersize=4)
    if np.all(values > 0):
        ax.set_yscale("log")
    ax.set_xlabel("epoch (as passed to the schedule, from 0)")
    ax.set_ylabel("learning rate")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(alpha=0.3, which="both")
    ax.set_title(title or f"Learning-rate schedule: {values[0]:.3g} to {values[-1]:.3g}")
    return drawn_on


# --------------------------------------------------------------------------
# Confusion matrix
# --------------------------------------------------------------------------

def plot_confusion_matrix(labels, predictions, class_names=None, title=None, ax=None):
    """Draw the confusion matrix with the counts in the cells.

    The three most frequent mistakes are framed in red and named above the
    matrix, e.g. "4 as 9: 12" (a true 4 predicted as 9, twelve times).

    Parameters
    ----------
    labels : array (N,)
        True classes.
    predictions : array (N,) of classes or (N, classes) of probabilities
    class_names : list of str, optional
        Tick labels; default the class numbers.
    title : str, optional
    ax : matplotlib Axes, optional
        Where to draw (the colour bar goes next to it); returned instead of a
        new Figure, with `title` as the first line of its title.

    Example
    -------
    >>> plot_confusion_matrix(y_test, model.predict(x_test))
    """
    if class_names is not None:
        counts = metrics.confusion_matrix(labels, predictions, num_classes=len(class_names))
    else:
        counts = metrics.confusion_matrix(labels, predictions, num_classes=_num_classes(labels, predictions))
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
    return drawn_on


def _num_classes(labels, predictions):
    """At least 10 classes, more if a label or prediction needs them."""
    y = np.asarray(labels)
    p = metrics.class_numbers(predictions, len(y) if y.ndim else 0)
    return max(10, int(max(y.max(initial=0), p.max(initial=0))) + 1)


# --------------------------------------------------------------------------
# Comparing runs
# --------------------------------------------------------------------------

def plot_histories(histories, metric="val_accuracy", title=None, ax=None):
    """Compare training runs: one line per run, `metric` against epoch.

    Use it for experiments such as sigmoid vs relu, SGD vs Adam, batch sizes
    or depth. The legend names each run with its best value (the minimum for
    losses, the maximum otherwise).

    Parameters
    ----------
    histories : dict name -> keras History, dict of lists, or anything with a ``.history`` dict
        What ``model.fit`` returned (or its ``.history``, or a
        :class:`mnist_lab.callbacks.Run`), one per run.
    metric : str
        A key of the histories, e.g. "val_accuracy", "accuracy", "val_loss".
    title : str, optional
    ax : matplotlib Axes, optional
        Where to draw; returned instead of a new Figure.

    Example
    -------
    >>> runs = {"sigmoid": fit_sigmoid, "relu": fit_relu}
    >>> plot_histories(runs, metric="val_accuracy")
    """
    if not isinstance(histories, dict) or not histories:
        raise ValueError("histories must be a non-empty dict: name -> History or history dict")
    lower_is_better = "loss" in metric
    _, ax, drawn_on = _drawing.axes(ax, (8, 4.5))
    for name, history in histories.items():
        record = getattr(history, "history", history)
        if not isinstance(record, dict):
            raise ValueError(f"run {name!r}: expected a keras History or a dict of lists; "
                             f"got {type(history).__name__}")
        if metric not in record:
            raise ValueError(f"run {name!r} has no {metric!r}; it has {sorted(record)}")
        values = np.asarray(record[metric], dtype=float)
        best = values.min() if lower_is_better else values.max()
        ax.plot(np.arange(1, len(values) + 1), values, "o-", markersize=4,
                label=f"{name} (best {best:.4f})")
    ax.set_xlabel("epoch")
    ax.set_ylabel(metric.replace("_", " "))
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(alpha=0.3)
    ax.legend(title="run", loc="best")
    ax.set_title(title or f"{metric.replace('_', ' ')} per epoch "
                 f"({'lower' if lower_is_better else 'higher'} is better)")
    return drawn_on
