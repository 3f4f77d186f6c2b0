"""Model builders for the MNIST series, from logistic regression to LeNet-5.

Each builder returns a fresh, uncompiled ``keras.Sequential`` that starts with
``keras.Input`` and ends with ``Dense(10, activation="softmax")``; compiling is
left to the notebook, so one architecture can be tried with several optimizers.
Input shapes: ``(28, 28, 1)`` (default), ``(28, 28)``, and for the dense
builders also ``(784,)``.
"""

from __future__ import annotations

from collections.abc import Mapping

from ._tf import tf  # noqa: F401  (quiet TensorFlow start-up, before keras)
import keras
from keras import layers

from . import augment, data

IMAGE_SHAPES = ((28, 28, 1), (28, 28))
FLAT_SHAPE = (784,)
NUM_CLASSES = 10
LABEL_PRESERVING = {
    "mnist": {"rotation": 10, "shift": 0.1, "zoom": 0.1, "flip": False},
    "fashion_mnist": {"rotation": 0, "shift": 0.1, "zoom": 0.0, "flip": True},
}
"""Augmentation that keeps each dataset's labels: a mirrored digit is no digit, a mirrored shirt is a shirt."""
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
        raise ValueError(f"activation must be a Keras activation name such as {_SOME_ACTIVATIONS}, "
                         f"got {activation!r}")
    try:
        keras.activations.get(activation)
    except ValueError:
        raise ValueError(f"unknown activation {activation!r}; "
                         f"use a Keras activation name such as {_SOME_ACTIVATIONS}") from None
    return activation


def _sizes(values, what: str) -> tuple[int, ...]:
    """A tuple of positive ints from a tuple/list (or a single int)."""
    if isinstance(values, (str, bytes)):
        raise ValueError(f"{what} must be a tuple of positive integers, got {values!r}")
    if not isinstance(values, (tuple, list)):
        values = (values,)
    return tuple(data.positive_int(v, f"each entry of {what}") for v in values)


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
    """Fully connected network: Flatten, hidden Dense layers of the given widths, then Dense(10, softmax).

    With ``dropout > 0`` a Dropout layer follows each hidden layer; ``hidden=()`` is logistic regression.
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
    """Multinomial logistic regression: one Dense(10, softmax) on the 784 pixels (7,850 parameters)."""
    return dense_network(hidden=(), input_shape=input_shape)


# --- convolutional models --------------------------------------------------


def conv_network(filters=(8,), kernel_size=5, pool=False, hidden=(), activation="relu", dropout=0.0,
                 input_shape=(28, 28, 1)) -> keras.Sequential:
    """Small convnet: one valid Conv2D per entry of ``filters`` (each optionally 2x2 max-pooled), then a dense head.

    ``kernel_size`` is one size for all conv layers or one per layer. A feature map too small for the
    next kernel or pooling raises ``ValueError``.
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
        kernels = (data.positive_int(kernel_size, "kernel_size"),) * len(filters)
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
                raise ValueError(f"pooling after conv layer {i}: the feature map is {side}x{side}, too small for "
                                 f"2x2 pooling; use a smaller kernel_size or fewer conv layers")
            stack.append(layers.MaxPooling2D(2, name=f"pool_{i}"))
            side //= 2
    stack.append(layers.Flatten(name="flatten"))
    stack += _dense_head(hidden, activation, dropout)

    name = _widths_name("conv", filters) + ("_pool" if pool else "")
    if hidden:
        name += "_" + _widths_name("dense", hidden)
    return keras.Sequential(stack, name=name)


def lenet5(input_shape=(28, 28, 1)) -> keras.Sequential:
    """LeNet-5 (LeCun et al., 1998) on 28x28 digits: tanh convs, average pooling, a softmax output.

    61,706 parameters. Simplified from the paper: ``padding="same"`` instead of 32x32 padding, C3 connected
    to all S2 maps, plain average pooling, standard tanh, softmax instead of RBF units.
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
    """Three ReLU convs that downsample by stride, not pooling (28 -> 14 -> 7), then Dense(200): 354,002 parameters."""
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
    """:func:`strided_convnet` with batch normalization after each conv and the Dense(200) layer.

    Those layers lose their bias, which the BN offset replaces; BN has no scale, redundant before ReLU.
    ``momentum`` is how much of its running averages each BN layer keeps per training step.
    354,538 parameters, 536 of them the non-trainable moving means and variances.
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
    """Random small rotations, shifts and zooms (and optional left-right flips), active only in training.

    ``rotation`` is in degrees, ``shift`` and ``zoom`` are fractions of the image size; pixels moved in
    are black, the background of MNIST. Rotation, shift and zoom are one :class:`~mnist_lab.augment.RandomAffine`
    layer, so each image is interpolated once, not three times.
    """
    rotation = _number_below(rotation, 180, "rotation (degrees)")
    shift, zoom = _number_below(shift, 1, "shift"), _number_below(zoom, 1, "zoom")
    if not isinstance(flip, bool):
        raise ValueError(f"flip must be True or False, got {flip!r}")
    return keras.Sequential([
        *([layers.RandomFlip("horizontal", name="random_flip")] if flip else []),
        augment.RandomAffine(rotation, shift, zoom, name="random_affine"),
    ], name=name)


def augmented_convnet(dropout=0.25, momentum=0.9, augment=True, input_shape=(28, 28, 1),
                      dataset="mnist", augment_with=None) -> keras.Sequential:
    """A deeper batch-normalized convnet with the :func:`augmentation` of ``dataset`` in front.

    Two blocks of three convs (32, then 64 channels; the third halves the map) and a 4x4 conv to 128
    channels, each block and the last conv followed by dropout. BN ``momentum`` 0.9 makes the running
    averages, and so the validation curves, right from the first epochs. ``augment=False`` leaves the
    augmentation out (it has no weights); ``augment_with``, the arguments of :func:`augmentation`, replaces
    ``LABEL_PRESERVING[dataset]``. Notebook 9 teaches this network.
    """
    dropout = _check_dropout(dropout)
    momentum = _number_below(momentum, 1, "momentum", hint=" (Keras' default is 0.99)")
    shape = _check_input_shape(input_shape, allow_flat=False)
    stack = _image_input(shape)
    data.check_name(dataset)
    if augment_with is not None and not isinstance(augment_with, Mapping):
        raise ValueError(f"augment_with must be a dict of augmentation() arguments or None, got {augment_with!r}")
    if augment:
        stack.append(augmentation(**(LABEL_PRESERVING[dataset] if augment_with is None else augment_with)))

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
