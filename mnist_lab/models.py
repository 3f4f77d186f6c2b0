"""Model builders for the course's MNIST series, from logistic regression to LeNet-5.

Each builder returns a fresh, UNCOMPILED ``keras.Sequential`` that starts with
``keras.Input`` and ends with ``Dense(10, activation="softmax")``, so every
model is compiled the same way in the notebooks::

    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])

Keeping compilation out of the builders lets a notebook compare optimizers and
learning rates on the same architecture. Parameter counts
(``model.count_params()``) are part of the lesson and pinned by the tests:

======================================================  ========
model                                                   params
======================================================  ========
``logistic_regression()``                                  7,850
``dense_network(hidden=(128,))``                         101,770
``dense_network(hidden=(200, 100, 60))``                 183,770
``conv_network(filters=(8,))``                            46,298
``conv_network(filters=(8,), pool=True)``                 11,738
``conv_network(filters=(8, 16), pool=True)``               5,994
``lenet5()``                                              61,706
``strided_convnet()``                                    354,002
``batchnorm_convnet()``                                  354,538
``augmented_convnet()``                                  345,610
======================================================  ========

Input shapes: ``(28, 28, 1)`` (default), ``(28, 28)``, and for the dense
builders also ``(784,)``, the flattened images of the early notebooks.

>>> from mnist_lab import models
>>> models.dense_network(hidden=(128,)).count_params()
101770
>>> models.BUILDERS["lenet5"]().count_params()
61706
"""

from __future__ import annotations

import operator

from ._tf import tf  # noqa: F401  (quiet TensorFlow start-up, before keras)
import keras
from keras import layers

from . import data

IMAGE_SHAPES = ((28, 28, 1), (28, 28))
FLAT_SHAPE = (784,)
NUM_CLASSES = 10
LABEL_PRESERVING = {
    "mnist": {"rotation": 10, "shift": 0.1, "zoom": 0.1, "flip": False},
    "fashion_mnist": {"rotation": 0, "shift": 0.1, "zoom": 0.0, "flip": True},
}
"""Augmentation that keeps each dataset's labels (notebook 9): digits lean and vary
in size but must not be mirrored; clothes are photographed upright and filling
the frame, and a mirrored shirt is still a shirt."""
_SOME_ACTIVATIONS = "'relu', 'sigmoid', 'tanh', 'elu', 'gelu'"


# --- argument checks -------------------------------------------------------


def _check_input_shape(input_shape, allow_flat: bool) -> tuple[int, ...]:
    allowed = IMAGE_SHAPES + ((FLAT_SHAPE,) if allow_flat else ())
    try:
        shape = tuple(int(d) for d in input_shape)
    except (TypeError, ValueError):
        shape = None
    if shape not in allowed:
        raise ValueError(f"input_shape must be one of {', '.join(map(str, allowed))}, got {input_shape!r}")
    return shape


def _check_activation(activation) -> str:
    if not isinstance(activation, str):
        raise ValueError(f"activation must be a Keras activation name such as {_SOME_ACTIVATIONS}, got {activation!r}")
    try:
        keras.activations.get(activation)
    except ValueError:
        raise ValueError(f"unknown activation {activation!r}; use a Keras activation name such as {_SOME_ACTIVATIONS}") from None
    return activation


def _positive_int(value, what: str) -> int:
    if isinstance(value, bool):
        raise ValueError(f"{what} must be a positive integer, got {value!r}")
    try:
        number = operator.index(value)
    except TypeError:
        raise ValueError(f"{what} must be a positive integer, got {value!r}") from None
    if number <= 0:
        raise ValueError(f"{what} must be a positive integer, got {value!r}")
    return number


def _sizes(values, what: str) -> tuple[int, ...]:
    """A tuple of positive ints from a tuple/list (or a single int)."""
    if isinstance(values, (str, bytes)):
        raise ValueError(f"{what} must be a tuple of positive integers, got {values!r}")
    if not isinstance(values, (tuple, list)):
        values = (values,)
    return tuple(_positive_int(v, f"each entry of {what}") for v in values)


def _check_dropout(dropout) -> float:
    try:
        rate = float(dropout)
    except (TypeError, ValueError):
        rate = float("nan")
    if isinstance(dropout, bool) or not 0.0 <= rate < 1.0:
        raise ValueError(f"dropout must be a rate in [0, 1), got {dropout!r}")
    return rate


