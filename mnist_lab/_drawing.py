"""Plumbing shared by the drawing modules: figures, axes, digit images, Jupyter display."""

import matplotlib
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure, FigureBase

from . import _jupyter

WRONG = "red"           # colour of wrong predictions (titles and frames)
DIGIT_CMAP = "gray"     # digits are drawn as the network sees them: white ink on black
WEIGHT_CMAP = "RdBu_r"  # weights: red = positive, blue = negative, white = zero


def _register_jupyter_display():
    """Let a bare Figure show as a PNG when it ends a notebook cell, by loading the (lazy) notebook backend now."""
    if _jupyter.kernel() is None:
        return
    try:
        from matplotlib.backends import backend_registry

        backend_registry.load_backend_module(matplotlib.get_backend())
    except Exception:  # never break the import over a display nicety
        pass


_register_jupyter_display()


def display_range(x):
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


def to_numpy(tensor):
    """A numpy copy of an array, tensor or Keras variable."""
    if hasattr(tensor, "numpy"):  # tf.Tensor, keras.Variable
        return np.asarray(tensor.numpy())
    return np.asarray(tensor)


def figure(fig, figsize):
    """A new constrained-layout Figure of `figsize`, or the caller's empty Figure/SubFigure."""
    if fig is None:
        return Figure(figsize=figsize, layout="constrained")
    if not isinstance(fig, FigureBase):
        raise ValueError(f"fig must be a matplotlib Figure or SubFigure; got {type(fig).__name__}")
    if fig.axes:
        raise ValueError("fig already has axes: pass an empty Figure, or a SubFigure from fig.subfigures()")
    return fig


def axes(ax, figsize):
    """(figure to draw in, axes, what to return): a new Figure and its Axes, or the caller's Axes."""
    if ax is None:
        fig = Figure(figsize=figsize, layout="constrained")
        return fig, fig.add_subplot(), fig
    if not isinstance(ax, Axes):
        raise ValueError(f"ax must be a matplotlib Axes; got {type(ax).__name__}")
    return ax.figure, ax, ax


def show_digit(ax, image, vmin, vmax, text=None, wrong=False, fontsize=10):
    """Draw one digit without ticks; a wrong prediction gets a red frame and title."""
    ax.imshow(image, cmap=DIGIT_CMAP, vmin=vmin, vmax=vmax, interpolation="nearest")
    ax.set(xticks=[], yticks=[])
    for spine in ax.spines.values():  # a red frame marks a wrong prediction
        spine.set_visible(wrong)
        spine.set_color(WRONG)
        spine.set_linewidth(2.5)
    if text is not None:
        ax.set_title(text, fontsize=fontsize, color=WRONG if wrong else "black", pad=3)
