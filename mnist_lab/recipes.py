"""The recipe of every stage of the series: the one place that says how each notebook's final model is trained.

A :class:`Recipe` names the model builder and its arguments, the optimizer and learning rate, the
learning-rate decay, the batch size, the epochs and the seed of a notebook, and what the source
tutorials report for that kind of model. The notebooks write their Keras code out where they teach it;
``mnist-lab bench``, :mod:`mnist_lab.series`, the multi-worker script and the validation experiments
read the recipe from here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from ._tf import tf  # noqa: F401  (quiet TensorFlow start-up, before keras)
import keras

from . import callbacks, models, experiment


@dataclasses.dataclass(frozen=True)
class Recipe:
    """One rung of the ladder: how its notebook builds and trains the final model."""

    name: str
    notebook: str
    build: Callable[..., keras.Model]   # a builder of mnist_lab.models ...
    model_args: dict                    # ... and the arguments the notebook's model has
    optimizer: str                      # "sgd" or "adam"
    learning_rate: float                # the first epoch's rate when the rate decays
    batch_size: int
    epochs: int                         # the notebook's training length
    seed: int                           # the notebook's seed
    decay: float | None = None          # exponential learning-rate decay factor per epoch, or constant
    reference: str = ""                 # what the source tutorials report on full MNIST
    per_dataset: bool = False           # model(dataset=...): the model depends on the data (augmentation)

    def model(self, **overrides) -> keras.Model:
        """A fresh, uncompiled model of this recipe; ``overrides`` replace or add builder arguments."""
        return self.build(**{**self.model_args, **overrides})

    def make_optimizer(self):
        if self.optimizer == "sgd":
            return keras.optimizers.SGD(learning_rate=self.learning_rate)
        return keras.optimizers.Adam(learning_rate=self.learning_rate)

    def callbacks(self):
        if self.decay is None:
            return []
        return [callbacks.learning_rate_callback(experiment.exponential_decay(self.learning_rate, self.decay))]


STAGES: tuple[Recipe, ...] = (
    Recipe("logistic regression", "02", models.logistic_regression, {}, "sgd", 0.01, 100, epochs=100, seed=0,
           reference="about 92%"),
    Recipe("dense 256-64, Adam", "03", models.dense_network, {"hidden": (256, 64)}, "adam", 0.001, 100,
           epochs=20, seed=0, reference="about 97% (200-60)"),
    Recipe("dense 200-60, lr decay", "04", models.dense_network, {"hidden": (200, 60)}, "adam", 0.01, 100,
           epochs=20, seed=0, decay=0.6, reference="above 98%"),
    Recipe("dense 200-100-60, dropout", "05", models.dense_network, {"hidden": (200, 100, 60), "dropout": 0.25},
           "adam", 0.003, 100, epochs=30, seed=0, decay=0.9, reference="about 98%"),
    Recipe("conv/pool pairs + dense", "06", models.conv_network,
           {"filters": (8, 16), "kernel_size": 5, "pool": True, "hidden": (256, 64)}, "adam", 0.001, 100,
           epochs=15, seed=0, reference="above 99%"),
    Recipe("strided convnet", "07", models.strided_convnet, {}, "adam", 0.01, 128, epochs=15, seed=1, decay=0.6,
           reference="close to 99%"),
    Recipe("strided convnet + dropout", "07", models.strided_convnet, {"dropout": 0.25}, "adam", 0.01, 128,
           epochs=15, seed=1, decay=0.6, reference="above 99%"),
    Recipe("batch-norm convnet", "08", models.batchnorm_convnet, {"dropout": 0.3}, "adam", 0.01, 64,
           epochs=15, seed=1, decay=0.666, reference="99.5%"),
    Recipe("augmented deeper BN convnet", "09", models.augmented_convnet, {"dropout": 0.25, "momentum": 0.9},
           "adam", 0.003, 64, epochs=30, seed=0, decay=0.9, per_dataset=True),
)


def stages_through(notebook: str) -> tuple[Recipe, ...]:
    """The stages of notebooks up to and including ``notebook`` (e.g. ``"08"``).

    >>> [stage.notebook for stage in stages_through("03")]
    ['02', '03']
    """
    known = sorted({stage.notebook for stage in STAGES})
    if notebook not in known:
        raise ValueError(f"no stage comes from notebook {notebook!r}; expected one of {known}")
    return tuple(stage for stage in STAGES if stage.notebook <= notebook)


def final_recipe(notebook: str) -> Recipe:
    """The recipe of ``notebook``'s final model (its last stage), e.g. ``final_recipe("08")``."""
    return stages_through(notebook)[-1]
