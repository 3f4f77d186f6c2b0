"""Benchmark every stage of the series: the final model of each notebook.

``mnist-lab bench`` trains each stage on the data found, with a seeded
validation split, for a few seeds, and reports parameters, seconds per epoch,
training images per second, best validation accuracy and test accuracy (mean
and spread over seeds) next to the full-MNIST figure the tutorials report.
The last notebook calls :func:`run_stages` for its closing table;
:func:`markdown_table` and :func:`plot_stages` show the results.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from .._tf import tf  # noqa: F401  (quiet TensorFlow start-up, before keras)
import keras

from .. import callbacks, data, models, train

LOSS = "sparse_categorical_crossentropy"


@dataclasses.dataclass(frozen=True)
class Stage:
    """One rung of the ladder: how its notebook builds and trains the final model."""

    name: str
    notebook: str
    build: Callable[..., keras.Model]
    optimizer: str                 # "sgd" or "adam"
    batch_size: int
    decay: float | None = None     # exponential learning-rate decay factor per epoch, or constant
    reference: str = ""            # what the source tutorials report on full MNIST
    learning_rate: float = 0.01    # the first epoch's rate when the rate decays
    per_dataset: bool = False      # build(dataset=...): the model depends on the data (augmentation)

    def make_optimizer(self):
        if self.decay is not None:
            return keras.optimizers.Adam(learning_rate=self.learning_rate)
        return keras.optimizers.SGD(learning_rate=0.01) if self.optimizer == "sgd" else keras.optimizers.Adam()

    def callbacks(self):
        if self.decay is None:
            return []
        return [callbacks.learning_rate_callback(train.exponential_decay(self.learning_rate, self.decay))]


STAGES: tuple[Stage, ...] = (
    Stage("logistic regression", "02", models.logistic_regression, "sgd", 100,
          reference="about 92%"),
    Stage("dense 256-64, Adam", "03", lambda: models.dense_network((256, 64)), "adam", 100,
          reference="about 97% (200-60)"),
    Stage("dense 200-60, lr decay", "04", lambda: models.dense_network((200, 60)), "adam", 100, decay=0.6,
          reference="above 98%"),
    Stage("dense 200-100-60, dropout", "05", lambda: models.dense_network((200, 100, 60), dropout=0.25),
          "adam", 100, decay=0.6, reference="about 98%"),
    Stage("conv/pool pairs + dense", "06",
          lambda: models.conv_network((8, 16), kernel_size=5, pool=True, hidden=(256, 64)), "adam", 100,
          reference="above 99%"),
    Stage("strided convnet", "07", models.strided_convnet, "adam", 128, decay=0.6,
          reference="close to 99%"),
    Stage("strided convnet + dropout", "07", lambda: models.strided_convnet(dropout=0.25), "adam", 128,
          decay=0.6, reference="above 99%"),
    Stage("batch-norm convnet", "08", lambda: models.batchnorm_convnet(dropout=0.3), "adam", 64,
          decay=0.666, reference="99.5%"),
    Stage("augmented deeper BN convnet", "09", models.augmented_convnet, "adam", 64, decay=0.9,
          learning_rate=0.003, reference="", per_dataset=True),
)


def stages_through(notebook: str) -> tuple[Stage, ...]:
    """The stages of notebooks up to and including ``notebook`` (e.g. ``"08"``).

    >>> [stage.notebook for stage in stages_through("03")]
    ['02', '03']
    """
    known = sorted({stage.notebook for stage in STAGES})
    if notebook not in known:
        raise ValueError(f"no stage comes from notebook {notebook!r}; expected one of {known}")
    return tuple(stage for stage in STAGES if stage.notebook <= notebook)


@dataclasses.dataclass
class StageResult:
    """A stage's runs over several seeds, summarised."""

    stage: Stage
    runs: list[train.RunRecord]

    @property
    def test_accuracies(self) -> np.ndarray:
        return np.array([r.test_accuracy for r in self.runs], dtype=float)

    def row(self) -> list[str]:
        best_val = np.mean([r.best_val_accuracy for r in self.runs])
        return [self.stage.name, self.stage.notebook, f"{self.runs[0].params:,}",
                f"{np.mean([r.seconds_per_epoch for r in self.runs]):.2f}",
                f"{np.mean([r.images_per_second for r in self.runs]):,.0f}",
                f"{100 * best_val:.2f}%", train.mean_and_spread(self.test_accuracies), self.stage.reference]


