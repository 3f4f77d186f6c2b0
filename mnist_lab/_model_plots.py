"""Pictures of what a model learned: weight templates, convolution filters, feature maps (exported by ``plot``)."""

import math

import numpy as np

from ._tf import tf  # noqa: F401  (quiet TensorFlow start-up, before keras)
import keras  # noqa: E402  (must come after the quiet TensorFlow import)

from ._drawing import WEIGHT_CMAP, display_range, figure, show_digit, to_numpy
from .data import positive_int


def _symmetric_limit(values):
    return float(np.abs(values).max()) or 1.0


def plot_weight_templates(model_or_kernel, title=None, fig=None):
    """Show the ten 28x28 weight templates of a logistic regression (a model, its Dense layer, or a 784x10 kernel).

    Each output unit scores one digit by a weighted sum of the pixels: red pixels are evidence for it,
    blue against.
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
    kernel = to_numpy(obj)
    if kernel.shape != (784, 10):
        raise ValueError(f"expected a kernel of shape (784, 10) (784 pixels, 10 digits); "
                         f"got {kernel.shape}")
    templates = kernel.T.reshape(10, 28, 28)
    limit = _symmetric_limit(templates)

    fig = figure(fig, (11, 5))
    axes = fig.subplots(2, 5).ravel()
    for digit, ax in enumerate(axes):
        im = ax.imshow(templates[digit], cmap=WEIGHT_CMAP, vmin=-limit, vmax=limit)
        ax.set_title(str(digit), fontsize=14)
        ax.set(xticks=[], yticks=[])
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
        return to_numpy(obj.kernel), obj.name
    kernel = to_numpy(obj)
    if kernel.ndim != 4:
        raise ValueError(f"expected a Conv2D kernel of shape (height, width, in_channels, "
                         f"out_channels); got {kernel.shape}")
    return kernel, None


def plot_filters(layer_or_kernel, ncols=8, title=None, fig=None):
    """Show the filters of a Conv2D layer (or a model's first, or a kernel array), one image per output channel.

    Several input channels are averaged. All filters share one colour scale centred at zero, so strong
    and weak filters can be compared.
    """
    kernel, name = _conv_kernel(layer_or_kernel)
    ncols = positive_int(ncols, "ncols")
    kh, kw, cin, cout = kernel.shape
    filters = kernel.mean(axis=2)  # (kh, kw, out)
    limit = _symmetric_limit(filters)

    ncols = min(ncols, cout)
    nrows = math.ceil(cout / ncols)
    fig = figure(fig, (0.95 * ncols + 1.3, 1.0 * nrows + 0.6))
    axes = [fig.add_subplot(nrows, ncols, i + 1) for i in range(cout)]
    for i, ax in enumerate(axes):
        im = ax.imshow(filters[:, :, i], cmap=WEIGHT_CMAP, vmin=-limit, vmax=limit,
                       interpolation="nearest")
        ax.set_title(str(i), fontsize=8, pad=2)
        ax.set(xticks=[], yticks=[])
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
        return [to_numpy(o)[0] for o in outputs]
    if not isinstance(model, keras.Sequential):
        raise ValueError("cannot read the feature maps of this model: build it with keras.Input")
    found = []
    for layer in model.layers:  # Sequential: feed the layers one after another
        x = layer(x, training=False)
        if layer in convs:
            found.append(to_numpy(x)[0])
    return found


def plot_feature_maps(model, image, n=8, title=None, fig=None):
    """Show the first `n` feature maps of each Conv2D layer for ONE digit, scaled like the training data.

    A layer with more maps than shown says so in its row label ("first 8 of 16").
    """
    if not isinstance(model, keras.Model):
        raise ValueError(f"model must be a keras Model; got {type(model).__name__}")
    if not model.built:
        raise ValueError("model is not built yet: start it with keras.Input((28, 28, 1)) "
                         "or train it first")
    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    if not convs:
        raise ValueError("model has no Conv2D layer, so there are no feature maps to show")
    n = positive_int(n, "n")
    digit = _check_one_image(image)
    maps = _conv_outputs(model, digit, convs)

    ncols = min(n, max(m.shape[-1] for m in maps))
    rows = len(convs)
    fig = figure(fig, (1.1 * (ncols + 1) + 0.4, 1.25 * rows + 0.6))
    grid = fig.add_gridspec(rows, ncols + 1)
    shown, vmin, vmax = display_range(digit[None])
    ax = fig.add_subplot(grid[0, 0])
    show_digit(ax, shown[0], vmin, vmax, "input", fontsize=9)
    for row, (layer, fmap) in enumerate(zip(convs, maps)):
        top = float(fmap.max()) or 1.0
        bottom = min(float(fmap.min()), 0.0)
        for col in range(min(ncols, fmap.shape[-1])):
            ax = fig.add_subplot(grid[row, col + 1])
            ax.imshow(fmap[:, :, col], cmap="magma", vmin=bottom, vmax=top,
                      interpolation="nearest")
            ax.set(xticks=[], yticks=[])
            if col == 0:
                h, w, c = fmap.shape
                shown = f"\nfirst {ncols} of {c}" if c > ncols else ""
                ax.set_ylabel(f"{layer.name}\n{h}x{w}x{c}{shown}", fontsize=9)
            if row == 0:
                ax.set_title(f"map {col}", fontsize=8, pad=2)
    some = any(m.shape[-1] > ncols for m in maps)
    fig.suptitle(title or f"Feature maps of one digit through {rows} conv layer(s)"
                 + (f", at most {ncols} maps per layer" if some else ""))
    return fig
