"""Model builders: parameter counts, shapes, softmax outputs, trainability, argument checks."""

import keras
import numpy as np
import pytest

from mnist_lab import models


def images(x):
    """uint8 (N, 28, 28) -> float32 (N, 28, 28, 1) in [0, 1]."""
    return (x.astype("float32") / 255.0)[..., np.newaxis]


# (builder, keyword arguments, model.count_params())
PARAM_COUNTS = [
    (models.logistic_regression, {}, 7_850),
    (models.logistic_regression, {"input_shape": (784,)}, 7_850),
    (models.dense_network, {"hidden": ()}, 7_850),
    (models.dense_network, {"hidden": (128,), "activation": "sigmoid"}, 101_770),
    (models.dense_network, {"hidden": (128,), "activation": "relu"}, 101_770),
    (models.dense_network, {"hidden": (128,), "dropout": 0.2, "input_shape": (784,)}, 101_770),
    (models.dense_network, {"hidden": (256, 64)}, 218_058),
    (models.dense_network, {"hidden": (200, 60)}, 169_670),
    (models.dense_network, {"hidden": (200, 100, 60), "input_shape": (28, 28)}, 183_770),
    (models.conv_network, {"filters": (8,), "kernel_size": 5}, 46_298),
    (models.conv_network, {"filters": (8,), "kernel_size": 5, "pool": True}, 11_738),
    (models.conv_network, {"filters": (8, 16), "pool": True}, 5_994),
    (models.conv_network, {"filters": (8, 16, 32), "kernel_size": (5, 5, 3), "pool": True}, 8_394),
    (models.conv_network, {"filters": (8, 16), "pool": True, "hidden": (128, 64), "dropout": 0.25}, 45_226),
    (models.conv_network, {"input_shape": (28, 28)}, 46_298),
    (models.lenet5, {}, 61_706),
    (models.lenet5, {"input_shape": (28, 28)}, 61_706),
    (models.strided_convnet, {}, 354_002),
    (models.strided_convnet, {"dropout": 0.25}, 354_002),
    (models.batchnorm_convnet, {}, 354_538),
    (models.batchnorm_convnet, {"dropout": 0.0}, 354_538),
    (models.augmented_convnet, {}, 345_610),
    (models.augmented_convnet, {"augment": False, "dropout": 0.0}, 345_610),
]


def _id(case):
    builder, kwargs, _ = case
    return builder.__name__ + "".join(f"-{k}={v}" for k, v in kwargs.items())


@pytest.mark.parametrize("builder, kwargs, count", PARAM_COUNTS, ids=[_id(c) for c in PARAM_COUNTS])
def test_parameter_count(builder, kwargs, count):
    assert builder(**kwargs).count_params() == count


def test_conv_layer_counts():
    model = models.conv_network(filters=(8, 16), pool=True)
    assert model.get_layer("conv_1").count_params() == 208
    assert model.get_layer("conv_2").count_params() == 3_216


def test_batchnorm_convnet_trainable_and_moving_statistics():
    model = models.batchnorm_convnet()
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    frozen = sum(int(np.prod(w.shape)) for w in model.non_trainable_weights)
    # Each removed bias becomes a BN offset (beta): same trainable count as the plain convnet.
    assert trainable == models.strided_convnet().count_params() == 354_002
    assert frozen == 2 * (12 + 24 + 32 + 200) == 536  # moving mean and variance
    batchnorms = [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]
    assert len(batchnorms) == 4
    assert all(bn.center and not bn.scale and bn.momentum == 0.99 for bn in batchnorms)
    assert model.layers[-1].get_config()["activation"] == "softmax"
    tweaked = models.batchnorm_convnet(momentum=0.9)
    assert {layer.momentum for layer in tweaked.layers if isinstance(layer, keras.layers.BatchNormalization)} == {0.9}
    assert not isinstance(model.layers[-2], keras.layers.BatchNormalization)