HEADER = ["stage", "notebook", "parameters", "s/epoch", "images/s", "best val acc",
          "test acc (mean ± sd)", "tutorials, full MNIST"]


def prepare(x_train, y_train, x_test, val_size=0.1, seed=0, train_size=None):
    """Scale, add the channel axis and split: the inputs every stage takes."""
    (xt, yt), (xv, yv) = data.train_val_split(x_train, y_train, val_size=val_size, seed=seed,
                                              train_size=train_size)
    prep = lambda x: data.add_channel(data.scale(x))  # noqa: E731
    return (prep(xt), yt), (prep(xv), yv), prep(x_test)


def run_stage(stage: Stage, train_split, val_split, test_split, epochs: int, seed: int,
              dataset: str = "mnist") -> train.RunRecord:
    """Train one stage once from a fresh seed; evaluate it on the test set once.

    The model evaluated is the epoch with the best validation accuracy
    (restored at the end of training): selection on the validation set only.
    ``dataset`` picks the augmentation of a ``per_dataset`` stage.
    """
    (x_train, y_train), (x_val, y_val), (x_test, y_test) = train_split, val_split, test_split
    train.set_seed(seed)
    model = stage.build(dataset=dataset) if stage.per_dataset else stage.build()
    model.compile(optimizer=stage.make_optimizer(), loss=LOSS, metrics=["accuracy"])
    timer = callbacks.EpochTimer()
    history = model.fit(x_train, y_train, batch_size=stage.batch_size, epochs=epochs,
                        validation_data=(x_val, y_val), verbose=0,
                        callbacks=[timer, *stage.callbacks(), keras.callbacks.EarlyStopping(
                            monitor="val_accuracy", patience=epochs, restore_best_weights=True)])
    _, test_accuracy = model.evaluate(x_test, y_test, batch_size=1000, verbose=0)
    steady = float(np.mean(timer.epoch_seconds[1:] or timer.epoch_seconds))  # epoch 1 includes tracing
    record = train.RunRecord.from_fit(stage.name, model, history, timer=timer, test_accuracy=test_accuracy,
                                      images_per_second=len(x_train) / steady)
    return dataclasses.replace(record, seconds_per_epoch=steady)


