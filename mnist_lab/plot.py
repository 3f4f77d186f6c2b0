"""Pictures for the MNIST notebooks: digits, errors, training curves, what a model learned.

Every function returns a :class:`matplotlib.figure.Figure`. Make it the last
expression of a notebook cell to see it, or save it with ``fig.savefig(path)``.
Figures are created directly (not through ``pyplot``), so no helper leaves a
figure open behind your back and nothing is drawn twice.

Images may be uint8 0..255 or float 0..1, shaped (N, 28, 28), (N, 28, 28, 1)
or (N, 784). Labels and predictions are class numbers (N,); class
probabilities (N, 10), e.g. ``model.predict(x)``, are accepted too and read
as their arg-max.

Example
-------
>>> from mnist_lab import plot
>>> fig = plot.plot_digits(x_test, y_test, predictions=model.predict(x_test))
>>> fig.savefig("predictions.png")
"""

import math
import os
import sys
import time

import matplotlib
import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.ticker import MaxNLocator

from ._tf import tf  # noqa: F401  (quiet TensorFlow start-up, before keras)
import keras  # noqa: E402  (must come after the quiet TensorFlow import)

from . import profile

__all__ = [
    "plot_digits",
    "plot_errors",
    "TrainingPlot",
    "plot_learning_rate",
    "confusion_matrix",
    "most_confused",
    "plot_confusion_matrix",
    "plot_weight_templates",
    "plot_filters",
    "plot_feature_maps",
    "plot_histories",
    "plot_stages",
]

WRONG = "red"           # colour of wrong predictions (titles and frames)
DIGIT_CMAP = "gray"     # digits are drawn as the network sees them: white ink on black
WEIGHT_CMAP = "RdBu_r"  # weights: red = positive, blue = negative, white = zero


# --------------------------------------------------------------------------
# Jupyter display
# --------------------------------------------------------------------------

def _ipython_kernel():
    """The running IPython kernel shell, or None (plain Python, terminal IPython)."""
    if "IPython" not in sys.modules:
        return None
    from IPython import get_ipython

    shell = get_ipython()
    if shell is None or getattr(shell, "kernel", None) is None:
        return None
    return shell


def _register_jupyter_display():
    """Let a bare Figure show as a PNG when it ends a notebook cell.

    IPython knows how to show a Figure only once matplotlib's notebook backend
    (matplotlib-inline) has been loaded; matplotlib >= 3.9 loads it lazily, on
    the first pyplot figure. We load it now, without creating any figure.
    """
    if _ipython_kernel() is None:
        return
    try:
        from matplotlib.backends import backend_registry

        backend_registry.load_backend_module(matplotlib.get_backend())
    except Exception:  # never break the import over a display nicety
        pass


_register_jupyter_display()


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


def _display_range(x):
    """Scale images for imshow: (float array, vmin, vmax)."""
    if x.dtype == bool:
        return x.astype(np.float32), 0.0, 1.0
    if np.issubdtype(x.dtype, np.integer):
        return x.astype(np.float32) / 255.0, 0.0, 1.0
    x = x.astype(np.float32)
    if x.min() >= 0.0 and x.max() <= 1.0:
        return x, 0.0, 1.0
    if x.min() >= 0.0 and x.max() <= 255.0:
        return x / 255.0, 0.0, 1.0
    return x, None, None  # e.g. standardized pixels: let each image scale itself


def _check_classes(values, n, name):
    """Return class numbers (n,) from class numbers or (n, classes) probabilities."""
    v = np.asarray(values)
    if v.ndim == 2 and v.shape[1] == 1:
        v = v[:, 0]
    elif v.ndim == 2 and v.shape[0] == n:
        v = v.argmax(axis=1)
    if v.ndim != 1 or len(v) != n:
        raise ValueError(
            f"{name} must have length {n} (one per image), or shape ({n}, classes); "
            f"got shape {v.shape}"
        )
    if not np.issubdtype(v.dtype, np.integer):
        if not (np.issubdtype(v.dtype, np.floating) and np.all(v == np.round(v))):
            raise ValueError(f"{name} must be whole class numbers; got dtype {v.dtype}")
    return v.astype(np.int64)