def _number_below(value, top, what: str, hint: str = "") -> float:
    """``value`` as a float if it is a real number in [0, top); else a ValueError naming ``what``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < top:
        raise ValueError(f"{what} must be a number in [0, {top}){hint}, got {value!r}")
    return float(value)


# --- shared pieces ---------------------------------------------------------


def _normalized(layer, momentum: float, bn_name: str, relu_name: str) -> list:
    """``layer`` (built without bias), then batch norm by the rules (offset, no scale), then ReLU."""
    return [layer,
            layers.BatchNormalization(momentum=momentum, center=True, scale=False, name=bn_name),
            layers.Activation("relu", name=relu_name)]


def _image_input(shape: tuple[int, ...]) -> list:
    """Input layer, plus a Reshape to (28, 28, 1) when the channel axis is missing."""
    stack = [keras.Input(shape=shape, name="image")]
    if shape == (28, 28):
        stack.append(layers.Reshape((28, 28, 1), name="add_channel"))
    return stack


def _dense_head(hidden: tuple[int, ...], activation: str, dropout: float) -> list:
    """Hidden Dense layers (each optionally followed by Dropout), then the softmax output."""
    stack = []
    for i, width in enumerate(hidden, start=1):
        stack.append(layers.Dense(width, activation=activation, name=f"hidden_{i}"))
        if dropout > 0:
            stack.append(layers.Dropout(dropout, name=f"dropout_{i}"))
    stack.append(layers.Dense(NUM_CLASSES, activation="softmax", name="softmax"))
    return stack


def _widths_name(prefix: str, sizes: tuple[int, ...]) -> str:
    return "_".join([prefix, *map(str, sizes)])


# --- dense models ----------------------------------------------------------


def dense_network(hidden=(128,), activation="relu", dropout=0.0, input_shape=(28, 28, 1)) -> keras.Sequential:
    """Fully connected network: hidden Dense layers of the given widths, then Dense(10, softmax).

    The images are flattened to 784 values first (a weightless Flatten layer,
    or none when ``input_shape=(784,)``). With ``dropout > 0`` a Dropout layer
    follows each hidden layer. ``hidden=()`` is logistic regression.

    Parameters: ``(128,)`` gives 101,770 (with any activation), ``(256, 64)``
    218,058, ``(200, 60)`` 169,670, ``(200, 100, 60)`` 183,770.

    >>> model = dense_network(hidden=(200, 100, 60), activation="relu", dropout=0.25)
    >>> model.count_params()
    183770
    """
    hidden = _sizes(hidden, "hidden")
    activation = _check_activation(activation)
    dropout = _check_dropout(dropout)
    shape = _check_input_shape(input_shape, allow_flat=True)

    stack = [keras.Input(shape=shape, name="image")]
    if shape != FLAT_SHAPE:
        stack.append(layers.Flatten(name="flatten"))
    stack += _dense_head(hidden, activation, dropout)
    name = _widths_name("dense", hidden) + f"_{activation}" if hidden else "logistic_regression"
    return keras.Sequential(stack, name=name)


def logistic_regression(input_shape=(28, 28, 1)) -> keras.Sequential:
    """Multinomial logistic regression: one Dense(10, softmax) layer on the 784 pixels.

    The baseline of the series: 784 * 10 weights + 10 biases = 7,850 parameters.

    >>> logistic_regression(input_shape=(784,)).count_params()
    7850
    """
    return dense_network(hidden=(), input_shape=input_shape)


# --- convolutional models --------------------------------------------------


def conv_network(filters=(8,), kernel_size=5, pool=False, hidden=(), activation="relu", dropout=0.0,
                 input_shape=(28, 28, 1)) -> keras.Sequential:
    """Small convnet: Conv2D layers (valid padding), optional 2x2 max pooling, then a dense head.

    For each entry of ``filters`` a Conv2D with that many filters is added,
    followed by MaxPooling2D(2) when ``pool`` is true. ``kernel_size`` is one
    size for all conv layers or a tuple with one size per layer. After a
    Flatten come the optional ``hidden`` Dense layers (each followed by Dropout
    when ``dropout > 0``) and Dense(10, softmax). ``activation`` is used by the
    conv and hidden layers.

    Every valid 5x5 convolution shrinks the map by 4 and each pooling halves
    it (28 -> 24 -> 12 -> 8 -> 4), so a third conv needs a kernel of at most
    4; impossible geometry raises ``ValueError``.

    Parameters: ``filters=(8,)`` 46,298 (the conv alone 208); with
    ``pool=True`` 11,738; ``filters=(8, 16), pool=True`` 5,994;
    ``filters=(8, 16, 32), kernel_size=(5, 5, 3), pool=True`` 8,394.

    >>> conv_network(filters=(8, 16), kernel_size=5, pool=True).count_params()
    5994
    >>> conv_network(filters=(8, 16), pool=True, hidden=(128, 64)).output_shape
    (None, 10)
    """
    filters = _sizes(filters, "filters")
    if not filters:
        raise ValueError("filters must name at least one conv layer, e.g. filters=(8,)")
    if isinstance(kernel_size, (tuple, list)):
        kernels = _sizes(kernel_size, "kernel_size")
        if len(kernels) != len(filters):
            raise ValueError(f"kernel_size needs one size per conv layer: {len(filters)} filters "
                             f"{filters} but {len(kernels)} kernel sizes {kernels}")
    else:
        kernels = (_positive_int(kernel_size, "kernel_size"),) * len(filters)
    hidden = _sizes(hidden, "hidden")
    activation = _check_activation(activation)
    dropout = _check_dropout(dropout)
    shape = _check_input_shape(input_shape, allow_flat=False)

    stack = _image_input(shape)
    side = 28
    for i, (n, k) in enumerate(zip(filters, kernels), start=1):
        if k > side:
            raise ValueError(f"conv layer {i}: the feature map is {side}x{side}, too small for a {k}x{k} kernel "
                             f"(valid padding); use a smaller kernel_size or fewer conv layers")
        stack.append(layers.Conv2D(n, k, padding="valid", activation=activation, name=f"conv_{i}"))
        side = side - k + 1
        if pool:
            if side < 2:
                raise ValueError(f"pooling after conv layer {i}: the feature map is {side}x{side}, too small for 2x2 pooling; "
                                 f"use a smaller kernel_size or fewer conv layers")
            stack.append(layers.MaxPooling2D(2, name=f"pool_{i}"))
            side //= 2
    stack.append(layers.Flatten(name="flatten"))
    stack += _dense_head(hidden, activation, dropout)

    name = _widths_name("conv", filters) + ("_pool" if pool else "")
    if hidden:
        name += "_" + _widths_name("dense", hidden)
    return keras.Sequential(stack, name=name)


def lenet5(input_shape=(28, 28, 1)) -> keras.Sequential:
    """LeNet-5 after LeCun, Bottou, Bengio & Haffner (1998), adapted to 28x28 MNIST.

    Layers: C1 Conv2D(6, 5, padding="same", tanh) -> S2 AveragePooling2D(2) ->
    C3 Conv2D(16, 5, tanh) -> S4 AveragePooling2D(2) -> C5 Conv2D(120, 5, tanh)
    on the 5x5 map (so a 1x1x120 output, flattened) -> F6 Dense(84, tanh) ->
    Dense(10, softmax). Total: 61,706 parameters.

    What differs from the paper: the paper pads digits to 32x32 and uses valid
    convolutions (``padding="same"`` on 28x28 gives the same 28x28 C1 maps);
    C3 is fully connected to all six S2 maps instead of the paper's partial
    connection table; S2/S4 are plain averages, without the paper's trainable
    coefficient, bias and sigmoid; tanh is the standard one, not the scaled
    1.7159 * tanh(2x/3); and the output is a softmax trained with
    cross-entropy instead of Euclidean RBF units. The paper's network has
    about 60,000 trainable parameters.

    >>> lenet5().count_params()
    61706
    """
    shape = _check_input_shape(input_shape, allow_flat=False)
    stack = _image_input(shape) + [
        layers.Conv2D(6, 5, padding="same", activation="tanh", name="C1"),
        layers.AveragePooling2D(2, name="S2"),
        layers.Conv2D(16, 5, padding="valid", activation="tanh", name="C3"),
        layers.AveragePooling2D(2, name="S4"),
        layers.Conv2D(120, 5, padding="valid", activation="tanh", name="C5"),
        layers.Flatten(name="flatten"),
        layers.Dense(84, activation="tanh", name="F6"),
        layers.Dense(NUM_CLASSES, activation="softmax", name="softmax"),
    ]
    return keras.Sequential(stack, name="lenet5")


def strided_convnet(dropout=0.0, input_shape=(28, 28, 1)) -> keras.Sequential:
    """The second tutorial's convnet: three ReLU convs that downsample by stride, not pooling.

    Conv2D(12, 3) -> Conv2D(24, 6, strides=2) -> Conv2D(32, 6, strides=2), all
    ``padding="same"`` (maps 28 -> 14 -> 7), then Flatten, Dense(200, relu),
    optional Dropout(dropout) and Dense(10, softmax): 354,002 parameters.

    >>> strided_convnet(dropout=0.25).count_params()
    354002
    """
    dropout = _check_dropout(dropout)
    shape = _check_input_shape(input_shape, allow_flat=False)
    stack = _image_input(shape) + [
        layers.Conv2D(12, 3, padding="same", activation="relu", name="conv_1"),
        layers.Conv2D(24, 6, strides=2, padding="same", activation="relu", name="conv_2"),
        layers.Conv2D(32, 6, strides=2, padding="same", activation="relu", name="conv_3"),
        layers.Flatten(name="flatten"),
        layers.Dense(200, activation="relu", name="dense_200"),
    ]
    if dropout > 0:
        stack.append(layers.Dropout(dropout, name="dropout"))
    stack.append(layers.Dense(NUM_CLASSES, activation="softmax", name="softmax"))
    return keras.Sequential(stack, name="strided_convnet")


def batchnorm_convnet(dropout=0.3, momentum=0.99, input_shape=(28, 28, 1)) -> keras.Sequential:
    """:func:`strided_convnet` with batch normalization, following the usual rules.

    Each conv and the Dense(200) layer lose their bias (``use_bias=False``)
    and activation; BatchNormalization(center=True, scale=False) follows
    (its learned offset replaces the bias; a scale is redundant before ReLU),
    then Activation("relu"). Dropout comes after the dense block only, and the
    softmax layer is not normalized. ``momentum`` is how much of its running
    averages each BN layer keeps per training step (Keras' default 0.99;
    notebook 8 tries 0.9 on the validation set and finds no gain beyond noise).

    Parameters: 354,538 in total, of which 354,002 are trainable (the same as
    :func:`strided_convnet`: each removed bias becomes a BN offset) and 536 are
    the non-trainable moving means and variances, which ``count_params()``
    includes.

    >>> batchnorm_convnet().count_params()
    354538
    """
    dropout = _check_dropout(dropout)
    momentum = _number_below(momentum, 1, "momentum", hint=" (Keras' default is 0.99)")
    shape = _check_input_shape(input_shape, allow_flat=False)

    def normalized(layer, i):
        return _normalized(layer, momentum, f"bn_{i}", f"relu_{i}")

    stack = _image_input(shape)
    stack += normalized(layers.Conv2D(12, 3, padding="same", use_bias=False, name="conv_1"), 1)
    stack += normalized(layers.Conv2D(24, 6, strides=2, padding="same", use_bias=False, name="conv_2"), 2)
    stack += normalized(layers.Conv2D(32, 6, strides=2, padding="same", use_bias=False, name="conv_3"), 3)
    stack.append(layers.Flatten(name="flatten"))
    stack += normalized(layers.Dense(200, use_bias=False, name="dense_200"), 4)
    if dropout > 0:
        stack.append(layers.Dropout(dropout, name="dropout"))
    stack.append(layers.Dense(NUM_CLASSES, activation="softmax", name="softmax"))
    return keras.Sequential(stack, name="batchnorm_convnet")


def augmentation(rotation=10.0, shift=0.1, zoom=0.1, flip=False, name="augmentation") -> keras.Sequential:
    """Random small rotations, shifts and zooms, as Keras preprocessing layers.

    Put it first in a model: it changes the images only while training
    (``model.fit``) and passes them through unchanged in ``evaluate`` and
    ``predict``. ``rotation`` is in degrees (both ways), ``shift`` and
    ``zoom`` are fractions of the image size; ``flip=True`` also mirrors
    half of the images left to right (right for clothes, wrong for digits).
    Pixels moved in from outside the image are black (0), the background of
    MNIST and Fashion-MNIST. It has no weights. :data:`LABEL_PRESERVING`
    holds the settings for each dataset.

    >>> augment = augmentation(rotation=10, shift=0.1, zoom=0.1)
    >>> tuple(augment(keras.ops.zeros((2, 28, 28, 1))).shape), augment.count_params()
    ((2, 28, 28, 1), 0)
    """
    rotation = _number_below(rotation, 180, "rotation (degrees)")
    shift, zoom = _number_below(shift, 1, "shift"), _number_below(zoom, 1, "zoom")
    if not isinstance(flip, bool):
        raise ValueError(f"flip must be True or False, got {flip!r}")
    fill = {"fill_mode": "constant", "fill_value": 0.0}
    return keras.Sequential([
        *([layers.RandomFlip("horizontal", name="random_flip")] if flip else []),
        layers.RandomRotation(rotation / 360.0, **fill, name="random_rotation"),
        layers.RandomTranslation(shift, shift, **fill, name="random_shift"),
        layers.RandomZoom(zoom, **fill, name="random_zoom"),
    ], name=name)


def augmented_convnet(dropout=0.25, momentum=0.9, augment=True, input_shape=(28, 28, 1),
                      dataset="mnist") -> keras.Sequential:
    """A deeper batch-normalized convnet, with data augmentation in front (notebook 9).

    Two blocks of three convolutions each: 3x3, 3x3, then a 5x5 with stride
    2 that halves the image (28 -> 14 -> 7), 32 then 64 channels, then a
    4x4 convolution to 128 channels. Every convolution is followed by
    batch normalization (no bias, no scale: the rules of notebook 8) and
    ReLU; dropout follows each block and the last convolution, and a
    Dense(10) softmax classifies. BN ``momentum`` is 0.9, so that the
    running averages, and with them the validation curves that early
    stopping watches, are right from the first epochs (notebook 8: it makes
    no difference at the end of training). The :func:`augmentation` in
    front is the one :data:`LABEL_PRESERVING` gives for ``dataset``;
    ``augment=False`` leaves it out (it has no weights, so the count is the
    same).

    Parameters: 345,610 in total, 344,778 trainable and 832 moving
    statistics.

    >>> augmented_convnet().count_params()
    345610
    """
    dropout = _check_dropout(dropout)
    momentum = _number_below(momentum, 1, "momentum", hint=" (Keras' default is 0.99)")
    shape = _check_input_shape(input_shape, allow_flat=False)
    stack = _image_input(shape)
    data.check_name(dataset)
    if augment:
        stack.append(augmentation(**LABEL_PRESERVING[dataset]))

    def conv(filters, size, name, strides=1, padding="same"):
        layer = layers.Conv2D(filters, size, strides=strides, padding=padding, use_bias=False, name=name)
        return _normalized(layer, momentum, f"{name}_bn", f"{name}_relu")

    for block, filters in enumerate((32, 64), start=1):
        stack += conv(filters, 3, f"conv{block}_1")
        stack += conv(filters, 3, f"conv{block}_2")
        stack += conv(filters, 5, f"conv{block}_3", strides=2)
        if dropout > 0:
            stack.append(layers.Dropout(dropout, name=f"dropout_{block}"))
    stack += conv(128, 4, "conv3", padding="valid")
    stack.append(layers.Flatten(name="flatten"))
    if dropout > 0:
        stack.append(layers.Dropout(dropout, name="dropout_3"))
    stack.append(layers.Dense(NUM_CLASSES, activation="softmax", name="softmax"))
    return keras.Sequential(stack, name="augmented_convnet")


BUILDERS = {
    "logistic_regression": logistic_regression,
    "dense_network": dense_network,
    "conv_network": conv_network,
    "lenet5": lenet5,
    "strided_convnet": strided_convnet,
    "batchnorm_convnet": batchnorm_convnet,
    "augmented_convnet": augmented_convnet,
}
"""Builder functions by name, e.g. ``BUILDERS["lenet5"]()``; all run with their defaults."""