def run_stages(x_train, y_train, x_test, y_test, epochs: int = 10, seeds: Sequence[int] = (0,),
               stages: Sequence[Stage] = STAGES, val_size=0.1, train_size=None, log=print,
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
    train_split, val_split, x_test_prep = prepare(x_train, y_train, x_test, val_size=val_size,
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


def pipeline_comparison(x_train, y_train, epochs: int = 3, batch_size: int = 100, seed: int = 0) -> dict:
    """Images per second of one model fed by ``data.make_dataset`` and by plain arrays.

    Same model (dense 256-64), same data, same batch size, measured in the
    same process; the first epoch (tracing) is left out of both.
    """
    if epochs < 2:
        raise ValueError("pipeline_comparison needs at least 2 epochs (the first one is not timed)")
    x = data.add_channel(data.scale(x_train))
    speeds = {}
    for feed in ("numpy", "tf.data"):
        train.set_seed(seed)
        model = models.dense_network((256, 64))
        model.compile(optimizer="adam", loss=LOSS, metrics=["accuracy"])
        timer = callbacks.EpochTimer()
        if feed == "numpy":
            model.fit(x, y_train, batch_size=batch_size, epochs=epochs, callbacks=[timer], verbose=0)
        else:
            ds = data.make_dataset(x, y_train, batch_size=batch_size, seed=seed)
            model.fit(ds, epochs=epochs, callbacks=[timer], verbose=0, shuffle=False)  # the dataset shuffles
        speeds[feed] = len(x) / float(np.mean(timer.epoch_seconds[1:]))
    speeds["ratio"] = speeds["tf.data"] / speeds["numpy"]
    return speeds


def markdown_table(results: Sequence[StageResult]) -> str:
    """The results as a Markdown table (one row per stage)."""
    lines = ["| " + " | ".join(HEADER) + " |",
             "|:--|:-:|" + "--:|" * (len(HEADER) - 3) + ":--|"]
    lines += ["| " + " | ".join(r.row()) + " |" for r in results]
    return "\n".join(lines)


def write_report(results, out: Path, title: str, speeds: dict | None = None) -> tuple[Path, Path]:
    """Write ``results.md`` and ``results.png`` into ``out`` (refusing to overwrite them)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    md, png = out / "results.md", out / "results.png"
    for path in (md, png):
        if path.exists():
            raise FileExistsError(f"{path} exists; choose another --out or remove it")
    text = [f"# {title}", "", markdown_table(results), ""]
    if speeds:
        text += [f"Input pipeline (dense 256-64, same run): NumPy arrays {speeds['numpy']:,.0f} images/s, "
                 f"`mnist_lab.data.make_dataset` {speeds['tf.data']:,.0f} images/s, "
                 f"ratio {speeds['ratio']:.2f}.", ""]
    md.write_text("\n".join(text))
    fig = plot_stages(results, title=title)
    fig.savefig(png, dpi=120)
    return md, png


def plot_stages(results, title=None, fig=None):
    """The series at a glance: test accuracy and training speed of every stage.

    ``results`` is what :func:`run_stages` returns. Left: mean test accuracy
    per stage with the spread over seeds as an error bar; right: seconds per
    epoch. ``fig``: an empty matplotlib Figure or SubFigure to draw into.
    """
    from .. import _drawing

    results = list(results)
    if not results:
        raise ValueError("plot_stages needs at least one stage result")
    names = [f"{r.stage.notebook} {r.stage.name}" for r in results]
    acc = [100 * r.test_accuracies for r in results]
    means = np.array([a.mean() for a in acc])
    spread = np.array([a.std(ddof=1) if len(a) > 1 else 0.0 for a in acc])
    seconds = np.array([np.mean([run.seconds_per_epoch for run in r.runs]) for r in results])
    fig = _drawing.figure(fig, (11, 0.45 * len(results) + 1.8))
    left, right = fig.subplots(1, 2, sharey=True, width_ratios=[3, 2])
    y = np.arange(len(results))[::-1]
    left.barh(y, means, xerr=spread, color="tab:blue", capsize=3)
    for yi, m, s in zip(y, means, spread):
        left.text(m + s, yi, f"  {m:.2f}%", va="center", fontsize=8)
    left.set_xlim(max(0.0, means.min() - 5), 100.5)
    left.set_yticks(y, names)
    left.set_xlabel("test accuracy (%), mean ± sd over seeds")
    right.barh(y, seconds, color="tab:orange")
    right.set_xlabel("seconds per epoch")
    for ax in (left, right):
        ax.grid(axis="x", alpha=0.3)
    fig.suptitle(title or "Every stage of the series", fontsize=10)
    return fig


def describe_run(dataset: str, n_train: int, n_val: int, n_test: int, epochs: int, seeds: Sequence[int]) -> str:
    """One line saying on which data and settings the numbers were obtained."""
    import os
    import platform

    return (f"{dataset}: {n_train:,} training / {n_val:,} validation / {n_test:,} test images; "
            f"{epochs} epochs; seeds {', '.join(map(str, seeds))}; {platform.machine()}, "
            f"{os.cpu_count()} CPU cores, TensorFlow {tf.__version__}, Keras {keras.__version__}; "
            f"{time.strftime('%Y-%m-%d')}")