DEFAULT_NAMES = {
    "logistic_regression": "logistic_regression",
    "dense_network": "dense_128_relu",
    "conv_network": "conv_8",
    "lenet5": "lenet5",
    "strided_convnet": "strided_convnet",
    "batchnorm_convnet": "batchnorm_convnet",
    "augmented_convnet": "augmented_convnet",
}


def test_augmented_convnet_follows_the_batch_norm_rules():
    model = models.augmented_convnet()
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    assert trainable == 344_778
    batchnorms = [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]
    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    assert len(batchnorms) == len(convs) == 7
    assert not any(conv.use_bias for conv in convs)
    assert all(bn.center and not bn.scale and bn.momentum == 0.9 for bn in batchnorms)
    assert model.get_layer("conv2_3").output.shape[1:] == (7, 7, 64)
    assert model.layers[0].name == "augmentation"
    assert "augmentation" not in [layer.name for layer in models.augmented_convnet(augment=False).layers]


def test_augmented_convnet_takes_its_own_augmentation():
    default = [layer.name for layer in models.augmented_convnet().layers[0].layers]
    flipped = models.augmented_convnet(augment_with=dict(rotation=5, shift=0.1, zoom=0.0, flip=True))
    assert "random_flip" not in default
    assert [layer.name for layer in flipped.layers[0].layers][0] == "random_flip"
    assert flipped.layers[0].get_layer("random_affine").rotation == 5


def test_augmentation_changes_images_only_in_training(digits):
    keras.utils.set_random_seed(0)        # before the layers are built: they draw their seeds then
    augment = models.augmentation(rotation=15, shift=0.1, zoom=0.1)
    x = images(digits[0][:16])
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(augment(x, training=False)), x)
    moved = keras.ops.convert_to_numpy(augment(x, training=True))
    assert moved.shape == x.shape
    changed = np.abs(moved - x).mean(axis=(1, 2, 3)) > 0.01
    assert changed.mean() > 0.5           # most digits moved
    assert moved.min() >= -1e-6 and moved.max() <= 1 + 1e-6
    white = keras.ops.convert_to_numpy(augment(np.ones_like(x), training=True))
    assert (white.mean(axis=(1, 2, 3)) < 0.99).mean() > 0.5   # black moved in; reflect or wrap stay white
    assert models.augmentation(rotation=0, shift=0, zoom=0)(x, training=True).shape == x.shape


def test_augmentation_keeps_each_datasets_labels(digits):
    digit_layers = [layer.name for layer in models.augmented_convnet().layers[0].layers]
    assert digit_layers == ["random_affine"]   # a mirrored 2 is no 2
    clothes = models.augmented_convnet(dataset="fashion_mnist").layers[0]
    assert [layer.name for layer in clothes.layers] == ["random_flip", "random_affine"]
    assert clothes.get_layer("random_affine").zoom == 0.0    # clothes are photographed upright, filling the frame
    keras.utils.set_random_seed(0)
    mirror = models.augmentation(rotation=0, shift=0, zoom=0, flip=True)
    x = images(digits[0][:32])
    flipped = keras.ops.convert_to_numpy(mirror(x, training=True))
    mirrored = [np.allclose(f, x_[:, ::-1]) for f, x_ in zip(flipped, x)]
    unchanged = [np.allclose(f, x_) for f, x_ in zip(flipped, x)]
    assert all(m or u for m, u in zip(mirrored, unchanged)) and 4 < sum(mirrored) < 28
    assert set(models.LABEL_PRESERVING) == {"mnist", "fashion_mnist"}


def test_every_builder_is_exported():
    assert set(models.BUILDERS) == set(DEFAULT_NAMES)
    assert all(getattr(models, name) is builder for name, builder in models.BUILDERS.items())


@pytest.mark.parametrize("name", sorted(models.BUILDERS))
def test_builders_start_with_input_and_are_uncompiled(name):
    model = models.BUILDERS[name]()
    assert isinstance(model, keras.Sequential)
    assert model.name == DEFAULT_NAMES[name]
    assert tuple(model.inputs[0].shape) == (None, 28, 28, 1)
    assert model.compiled is False
    assert getattr(model, "optimizer", None) is None


