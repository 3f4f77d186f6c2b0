"""Every stage of the series trained the same way, for notebook 8's closing table and ``mnist-lab bench``.

Each stage's :class:`~mnist_lab.recipes.Recipe` is trained on one shared, seeded training/validation
split, once per seed, and evaluated once on the test set; :func:`markdown_table` shows the results
(parameters, seconds per epoch, images per second, best validation and test accuracy) next to the
full-MNIST figure the tutorials report.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from ._tf import tf  # noqa: F401  (quiet TensorFlow start-up, before keras)
import keras

from . import callbacks, data, experiment
from .recipes import STAGES, Recipe

LOSS = "sparse_categorical_crossentropy"


@dataclasses.dataclass
class StageResult:
    """A stage's runs over several seeds, summarised."""

    stage: Recipe
    runs: list[experiment.RunRecord]

    @property
    def test_accuracies(self) -> np.ndarray:
        return np.array([r.test_accuracy for r in self.runs], dtype=float)

    def row(self) -> list[str]:
        best_val = np.mean([r.best_val_accuracy for r in self.runs])
        return [self.stage.name, self.stage.notebook, f"{self.runs[0].params:,}",
                f"{np.mean([r.seconds_per_epoch for r in self.runs]):.2f}",
                f"{np.mean([r.images_per_second for r in self.runs]):,.0f}",
                f"{100 * best_val:.2f}%", experiment.mean_and_spread(self.test_accuracies), self.stage.reference]


HEADER = ["stage", "notebook", "parameters", "s/epoch", "images/s", "best val acc",
          "test acc (mean ± sd)", "tutorials, full MNIST"]


def split_and_scale(x_train, y_train, x_test, val_size=0.1, seed=0, train_size=None):
    """Scale, add the channel axis and split: the inputs every stage takes."""
    (xt, yt), (xv, yv) = data.train_val_split(x_train, y_train, val_size=val_size, seed=seed,
                                              train_size=train_size)
    prep = lambda x: data.add_channel(data.scale(x))  # noqa: E731
    return (prep(xt), yt), (prep(xv), yv), prep(x_test)


def run_stage(stage: Recipe, train_split, val_split, test_split, epochs: int, seed: int,
              dataset: str = "mnist") -> experiment.RunRecord:
    """Train one stage once from a fresh seed; evaluate it on the test set once.

    The model evaluated is the epoch with the best validation accuracy
    (restored at the end of training): selection on the validation set only.
    ``dataset`` picks the augmentation of a ``per_dataset`` stage.
    """
    (x_train, y_train), (x_val, y_val), (x_test, y_test) = train_split, val_split, test_split
    experiment.set_seed(seed)
    model = stage.model(dataset=dataset) if stage.per_dataset else stage.model()
    model.compile(optimizer=stage.make_optimizer(), loss=LOSS, metrics=["accuracy"])
    timer = callbacks.EpochTimer()
    history = model.fit(x_train, y_train, batch_size=stage.batch_size, epochs=epochs,
                        validation_data=(x_val, y_val), verbose=0,
                        callbacks=[timer, *stage.callbacks(), keras.callbacks.EarlyStopping(
                            monitor="val_accuracy", patience=epochs, restore_best_weights=True)])
    _, test_accuracy = model.evaluate(x_test, y_test, batch_size=1000, verbose=0)
    steady = float(np.mean(timer.epoch_seconds[1:] or timer.epoch_seconds))  # epoch 1 includes tracing
    record = experiment.RunRecord.from_fit(stage.name, model, history, timer=timer, test_accuracy=test_accuracy,
                                      images_per_second=len(x_train) / steady)
    return dataclasses.replace(record, seconds_per_epoch=steady)


def run_stages(x_train, y_train, x_test, y_test, epochs: int = 10, seeds: Sequence[int] = (0,),
               stages: Sequence[Recipe] = STAGES, val_size=0.1, train_size=None, log=print,
               dataset: str = "mnist") -> list[StageResult]:
    """Train every stage for ``epochs`` epochs, once per seed; return their results.

    All stages share one training/validation split (seeded with 0, like the
    notebooks' default); the seeds vary the initial weights and the order of
    the batches. ``dataset`` names the data, for the stages whose model
    depends on it (notebook 9's augmentation). Seconds per epoch and images
    per second leave out the first epoch, which includes tracing the model.
    """
    if epochs < 1:
        raise ValueError(f"epochs must be at least 1, got {epochs}")
    if not seeds:
        raise ValueError("seeds must name at least one seed")
    train_split, val_split, x_test_prep = split_and_scale(x_train, y_train, x_test, val_size=val_size,
                                                  train_size=train_size)
    results = []
    for stage in stages:
        if log:
            log(f"{stage.name} (notebook {stage.notebook})")
        runs = []
        for seed in seeds:
            record = run_stage(stage, train_split, val_split, (x_test_prep, y_test), epochs, seed, dataset=dataset)
            if log:
                log(f"  seed {seed}: {record}")
            runs.append(record)
        results.append(StageResult(stage, runs))
    return results


def markdown_table(results: Sequence[StageResult]) -> str:
    """The results as a Markdown table (one row per stage)."""
    lines = ["| " + " | ".join(HEADER) + " |",
             "|:--|:-:|" + "--:|" * (len(HEADER) - 3) + ":--|"]
    lines += ["| " + " | ".join(r.row()) + " |" for r in results]
    return "\n".join(lines)
