"""RandomAffine: rotation, shift and zoom drawn per image and applied in one interpolation."""

import keras
import numpy as np
import pytest

from mnist_lab import augment, data


def images(x):
    return data.add_channel(data.scale(x))


def test_no_rotation_shift_or_zoom_is_the_identity(digits):
    x = images(digits[0][:8])
    out = keras.ops.convert_to_numpy(augment.RandomAffine(0, 0, 0)(x, training=True))
    np.testing.assert_allclose(out, x, atol=1e-6)


def test_zoom_alone_draws_the_digit_bigger_or_smaller_about_the_centre():
    square = np.zeros((64, 28, 28, 1), dtype="float32")
    square[:, 10:18, 10:18] = 1.0
    out = keras.ops.convert_to_numpy(augment.RandomAffine(0, 0, 0.3, seed=1)(square, training=True))
    ink = out.sum(axis=(1, 2, 3))
    assert ink.min() < 0.85 * 64 and ink.max() > 1.15 * 64   # zoomed out and in, up to 1.3 squared
    rows = np.arange(28)[:, None]
    centre = (out[..., 0] * rows).sum(axis=(1, 2)) / ink
    np.testing.assert_allclose(centre, 13.5, atol=0.05)       # about the image centre, not a corner


def test_shift_alone_moves_ink_without_blurring_whole_pixel_moves():
    x = np.zeros((200, 28, 28, 1), dtype="float32")
    x[:, 12:16, 12:16] = 1.0
    out = keras.ops.convert_to_numpy(augment.RandomAffine(0, 0.1, 0, seed=3)(x, training=True))
    np.testing.assert_allclose(out.sum(axis=(1, 2, 3)), 16, rtol=1e-4)   # the square stays whole
    moved = np.abs(out - x).sum(axis=(1, 2, 3)) > 0.1
    assert moved.mean() > 0.8


def test_one_interpolation_keeps_digits_sharper_than_three_keras_layers(digits):
    keras.utils.set_random_seed(0)
    x = images(digits[0][:64])
    one = keras.ops.convert_to_numpy(augment.RandomAffine(10, 0.1, 0.1)(x, training=True))
    fill = {"fill_mode": "constant", "fill_value": 0.0}
    three = keras.Sequential([keras.layers.RandomRotation(10 / 360, **fill), keras.layers.RandomTranslation(0.1, 0.1, **fill),
                              keras.layers.RandomZoom(0.1, **fill)])
    chained = keras.ops.convert_to_numpy(three(x, training=True))
    solid = lambda a: float(np.mean(a > 0.9))  # noqa: E731  (fully inked pixels: blurring turns them grey)
    assert solid(chained) < solid(one) < solid(x)


def test_inactive_outside_training_and_saved_with_the_model(digits, tmp_path):
    x = images(digits[0][:4])
    model = keras.Sequential([keras.Input((28, 28, 1)), augment.RandomAffine(12, 0.05, 0.2, name="affine"),
                              keras.layers.Flatten(), keras.layers.Dense(10)])
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(model.layers[0](x, training=False)), x)
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    assert (loaded.get_layer("affine").rotation, loaded.get_layer("affine").zoom) == (12, 0.2)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)


@pytest.mark.parametrize("kwargs, message", [
    (dict(rotation=180), r"rotation \(degrees\) must be a number in \[0, 180\)"),
    (dict(shift=-0.1), r"shift must be a number in \[0, 1\)"),
    (dict(zoom="0.1"), r"zoom must be a number in \[0, 1\), got '0.1'"),
])
def test_bad_settings_get_one_line(kwargs, message):
    with pytest.raises(ValueError, match=message):
        augment.RandomAffine(**kwargs)