def test_model_names_describe_the_architecture():
    assert models.dense_network(hidden=(200, 60), activation="sigmoid").name == "dense_200_60_sigmoid"
    assert models.dense_network(hidden=()).name == "logistic_regression"
    assert models.conv_network(filters=(8, 16), pool=True).name == "conv_8_16_pool"


@pytest.mark.parametrize("builder, kwargs, shape", [
    (models.logistic_regression, {"input_shape": (784,)}, (784,)),
    (models.dense_network, {"input_shape": (28, 28)}, (28, 28)),
    (models.conv_network, {"input_shape": (28, 28)}, (28, 28)),
    (models.lenet5, {"input_shape": (28, 28)}, (28, 28)),
    (models.strided_convnet, {"input_shape": (28, 28)}, (28, 28)),
    (models.batchnorm_convnet, {"input_shape": (28, 28)}, (28, 28)),
    (models.augmented_convnet, {"input_shape": (28, 28)}, (28, 28)),
], ids=lambda v: getattr(v, "__name__", None))
def test_other_input_shapes(builder, kwargs, shape, digits):
    model = builder(**kwargs)
    assert tuple(model.inputs[0].shape) == (None, *shape)
    x = (digits[0][:4].astype("float32") / 255.0).reshape((4, *shape))
    assert tuple(model(x).shape) == (4, 10)


@pytest.mark.parametrize("name", sorted(models.BUILDERS))
def test_output_is_a_softmax_over_ten_classes(name, digits):
    model = models.BUILDERS[name]()
    probabilities = keras.ops.convert_to_numpy(model(images(digits[0][:4]), training=False))
    assert probabilities.shape == (4, 10)
    assert (probabilities >= 0).all()
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)


TRAINABLE = {
    **models.BUILDERS,
    "dense_network(dropout)": lambda: models.dense_network(hidden=(64,), dropout=0.2),
    "conv_network(pairs+dense)": lambda: models.conv_network(filters=(8, 16), pool=True, hidden=(64, 32)),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", list(TRAINABLE))
def test_training_lowers_the_loss_on_real_digits(name, digits):
    keras.utils.set_random_seed(1)
    x, y = images(digits[0][:64]), digits[1][:64]
    model = TRAINABLE[name]()
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=3e-3),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    # One batch of 64 per epoch: each epoch's loss is one step's training loss.
    losses = model.fit(x, y, batch_size=64, epochs=12, verbose=0).history["loss"]
    assert all(np.isfinite(losses))
    assert losses[-1] < 0.75 * losses[0], losses  # seen: 0.4-0.55 at worst, ~0.01 at best