def _check_count(value, name):
    if not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer; got {value!r}")
    return int(value)


def _to_numpy(tensor):
    """A numpy copy of an array, tensor or Keras variable."""
    if hasattr(tensor, "numpy"):  # tf.Tensor, keras.Variable
        return np.asarray(tensor.numpy())
    return np.asarray(tensor)


# --------------------------------------------------------------------------
# Digits
# --------------------------------------------------------------------------

def _digit_grid(count, ncols, cell_height=1.15, title=None):
    """A Figure with `count` axes in rows of `ncols` (no empty axes)."""
    ncols = min(ncols, count)
    nrows = math.ceil(count / ncols)
    fig = Figure(figsize=(1.0 * ncols + 0.2, cell_height * nrows + (0.4 if title else 0.1)),
                 layout="constrained")
    axes = [fig.add_subplot(nrows, ncols, i + 1) for i in range(count)]
    if title:
        fig.suptitle(title)
    return fig, axes


def _show_digit(ax, image, vmin, vmax, text=None, wrong=False, fontsize=10):
    ax.imshow(image, cmap=DIGIT_CMAP, vmin=vmin, vmax=vmax, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():  # a red frame marks a wrong prediction
        spine.set_visible(wrong)
        spine.set_color(WRONG)
        spine.set_linewidth(2.5)
    if text is not None:
        ax.set_title(text, fontsize=fontsize, color=WRONG if wrong else "black", pad=3)


def plot_digits(images, labels=None, predictions=None, n=30, ncols=10, title=None):
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

    Example
    -------
    >>> plot_digits(x_train, y_train, n=20)
    >>> plot_digits(x_test, y_test, predictions=model.predict(x_test))
    """
    x = _check_images(images)
    n, ncols = _check_count(n, "n"), _check_count(ncols, "ncols")
    y = None if labels is None else _check_classes(labels, len(x), "labels")
    p = None if predictions is None else _check_classes(predictions, len(x), "predictions")
    count = min(n, len(x))
    shown, vmin, vmax = _display_range(x[:count])

    wrong = np.zeros(count, dtype=bool)
    if y is not None and p is not None:
        wrong = p[:count] != y[:count]
        if title is None:
            title = (f"{wrong.sum()} of {count} predictions wrong "
                     f"(red: predicted, then true label)")

    fig, axes = _digit_grid(count, ncols, title=title)
    for i, ax in enumerate(axes):
        if p is not None:
            text = f"{p[i]} (true {y[i]})" if wrong[i] else f"{p[i]}"
        elif y is not None:
            text = f"{y[i]}"
        else:
            text = None
        _show_digit(ax, shown[i], vmin, vmax, text, wrong[i])
    return fig


def plot_errors(images, labels, probabilities, n=30, ncols=10, title=None):
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

    Example
    -------
    >>> plot_errors(x_test, y_test, model.predict(x_test), n=20)
    """
    x = _check_images(images)
    n, ncols = _check_count(n, "n"), _check_count(ncols, "ncols")
    y = _check_classes(labels, len(x), "labels")
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
        fig = Figure(figsize=(6, 0.9 if title else 0.6), layout="constrained")
        fig.suptitle(f"{title}\n{message}" if title else message)
        return fig

    shown_idx = errors[:n]
    if title is None:
        title = (f"{len(errors)} errors in {len(x)} digits ({len(errors) / len(x):.1%}), "
                 f"most confident first")
        if len(shown_idx) < len(errors):
            title += f"; showing {len(shown_idx)}"
    shown, vmin, vmax = _display_range(x[shown_idx])
    fig, axes = _digit_grid(len(shown_idx), ncols, cell_height=1.3, title=title)
    for ax, i, image in zip(axes, shown_idx, shown):
        text = f"{predicted[i]} ({confidence[i]:.0%})\ntrue {y[i]}"
        _show_digit(ax, image, vmin, vmax, text, wrong=True, fontsize=9)
    return fig


# --------------------------------------------------------------------------
# Training curves
# --------------------------------------------------------------------------

def _quick_run():
    """True when figures should not be redrawn live (CI, quick mode, no kernel)."""
    if os.environ.get("CI"):
        return True
    if profile.is_quick():
        return True
    return _ipython_kernel() is None


def _accuracy_key(history):
    """The metric for the second panel: 'accuracy' if present, else the first other one."""
    names = [k for k in history if not k.startswith("val_")
             and k not in {"loss", "learning_rate", "lr"}]
    if "accuracy" in names:
        return "accuracy"
    return names[0] if names else None


class TrainingPlot(keras.callbacks.Callback):
    """Live training curves: loss and accuracy, training and validation.

    Pass it to ``model.fit(..., callbacks=[TrainingPlot()])``. In Jupyter or
    Colab the figure is redrawn in place after every epoch. In a
    non-interactive run (environment variable ``CI`` set, ``MNIST_LAB_QUICK``
    true, not in a notebook kernel, or ``live=False``) it draws once, at the
    end of training.

    Everything comes from Keras itself (``logs`` and ``self.params``), so it
    works for any batch size, data set or number of epochs.

    Parameters
    ----------
    live : bool, optional
        Redraw after every epoch. Default: auto-detect as described above.
    title : str, optional
        Shown above the two panels, followed by the epoch counter.
    refresh_seconds : float, optional
        Live mode redraws at most this often (drawing costs about half a
        second, more than an epoch of a small model); the last epoch is
        always drawn. 0 redraws after every epoch.

    Attributes
    ----------
    history : dict of lists
        Every logged metric, one value per epoch (like ``History.history``).
    epochs : list of int
        The epoch numbers (1-based) the values belong to.
    figure : matplotlib Figure
        The latest drawing (the final one after training).
    live_ : bool
        Whether the last ``fit`` was redrawn after every epoch.

    Example
    -------
    >>> curves = TrainingPlot(title="Dense 128 relu")
    >>> model.fit(x_train, y_train, validation_split=0.1, epochs=10,
    ...           callbacks=[curves], verbose=0)
    >>> curves.figure.savefig("training.png")
    """

    def __init__(self, live=None, title=None, refresh_seconds=2.0):
        super().__init__()
        if refresh_seconds < 0:
            raise ValueError(f"refresh_seconds must be >= 0, got {refresh_seconds}")
        self.live = live
        self.title = title
        self.refresh_seconds = refresh_seconds
        self._last_draw = None
        self._drawn_epochs = 0
        self.history = {}
        self.epochs = []
        self.figure = None
        self.live_ = False
        self._epochs_of = {}  # metric -> the epochs its values belong to
        self._handle = None

    def on_train_begin(self, logs=None):
        self.history = {}
        self.epochs = []
        self.figure = None
        self._epochs_of = {}
        self._handle = None
        self._last_draw = None
        self._drawn_epochs = 0
        self.live_ = (not _quick_run()) if self.live is None else bool(self.live)

    def on_epoch_end(self, epoch, logs=None):
        for key, value in (logs or {}).items():
            if np.ndim(value) != 0:
                continue  # not a scalar metric
            self.history.setdefault(key, []).append(float(value))
            self._epochs_of.setdefault(key, []).append(epoch + 1)
        self.epochs.append(epoch + 1)
        last = epoch + 1 >= (self.params or {}).get("epochs", 0)
        now = time.monotonic()
        due = self._last_draw is None or now - self._last_draw >= self.refresh_seconds
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
        if _ipython_kernel() is not None:
            from IPython.display import display

            display(self.figure)

    def _redraw(self):
        self._draw()
        if _ipython_kernel() is None:
            return
        from IPython.display import display

        if self._handle is None:
            self._handle = display(self.figure, display_id=True)
        else:
            self._handle.update(self.figure)

    def _draw(self):
        self._drawn_epochs = len(self.epochs)
        if self.figure is None:
            self.figure = Figure(figsize=(11, 4), layout="constrained")
            self.figure.subplots(1, 2)
        fig = self.figure
        total = max((self.params or {}).get("epochs") or 0, self.epochs[-1])
        header = f"epoch {self.epochs[-1]}/{total}"
        fig.suptitle(f"{self.title}: {header}" if self.title else f"Training, {header}")
        acc = _accuracy_key(self.history)
        panels = [("loss", "Loss (lower is better)"),
                  (acc, f"{acc.replace('_', ' ').capitalize()} (higher is better)"
                   if acc else "Accuracy")]
        for ax, (key, heading) in zip(fig.axes, panels):
            ax.clear()
            ax.set_title(heading)
            ax.set_xlabel("epoch")
            ax.set_xlim(0.5, total + 0.5)
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.grid(alpha=0.3)
            if key is None:
                ax.text(0.5, 0.5, "no metric compiled:\nuse metrics=['accuracy']",
                        ha="center", va="center", transform=ax.transAxes)
                continue
            for name, label, style in ((key, "training", "o-"),
                                       ("val_" + key, "validation", "s--")):
                values = self.history.get(name)
                if values:
                    ax.plot(self._epochs_of[name], values, style, markersize=4,
                            label=f"{label} ({values[-1]:.3f})")
            if ax.lines:
                ax.legend(loc="best")


def plot_learning_rate(schedule, epochs, title=None, initial_learning_rate=None):
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

    fig = Figure(figsize=(7, 4), layout="constrained")
    ax = fig.add_subplot()
    ax.plot(np.arange(epochs), values, "o-", markersize=4)
    if np.all(values > 0):
        ax.set_yscale("log")
    ax.set_xlabel("epoch (as passed to the schedule, from 0)")
    ax.set_ylabel("learning rate")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(alpha=0.3, which="both")
    ax.set_title(title or f"Learning-rate schedule: {values[0]:.3g} to {values[-1]:.3g}")
    return fig


# --------------------------------------------------------------------------
# Confusion matrix
# --------------------------------------------------------------------------

def _check_pairs(labels, predictions, num_classes=None):
    """Class numbers (y, p) of equal length, and the number of classes."""
    y = np.asarray(labels)
    if y.ndim == 0:
        raise ValueError(f"labels must be a 1-D array of classes; got a scalar {labels!r}")
    y = _check_classes(y, len(y), "labels")
    p = _check_classes(predictions, len(y), "predictions")
    if num_classes is None:
        num_classes = max(10, int(max(y.max(initial=0), p.max(initial=0))) + 1)
    for name, v in (("labels", y), ("predictions", p)):
        if len(v) and (v.min() < 0 or v.max() >= num_classes):
            raise ValueError(f"{name} must be classes 0..{num_classes - 1}; "
                             f"got values {v.min()}..{v.max()}")
    return y, p, num_classes


def confusion_matrix(labels, predictions, num_classes=10):
    """Count (true, predicted) pairs: rows are true classes, columns predictions.

    Example
    -------
    >>> confusion_matrix([0, 1, 1], [0, 1, 0], num_classes=2)
    array([[1, 0],
           [1, 1]])
    """
    y, p, num_classes = _check_pairs(labels, predictions, _check_count(num_classes, "num_classes"))
    counts = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(counts, (y, p), 1)
    return counts


def most_confused(labels, predictions, k=5):
    """The `k` most frequent mistakes as (true, predicted, count), most frequent first.

    Example
    -------
    >>> most_confused([4, 4, 7, 1], [9, 9, 1, 1], k=5)
    [(4, 9, 2), (7, 1, 1)]
    """
    y, p, num_classes = _check_pairs(labels, predictions)
    counts = confusion_matrix(y, p, num_classes)
    np.fill_diagonal(counts, 0)
    pairs = [(int(t), int(q), int(counts[t, q])) for t, q in zip(*np.nonzero(counts))]
    pairs.sort(key=lambda pair: (-pair[2], pair[0], pair[1]))
    return pairs[:_check_count(k, "k")]


def plot_confusion_matrix(labels, predictions, class_names=None, title=None):
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

    Example
    -------
    >>> plot_confusion_matrix(y_test, model.predict(x_test))
    """
    num_classes = len(class_names) if class_names is not None else None
    y, p, num_classes = _check_pairs(labels, predictions, num_classes)
    names = [str(c) for c in (class_names if class_names is not None else range(num_classes))]
    counts = confusion_matrix(y, p, num_classes)
    worst = most_confused(y, p, k=3)

    size = 1.5 + 0.55 * num_classes
    fig = Figure(figsize=(size + 1.2, size + 0.6), layout="constrained")
    ax = fig.add_subplot()
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
                               edgecolor=WRONG, linewidth=2))
    ax.set_xticks(range(num_classes), names)
    ax.set_yticks(range(num_classes), names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    accuracy = np.trace(counts) / max(counts.sum(), 1)
    confused = ", ".join(f"{names[t]} as {names[q]}: {c}" for t, q, c in worst) or "none"
    ax.set_title(f"accuracy {accuracy:.1%} on {counts.sum()} digits\n"
                 f"most confused (true as predicted): {confused}", fontsize=10)
    fig.suptitle(title or "Confusion matrix")
    return fig


# --------------------------------------------------------------------------
# What a model learned
# --------------------------------------------------------------------------

def _symmetric_limit(values):
    return float(np.abs(values).max()) or 1.0


def plot_weight_templates(model_or_kernel, title=None):
    """Show the ten 28x28 weight templates of a logistic regression.

    Each output unit of a Dense(10) layer on 784 pixels scores one digit by a
    weighted sum of the pixels: red pixels are evidence for that digit, blue
    pixels evidence against. Reshaped to 28x28 the weights look like blurry
    digit templates.

    Parameters
    ----------
    model_or_kernel : keras Model, Dense layer, or array (784, 10)
        A model whose last Dense layer has a 784x10 kernel, or the kernel.
    title : str, optional

    Example
    -------
    >>> model = keras.Sequential([keras.Input((784,)), keras.layers.Dense(10, "softmax")])
    >>> model.fit(x_train.reshape(-1, 784) / 255, y_train, epochs=5)
    >>> plot_weight_templates(model)
    """
    obj = model_or_kernel
    if isinstance(obj, keras.Model):
        dense = [layer for layer in obj.layers if isinstance(layer, keras.layers.Dense)]
        if not dense:
            raise ValueError("model has no Dense layer: expected a logistic regression "
                             "ending in Dense(10) on 784 pixels")
        obj = dense[-1]
    if isinstance(obj, keras.layers.Layer):
        if not obj.built:
            raise ValueError(f"layer {obj.name!r} is not built yet: train or call the model first")
        obj = obj.kernel
    kernel = _to_numpy(obj)
    if kernel.shape != (784, 10):
        raise ValueError(f"expected a kernel of shape (784, 10) (784 pixels, 10 digits); "
                         f"got {kernel.shape}")
    templates = kernel.T.reshape(10, 28, 28)
    limit = _symmetric_limit(templates)

    fig = Figure(figsize=(11, 5), layout="constrained")
    axes = fig.subplots(2, 5).ravel()
    for digit, ax in enumerate(axes):
        im = ax.imshow(templates[digit], cmap=WEIGHT_CMAP, vmin=-limit, vmax=limit)
        ax.set_title(str(digit), fontsize=14)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.colorbar(im, ax=axes.tolist(), shrink=0.8, label="weight (red: for, blue: against)")
    fig.suptitle(title or "What the logistic regression looks for: one template per digit")
    return fig


def _conv_kernel(layer_or_kernel):
    """(kernel (kh, kw, in, out), layer name or None) from a Conv2D layer, model or array."""
    obj = layer_or_kernel
    if isinstance(obj, keras.Model):
        convs = [layer for layer in obj.layers if isinstance(layer, keras.layers.Conv2D)]
        if not convs:
            raise ValueError("model has no Conv2D layer")
        obj = convs[0]
    if isinstance(obj, keras.layers.Layer):
        if not isinstance(obj, keras.layers.Conv2D):
            raise ValueError(f"expected a Conv2D layer; got {type(obj).__name__}")
        if not obj.built:
            raise ValueError(f"layer {obj.name!r} is not built yet: train or call the model first")
        return _to_numpy(obj.kernel), obj.name
    kernel = _to_numpy(obj)
    if kernel.ndim != 4:
        raise ValueError(f"expected a Conv2D kernel of shape (height, width, in_channels, "
                         f"out_channels); got {kernel.shape}")
    return kernel, None


def plot_filters(layer_or_kernel, ncols=8, title=None):
    """Show the filters of a Conv2D layer, one small image per output channel.

    With several input channels the mean over them is shown. All filters share
    one colour scale centred at zero (red positive, blue negative), so strong
    and weak filters can be compared.

    Parameters
    ----------
    layer_or_kernel : keras Conv2D layer, model (its first Conv2D), or array
        An array must be shaped (height, width, in_channels, out_channels).
    ncols : int
        Filters per row.
    title : str, optional

    Example
    -------
    >>> plot_filters(model.layers[0])
    """
    kernel, name = _conv_kernel(layer_or_kernel)
    ncols = _check_count(ncols, "ncols")
    kh, kw, cin, cout = kernel.shape
    filters = kernel.mean(axis=2)  # (kh, kw, out)
    limit = _symmetric_limit(filters)

    ncols = min(ncols, cout)
    nrows = math.ceil(cout / ncols)
    fig = Figure(figsize=(0.95 * ncols + 1.3, 1.0 * nrows + 0.6), layout="constrained")
    axes = [fig.add_subplot(nrows, ncols, i + 1) for i in range(cout)]
    for i, ax in enumerate(axes):
        im = ax.imshow(filters[:, :, i], cmap=WEIGHT_CMAP, vmin=-limit, vmax=limit,
                       interpolation="nearest")
        ax.set_title(str(i), fontsize=8, pad=2)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.colorbar(im, ax=axes, shrink=0.9, label="weight")
    if title is None:
        title = f"{cout} filters" + (f" of {name}" if name else "") + f", {kh}x{kw}"
        if cin > 1:
            title += f", mean over {cin} input channels"
    fig.suptitle(title)
    return fig


def _check_one_image(image):
    x = np.asarray(image)
    if x.shape not in {(28, 28), (28, 28, 1), (784,), (1, 28, 28), (1, 28, 28, 1), (1, 784)}:
        raise ValueError(f"image must be ONE digit: (28, 28), (28, 28, 1) or (784,); got {x.shape}")
    return x.reshape(28, 28)


def _conv_outputs(model, image, convs):
    """Run `image` through `model`, returning the outputs of the `convs` layers."""
    try:
        inputs = model.inputs
    except AttributeError:
        inputs = None  # a Sequential model built without keras.Input
    if inputs is not None and len(inputs) != 1:
        raise ValueError(f"expected a model with one input; this one has {len(inputs)}")
    shape = tuple(inputs[0].shape[1:]) if inputs else None
    if shape is None or None in shape or math.prod(shape) != 784:
        shape = (28, 28, 1)
    x = image.astype(np.float32).reshape((1,) + shape)
    if inputs:
        extractor = keras.Model(inputs=inputs[0], outputs=[c.output for c in convs])
        outputs = extractor(x, training=False)
        outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
        return [_to_numpy(o)[0] for o in outputs]
    if not isinstance(model, keras.Sequential):
        raise ValueError("cannot read the feature maps of this model: build it with keras.Input")
    found = []
    for layer in model.layers:  # Sequential: feed the layers one after another
        x = layer(x, training=False)
        if layer in convs:
            found.append(_to_numpy(x)[0])
    return found


def plot_feature_maps(model, image, n=8, title=None):
    """Show what each Conv2D layer makes of ONE digit: one row per conv layer.

    The input digit is shown top left; each row then shows the first `n`
    feature maps (channels) of one convolutional layer, bright = strong
    response. Deeper rows are smaller and more abstract.

    Parameters
    ----------
    model : keras Model
        A trained (built) model containing Conv2D layers, e.g. a Sequential
        that starts with ``keras.Input((28, 28, 1))``.
    image : array (28, 28), (28, 28, 1) or (784,)
        One digit, scaled exactly like the training data.
    n : int
        Feature maps to show per layer.
    title : str, optional

    Example
    -------
    >>> plot_feature_maps(cnn, x_test[0])
    """
    if not isinstance(model, keras.Model):
        raise ValueError(f"model must be a keras Model; got {type(model).__name__}")
    if not model.built:
        raise ValueError("model is not built yet: start it with keras.Input((28, 28, 1)) "
                         "or train it first")
    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    if not convs:
        raise ValueError("model has no Conv2D layer, so there are no feature maps to show")
    n = _check_count(n, "n")
    digit = _check_one_image(image)
    maps = _conv_outputs(model, digit, convs)

    ncols = min(n, max(m.shape[-1] for m in maps))
    rows = len(convs)
    fig = Figure(figsize=(1.1 * (ncols + 1) + 0.4, 1.25 * rows + 0.6), layout="constrained")
    grid = fig.add_gridspec(rows, ncols + 1)
    shown, vmin, vmax = _display_range(digit[None])
    ax = fig.add_subplot(grid[0, 0])
    _show_digit(ax, shown[0], vmin, vmax, "input", fontsize=9)
    for row, (layer, fmap) in enumerate(zip(convs, maps)):
        top = float(fmap.max()) or 1.0
        bottom = min(float(fmap.min()), 0.0)
        for col in range(min(ncols, fmap.shape[-1])):
            ax = fig.add_subplot(grid[row, col + 1])
            ax.imshow(fmap[:, :, col], cmap="magma", vmin=bottom, vmax=top,
                      interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if col == 0:
                h, w, c = fmap.shape
                ax.set_ylabel(f"{layer.name}\n{h}x{w}x{c}", fontsize=9)
            if row == 0:
                ax.set_title(f"map {col}", fontsize=8, pad=2)
    fig.suptitle(title or f"Feature maps of one digit through {rows} conv layer(s)")
    return fig


# --------------------------------------------------------------------------
# Comparing runs
# --------------------------------------------------------------------------

def plot_histories(histories, metric="val_accuracy", title=None):
    """Compare training runs: one line per run, `metric` against epoch.

    Use it for experiments such as sigmoid vs relu, SGD vs Adam, batch sizes
    or depth. The legend names each run with its best value (the minimum for
    losses, the maximum otherwise).

    Parameters
    ----------
    histories : dict name -> keras History, TrainingPlot or dict of lists
        What ``model.fit`` returned (or its ``.history``), one per run.
    metric : str
        A key of the histories, e.g. "val_accuracy", "accuracy", "val_loss".
    title : str, optional

    Example
    -------
    >>> runs = {"sigmoid": fit_sigmoid, "relu": fit_relu}
    >>> plot_histories(runs, metric="val_accuracy")
    """
    if not isinstance(histories, dict) or not histories:
        raise ValueError("histories must be a non-empty dict: name -> History or history dict")
    lower_is_better = "loss" in metric
    fig = Figure(figsize=(8, 4.5), layout="constrained")
    ax = fig.add_subplot()
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
    return fig


def plot_stages(results, title=None):
    """The series at a glance: test accuracy and training speed of every stage.

    ``results`` is what :func:`mnist_lab.bench.run_stages` returns. Left:
    mean test accuracy per stage with the spread over seeds as an error bar;
    right: seconds per epoch.
    """
    results = list(results)
    if not results:
        raise ValueError("plot_stages needs at least one stage result")
    names = [f"{r.stage.notebook} {r.stage.name}" for r in results]
    acc = [100 * r.test_accuracies for r in results]
    means = np.array([a.mean() for a in acc])
    spread = np.array([a.std(ddof=1) if len(a) > 1 else 0.0 for a in acc])
    seconds = np.array([np.mean([run.seconds_per_epoch for run in r.runs]) for r in results])
    fig = Figure(figsize=(11, 0.45 * len(results) + 1.8), layout="constrained")
    left, right = fig.subplots(1, 2, sharey=True, width_ratios=[3, 2])
    y = np.arange(len(results))[::-1]
    left.barh(y, means, xerr=spread, color="tab:blue", capsize=3)
    for yi, m, s in zip(y, means, spread):
        left.text(m + s, yi, f"  {m:.2f}%", va="center", fontsize=8)
    left.set_xlim(max(0.0, means.min() - 5), 100.5)
    left.set_yticks(y, names)
    left.set_xlabel("test accuracy (%), mean ± sd over seeds")
    right.barh(y, seconds, color="tab:orange")
    right.set_xlabel("seconds per epoch")
    for ax in (left, right):
        ax.grid(axis="x", alpha=0.3)
    fig.suptitle(title or "Every stage of the series", fontsize=10)
    return fig
