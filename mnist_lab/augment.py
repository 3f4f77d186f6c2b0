"""One random rotation, shift and zoom per image, applied as a single resampling.

Keras' ``RandomRotation``, ``RandomTranslation`` and ``RandomZoom`` each interpolate the image
again, so three in a row blur a 28x28 digit visibly. :class:`RandomAffine` draws the same three
transformations, combines them into one affine map and interpolates once.
"""

from __future__ import annotations

import math

from ._tf import tf  # noqa: F401  (quiet TensorFlow start-up, before keras)
import keras  # noqa: E402  (must come after the quiet TensorFlow import)
from keras import ops  # noqa: E402


def _fraction(value, name: str, below: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < below:
        raise ValueError(f"{name} must be a number in [0, {below}), got {value!r}")
    return float(value)


@keras.saving.register_keras_serializable(package="mnist_lab")
class RandomAffine(keras.layers.Layer):
    """Rotate by up to ``rotation`` degrees, shift by up to ``shift`` of the size, zoom by up to ``zoom``.

    Active only in training, like Keras' random layers; each image gets its own draw. Pixels moved in
    from outside the picture are black (``fill_value=0``), the background of MNIST.
    """

    def __init__(self, rotation=10.0, shift=0.1, zoom=0.1, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.rotation = _fraction(rotation, "rotation (degrees)", 180)
        self.shift = _fraction(shift, "shift", 1)
        self.zoom = _fraction(zoom, "zoom", 1)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def transforms(self, batch_size, height, width):
        """The ``(batch_size, 8)`` maps from output to input pixels that ``affine_transform`` takes."""
        def uniform(limit):
            return keras.random.uniform((batch_size,), -limit, limit, seed=self.seed_generator)

        angle = uniform(math.radians(self.rotation))
        scale = 1.0 + uniform(self.zoom)                     # > 1 draws the digit bigger
        shift_x, shift_y = uniform(self.shift * width), uniform(self.shift * height)
        cos, sin = ops.cos(angle) / scale, ops.sin(angle) / scale
        center_x, center_y = (width - 1) / 2, (height - 1) / 2
        # input = center + A (output - center - shift), A = rotation / scale
        x0, y0 = center_x + shift_x, center_y + shift_y
        zeros = ops.zeros_like(angle)
        return ops.stack([cos, -sin, center_x - cos * x0 + sin * y0,
                          sin, cos, center_y - sin * x0 - cos * y0, zeros, zeros], axis=1)

    def call(self, images, training=True):
        if not training:
            return images
        shape = ops.shape(images)
        transform = self.transforms(shape[0], images.shape[1], images.shape[2])
        return ops.image.affine_transform(images, transform, interpolation="bilinear",
                                          fill_mode="constant", fill_value=0.0)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "rotation": self.rotation, "shift": self.shift, "zoom": self.zoom,
                "seed": self.seed}
