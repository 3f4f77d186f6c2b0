"""``mnist-lab bench``: every stage of the series trained and compared, written to a report.

The training is :func:`mnist_lab.series.run_stages` (notebook 8's closing table runs it too); this
module adds what the command reports around it: the speed of the input pipeline
(:func:`pipeline_comparison`), ``results.md`` and ``results.png`` (:func:`write_report`,
:func:`plot_stages`) and a line saying on which data and machine (:func:`describe_run`).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .._tf import tf  # noqa: F401  (quiet TensorFlow start-up, before keras)
import keras

from .. import callbacks, data, models, experiment
from ..series import LOSS, markdown_table


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
        experiment.set_seed(seed)
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
