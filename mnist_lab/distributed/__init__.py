"""Training on several devices or machines with ``tf.distribute``.

``strategy``: choose a strategy, global batch and learning rate, distributed
datasets, a multi-worker training step. ``workers``: start N local workers,
each with its own ``TF_CONFIG``. ``train``: the training script they run
(``python -m mnist_lab.distributed.train``).

Notebooks write ``from mnist_lab import distributed`` and call
``distributed.choose_strategy()`` and the other names of ``strategy``
directly. They load on first use, so ``mnist-lab workers`` starts without
importing TensorFlow.
"""

STRATEGY_API = (
    "TF_CONFIG_ENV", "WORKER_JOBS", "parse_tf_config", "num_workers", "is_chief", "tpu_signalled", "describe_strategy",
    "choose_strategy", "global_batch_size", "scaled_learning_rate", "dataset_for", "distributed_dataset",
    "make_train_step", "sync_moving_statistics", "evaluate_accuracy", "Throughput",
)


def __getattr__(name):
    if name not in STRATEGY_API:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from . import strategy

    return getattr(strategy, name)


def __dir__():
    return sorted(set(globals()) | set(STRATEGY_API))