@pytest.mark.parametrize("call, message", [
    (lambda: models.dense_network(activation="relux"), r"unknown activation 'relux'.*'relu', 'sigmoid'"),
    (lambda: models.dense_network(activation=None), r"activation must be a Keras activation name"),
    (lambda: models.conv_network(activation="swishy"), r"unknown activation 'swishy'"),
    (lambda: models.dense_network(hidden=(128, 0)), r"each entry of hidden must be a positive integer, got 0"),
    (lambda: models.dense_network(hidden=(-5,)), r"hidden must be a positive integer, got -5"),
    (lambda: models.dense_network(hidden="128"), r"hidden must be a tuple of positive integers"),
    (lambda: models.dense_network(hidden=(12.5,)), r"hidden must be a positive integer, got 12.5"),
    (lambda: models.conv_network(filters=(0,)), r"filters must be a positive integer, got 0"),
    (lambda: models.conv_network(filters=()), r"filters must name at least one conv layer"),
    (lambda: models.conv_network(kernel_size=0), r"kernel_size must be a positive integer, got 0"),
    (lambda: models.conv_network(filters=(8, 16), kernel_size=(5, -3)), r"kernel_size must be a positive integer"),
    (lambda: models.conv_network(filters=(8, 16), kernel_size=(5,)), r"one size per conv layer"),
    (lambda: models.conv_network(filters=(8, 16, 32), kernel_size=5, pool=True),
     r"conv layer 3: the feature map is 4x4, too small for a 5x5 kernel"),
    (lambda: models.conv_network(filters=(8,), kernel_size=29), r"feature map is 28x28, too small for a 29x29 kernel"),
    (lambda: models.conv_network(filters=(8, 16, 32, 64), kernel_size=(5, 5, 3, 1), pool=True),
     r"feature map is 1x1, too small for 2x2 pooling"),
    (lambda: models.dense_network(dropout=1.0), r"dropout must be a rate in \[0, 1\), got 1.0"),
    (lambda: models.dense_network(dropout=-0.1), r"dropout must be a rate in \[0, 1\)"),
    (lambda: models.conv_network(dropout=1.5), r"dropout must be a rate in \[0, 1\)"),
    (lambda: models.strided_convnet(dropout=1.0), r"dropout must be a rate in \[0, 1\)"),
    (lambda: models.batchnorm_convnet(dropout="half"), r"dropout must be a rate in \[0, 1\)"),
    (lambda: models.logistic_regression(input_shape=(32, 32, 3)), r"input_shape must be one of .*\(784,\)"),
    (lambda: models.dense_network(input_shape=784), r"input_shape must be one of"),
    (lambda: models.conv_network(input_shape=(784,)), r"input_shape must be one of \(28, 28, 1\), \(28, 28\), got"),
    (lambda: models.lenet5(input_shape=(28, 28, 3)), r"input_shape must be one of"),
    (lambda: models.strided_convnet(input_shape=(784,)), r"input_shape must be one of"),
    (lambda: models.batchnorm_convnet(input_shape=(32, 32, 1)), r"input_shape must be one of"),
    (lambda: models.augmented_convnet(dropout=2), r"dropout must be a rate in \[0, 1\)"),
    (lambda: models.batchnorm_convnet(momentum=1.0), r"momentum must be a number in \[0, 1\) .*got 1.0"),
    (lambda: models.augmented_convnet(momentum="fast"), r"momentum must be a number in \[0, 1\)"),
    (lambda: models.augmentation(rotation=-5), r"rotation \(degrees\) must be a number in \[0, 180\), got -5"),
    (lambda: models.augmentation(shift=1.5), r"shift must be a number in \[0, 1\), got 1.5"),
    (lambda: models.augmentation(zoom="a bit"), r"zoom must be a number in \[0, 1\)"),
    (lambda: models.augmentation(flip="yes"), r"flip must be True or False, got 'yes'"),
    (lambda: models.augmented_convnet(augment_with=10), r"augment_with must be a dict of augmentation\(\) arguments"),
    (lambda: models.augmented_convnet(dataset="cifar10"), r"unknown dataset 'cifar10'; expected one of mnist, fashion_mnist"),
], ids=lambda v: None if callable(v) else v[:40])
def test_bad_arguments_raise_clear_value_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()


@pytest.mark.parametrize("activation", ["relu", "sigmoid", "tanh", "elu", "gelu"])
def test_any_keras_activation_is_accepted(activation):
    model = models.dense_network(hidden=(16,), activation=activation)
    assert model.get_layer("hidden_1").activation is keras.activations.get(activation)
    conv = models.conv_network(filters=(4,), activation=activation)
    assert conv.get_layer("conv_1").activation is keras.activations.get(activation)


def test_dropout_layers_follow_each_hidden_layer():
    kinds = [type(layer).__name__ for layer in models.dense_network(hidden=(64, 32), dropout=0.2).layers]
    assert kinds == ["Flatten", "Dense", "Dropout", "Dense", "Dropout", "Dense"]
    assert "Dropout" not in [type(layer).__name__ for layer in models.dense_network(hidden=(64, 32)).layers]
