"""Tests for mnist_lab.fonts: printed digits normalized like MNIST."""

import keras
import numpy as np
import pytest

from conftest import SHARED_MNIST, centre_of_mass, ink_box
from mnist_lab import data
from mnist_lab.fonts import FONTS, font_digits


@pytest.fixture(scope="module")
def fonts():
    return font_digits()


def test_shapes_dtypes_and_order(fonts):
    images, labels = fonts
    assert images.shape == (10 * len(FONTS), 28, 28)
    assert images.dtype == np.uint8 and labels.dtype == np.uint8
    # ordered by font, then digit: one of each digit per font
    np.testing.assert_array_equal(labels, np.tile(np.arange(10), len(FONTS)))


def test_white_ink_on_black_background(fonts):
    images, _ = fonts
    assert (images.max(axis=(1, 2)) > 200).all()          # real ink
    assert (images[:, [0, -1]][:, :, [0, -1]] == 0).all()  # black corners
    assert ((images == 0).mean(axis=(1, 2)) > 0.5).all()   # mostly background
    # anti-aliased: grey edge pixels, not a black-and-white stencil
    assert (((images > 0) & (images < 255)).sum(axis=(1, 2)) > 5).all()


def test_digit_fits_a_20x20_box(fonts):
    images, _ = fonts
    boxes = np.array([ink_box(image) for image in images])
    assert boxes.max() <= 20
    assert (boxes.max(axis=1) >= 19).all()  # and is scaled up to fill it


def test_centre_of_mass_at_14_14(fonts):
    # MNIST shifted each digit by whole pixels to put its centre of mass at
    # (14, 14), so it lands within 0.5 pixel of it; so must ours.
    images, _ = fonts
    rows, cols = np.array([centre_of_mass(image) for image in images]).T
    assert np.abs(rows - 14).max() <= 0.5
    assert np.abs(cols - 14).max() <= 0.5


def test_deterministic(fonts):
    images, labels = font_digits()
    np.testing.assert_array_equal(images, fonts[0])
    np.testing.assert_array_equal(labels, fonts[1])


def test_choosing_fonts(fonts):
    images, labels = font_digits(["DejaVu Serif", "DejaVu Sans"])
    assert images.shape == (20, 28, 28)
    np.testing.assert_array_equal(images[10:], fonts[0][:10])  # DejaVu Sans is also the first default font
    with pytest.raises(ValueError, match="unknown font"):
        font_digits(["Comic Sans"])


def test_fonts_look_different(fonts):
    images, _ = fonts
    by_font = images.reshape(len(FONTS), 10, 28, 28).astype(np.int16)
    for a in range(len(FONTS)):
        for b in range(a + 1, len(FONTS)):
            assert np.abs(by_font[a] - by_font[b]).mean() > 5, (list(FONTS)[a], list(FONTS)[b])


@pytest.fixture(scope="module")
def training_digits(request):
    """A few thousand real MNIST digits: the conftest fixture or the shared files."""
    try:
        x, y = request.getfixturevalue("mnist_small")
        if len(x) >= 2000:
            return x[:4000], y[:4000]
    except Exception:  # fixture missing, or its data source is unavailable
        pass
    if data.has_idx_files(SHARED_MNIST):
        (x, y), _ = data.load_data(data_dir=SHARED_MNIST)
        return x[:4000], y[:4000]
    pytest.skip("no real MNIST digits available (mnist_small fixture, or "
                f"{SHARED_MNIST}) to train the check classifier")


@pytest.mark.slow
def test_a_logistic_regression_trained_on_mnist_reads_them(fonts, training_digits):
    x, y = training_digits
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((784,)), keras.layers.Dense(10, activation="softmax")])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.01), loss="sparse_categorical_crossentropy")
    model.fit(x.reshape(len(x), 784) / 255.0, y, epochs=5, batch_size=64, verbose=0)
    images, labels = fonts
    predicted = model.predict(images.reshape(len(images), 784) / 255.0, verbose=0).argmax(axis=1)
    accuracy = (predicted == labels).mean()
    assert accuracy > 0.3, f"only {accuracy:.0%} of font digits recognized (chance: 10%)"
