"""Train on more than one device with ``tf.distribute``: a TPU, several GPUs, several machines.

:func:`choose_strategy` picks the strategy that fits where the code runs and
prints one line saying which, with how many replicas:

=====================================================  =====================================
where                                                  strategy
=====================================================  =====================================
``TF_CONFIG`` describes a cluster of workers            ``MultiWorkerMirroredStrategy``
a TPU is attached (Colab, Cloud TPU VM)                 ``TPUStrategy``
two or more local GPUs                                  ``MirroredStrategy`` (all of them)
anything else (one GPU, or a CPU)                       the default strategy (one replica)
=====================================================  =====================================

All of them do **synchronous data parallelism**: every replica holds a copy
of the model, each step splits the *global* batch between the replicas, and
the gradients are summed across replicas before every copy applies the same
update. So the batch that one update sees is :func:`global_batch_size`
images, and the learning rate may need :func:`scaled_learning_rate`.

Training code, the same for every strategy::

    strategy = choose_strategy()                 # first, before other TensorFlow work
    with strategy.scope():                       # variables are created per replica here
        model = models.batchnorm_convnet()
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(dataset_for(strategy, x, y, per_replica_batch=64), epochs=5, shuffle=False)

**Keras and several workers.** ``model.fit`` works under the default strategy, ``MirroredStrategy`` and
``TPUStrategy``, but not under ``MultiWorkerMirroredStrategy``
(keras-team/keras#20585): before the first step it reduces a whole input
batch with ``strategy.reduce`` (which that strategy cannot do for a nested
batch), and its per-step metric reduction asks for ``axis=0`` on scalars.
For several workers, train with :func:`make_train_step` instead: a training
step written with ``strategy.run`` and ``strategy.reduce`` (still
``tf.distribute``, and it works under every strategy). Keras 3's batch
normalization also keeps its moving averages per replica;
:func:`sync_moving_statistics` averages them, so
every worker ends with the same model.

:mod:`mnist_lab.distributed.workers` (``mnist-lab workers N -- COMMAND``) starts N local
workers to try multi-worker training on one machine, and
``python -m mnist_lab.distributed.train`` is a training script for it.
"""

from __future__ import annotations

from .._tf import tf  # noqa: F401  (quiet TensorFlow start-up, before keras)
import keras

import glob
import json
import math
import os
import time
import weakref
from typing import Callable

import numpy as np

from .. import data

TF_CONFIG_ENV = "TF_CONFIG"
WORKER_JOBS = ("chief", "worker")
"""The jobs a TF_CONFIG cluster may have here: an optional chief and the workers."""

_TPU_ENV = ("TPU_NAME", "COLAB_TPU_ADDR", "TPU_CONFIG", "KUBE_GOOGLE_CLOUD_TPU_ENDPOINTS")
_CACHE: dict = {}  # strategies that can be created only once per process (TPU, multi-worker)
_COMPILED = weakref.WeakKeyDictionary()  # model -> {(kind, id(strategy)): tf.function}, traced once, reused


# --- TF_CONFIG ---------------------------------------------------------------


def _config_error(problem: str) -> ValueError:
    return ValueError(f"{TF_CONFIG_ENV} {problem}")


def _check_address(job: str, i: int, address) -> str:
    where = f"cluster[{job!r}][{i}]"
    if not isinstance(address, str) or address.count(":") < 1:
        raise _config_error(f"{where} must be a 'host:port' string, got {address!r}")
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise _config_error(f"{where} must be a 'host:port' string with a port 1-65535, got {address!r}")
    return address


def parse_tf_config(value: str | None = None) -> dict | None:
    """Parse and check a ``TF_CONFIG`` (default: the environment variable).

    Returns ``None`` when it is unset or empty, else the dict, checked: a JSON
    object with a ``"cluster"`` of jobs (``"worker"``, optionally one
    ``"chief"``), each a non-empty list of distinct ``"host:port"`` strings,
    and a ``"task"`` naming one of them by ``"type"`` and ``"index"``.
    Anything else raises a one-line ``ValueError`` naming the problem.

    >>> parse_tf_config('{"cluster": {"worker": ["127.0.0.1:2222", "127.0.0.1:2223"]},'
    ...                 ' "task": {"type": "worker", "index": 1}}')["task"]
    {'type': 'worker', 'index': 1}
    >>> parse_tf_config('{"cluster": {"worker": ["127.0.0.1:2222"]}, "task": {"type": "worker", "index": 1}}')
    Traceback (most recent call last):
    ...
    ValueError: TF_CONFIG task index 1 is out of range: the 'worker' job has 1 task (indexes 0..0)
    """
    if value is None:
        value = os.environ.get(TF_CONFIG_ENV)
    if value is None or not value.strip():
        return None
    try:
        config = json.loads(value)
    except json.JSONDecodeError as e:
        raise _config_error(f"is not valid JSON ({e.msg} at line {e.lineno} column {e.colno})") from None
    if not isinstance(config, dict):
        raise _config_error(f"must be a JSON object with 'cluster' and 'task', got {type(config).__name__}")
    for key in ("cluster", "task"):
        if key not in config:
            raise _config_error(f"has no {key!r} entry (it needs 'cluster' and 'task')")
    cluster, task = config["cluster"], config["task"]
    if not isinstance(cluster, dict) or not cluster:
        raise _config_error(f"'cluster' must be an object of jobs such as {{\"worker\": [\"host:port\", ...]}}, got {cluster!r}")
    unsupported = [job for job in cluster if job not in WORKER_JOBS]
    if unsupported:
        raise _config_error(f"has job {unsupported[0]!r}: only 'worker' and 'chief' are supported "
                            "(synchronous multi-worker training; no parameter servers or evaluators)")
    if "worker" not in cluster and "chief" not in cluster:
        raise _config_error("'cluster' has no 'worker' job")
    seen = {}
    for job, addresses in cluster.items():
        if not isinstance(addresses, list) or not addresses:
            raise _config_error(f"cluster[{job!r}] must be a non-empty list of 'host:port' strings, got {addresses!r}")
        if job == "chief" and len(addresses) != 1:
            raise _config_error(f"cluster['chief'] must list exactly one address, got {len(addresses)}")
        for i, address in enumerate(addresses):
            _check_address(job, i, address)
            if address in seen:
                raise _config_error(f"lists {address} twice ({seen[address]} and {job}[{i}]); every task needs its own port")
            seen[address] = f"{job}[{i}]"
    if not isinstance(task, dict):
        raise _config_error(f"'task' must be an object like {{\"type\": \"worker\", \"index\": 0}}, got {task!r}")
    kind, index = task.get("type"), task.get("index")
    if kind not in cluster:
        raise _config_error(f"task type {kind!r} is not a job of the cluster ({', '.join(map(repr, cluster))})")
    if isinstance(index, bool) or not isinstance(index, int):
        raise _config_error(f"task index must be an integer, got {index!r}")
    n = len(cluster[kind])
    if not 0 <= index < n:
        raise _config_error(f"task index {index} is out of range: the {kind!r} job has {n} task"
                            f"{'s' if n != 1 else ''} (indexes 0..{n - 1})")
    return config


def num_workers(config: dict | None) -> int:
    """Number of training processes a (checked) TF_CONFIG describes: chief + workers; 1 without one."""
    if not config:
        return 1
    return sum(len(config["cluster"].get(job, ())) for job in WORKER_JOBS)


def is_chief(config: dict | None = None) -> bool:
    """True for the task that should write files: the chief, else worker 0, else a single process."""
    if config is None:
        config = parse_tf_config()
    if not config:
        return True
    kind, index = config["task"]["type"], config["task"]["index"]
    return kind == "chief" or (kind == "worker" and index == 0 and "chief" not in config["cluster"])


# --- choosing the strategy ---------------------------------------------------


def tpu_signalled() -> str | None:
    """What suggests a TPU is attached (an environment variable, a ``/dev/accel*`` device), or None.

    Checks the environment and the file system only: no import, no network,
    no waiting. :func:`choose_strategy` contacts a TPU only when this says so.
    """
    for name in _TPU_ENV:
        if os.environ.get(name):
            return f"${name}"
    devices = sorted(glob.glob("/dev/accel[0-9]*"))
    if devices:
        return devices[0]
    return None


def _tpu_strategy(tpu: str | None):
    """Connect to the TPU and return ``TPUStrategy``; the TPU system is initialized once per process."""
    key = ("tpu", tpu)
    if key not in _CACHE:
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=tpu)
        if tpu not in (None, "", "local"):  # a remote TPU (grpc://... or a name) needs a connection
            tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
        _CACHE[key] = tf.distribute.TPUStrategy(resolver)
    return _CACHE[key]


def _tpu_argument(signal: str) -> str | None:
    """The ``tpu=`` for TPUClusterResolver: a Colab TPU node's address, a local TPU, or the name in $TPU_NAME."""
    if signal == "$COLAB_TPU_ADDR" and not os.environ.get("TPU_NAME"):
        return "grpc://" + os.environ["COLAB_TPU_ADDR"]
    if signal.startswith("/dev/"):
        return "local"
    return None  # the resolver reads $TPU_NAME / $TPU_CONFIG / the GKE variable itself


def describe_strategy(strategy) -> str:
    """One line: the strategy's name, its number of replicas and where they are."""
    n = strategy.num_replicas_in_sync
    replicas = f"{n} replica{'s' if n != 1 else ''}"
    name = type(strategy).__name__
    if name == "_DefaultDistributionStrategy":
        gpus = tf.config.list_physical_devices("GPU")
        return f"default strategy, {replicas} ({'GPU' if gpus else 'CPU'})"
    if isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        resolver = strategy.cluster_resolver
        workers = len(resolver.cluster_spec().as_dict().get("worker", [])) + \
            len(resolver.cluster_spec().as_dict().get("chief", []))
        return (f"MultiWorkerMirroredStrategy, {replicas} ({resolver.task_type} {resolver.task_id}, "
                f"{workers} worker{'s' if workers != 1 else ''} from {TF_CONFIG_ENV})")
    devices = getattr(strategy.extended, "worker_devices", ())
    where = ", ".join(d.split("/")[-1].replace("device:", "") for d in devices)
    return f"{name}, {replicas}" + (f" ({where})" if where else "")


def choose_strategy(tpu: str | None = None, devices=None, verbose: bool = True):
    """Return the ``tf.distribute`` strategy that fits this machine, and say which (one line).

    In order:

    1. ``TF_CONFIG`` set (checked by :func:`parse_tf_config`; a malformed one
       raises ``ValueError``): ``MultiWorkerMirroredStrategy``, one process
       per task of the cluster, using every local GPU (or the CPU) of each.
    2. A TPU signalled (:func:`tpu_signalled`, or ``tpu=`` given: a name,
       ``"grpc://host:port"`` or ``"local"``): ``TPUStrategy`` over its
       cores. If it cannot be initialized the line says why and the search
       goes on. Without a signal nothing is contacted: no cost.
    3. ``devices`` given (e.g. ``["/cpu:0", "/cpu:1"]`` after splitting the
       CPU into logical devices), or two or more GPUs: ``MirroredStrategy``.
    4. Otherwise the default strategy: one replica, the one GPU or the CPU.

    Call it first, before other TensorFlow work: the multi-worker and TPU
    strategies must set up TensorFlow's runtime themselves. Calling it again
    in the same process returns the same multi-worker or TPU strategy.

    >>> strategy = choose_strategy()  # doctest: +SKIP
    tf.distribute: default strategy, 1 replica (CPU)
    """
    config = parse_tf_config()
    note = ""
    if config is not None:
        key = ("multi_worker", json.dumps(config, sort_keys=True))
        if key not in _CACHE:
            _CACHE[key] = tf.distribute.MultiWorkerMirroredStrategy()
        strategy = _CACHE[key]
    else:
        strategy = None
        signal = "tpu=" + tpu if tpu else tpu_signalled()
        if signal is not None:
            try:
                strategy = _tpu_strategy(tpu if tpu else _tpu_argument(signal))
            except Exception as e:  # no TPU after all, or a TensorFlow build without TPU support
                reason = str(e).strip().splitlines()[0][:200] if str(e).strip() else type(e).__name__
                note = f"; {signal} suggested a TPU but it could not be used ({type(e).__name__}: {reason})"
        if strategy is None:
            if devices is not None:
                strategy = tf.distribute.MirroredStrategy(list(devices))
            elif len(tf.config.list_physical_devices("GPU")) >= 2:
                strategy = tf.distribute.MirroredStrategy()
            else:
                strategy = tf.distribute.get_strategy()
    if verbose:
        print(f"tf.distribute: {describe_strategy(strategy)}{note}")
    return strategy


# --- batch size and learning rate ----------------------------------------------


def _replicas(strategy_or_replicas) -> int:
    if hasattr(strategy_or_replicas, "num_replicas_in_sync"):
        return int(strategy_or_replicas.num_replicas_in_sync)
    n = strategy_or_replicas
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"replicas must be a strategy or a positive integer, got {n!r}")
    return int(n)


def global_batch_size(per_replica_batch: int, strategy_or_replicas) -> int:
    """Images per training step over all replicas: ``per_replica_batch * replicas``.

    Each replica gets ``per_replica_batch`` images of every step, so with 8
    replicas and 64 per replica one step (one weight update) sees 512.

    >>> global_batch_size(64, 8)
    512
    """
    if isinstance(per_replica_batch, bool) or not isinstance(per_replica_batch, (int, np.integer)) \
            or per_replica_batch < 1:
        raise ValueError(f"per_replica_batch must be a positive integer, got {per_replica_batch!r}")
    return int(per_replica_batch) * _replicas(strategy_or_replicas)


def scaled_learning_rate(base_rate: float, strategy_or_replicas, base_replicas: int = 1) -> float:
    """The linear scaling rule: multiply the rate by how much larger the global batch became.

    ``base_rate`` is a rate that works with ``base_replicas`` replicas (the
    same per-replica batch); with ``k`` times the replicas the global batch
    is ``k`` times larger, each step averages ``k`` times more gradients,
    and the rule takes a ``k`` times larger step to cover the same ground
    per epoch (Goyal et al., 2017, "Accurate, Large Minibatch SGD").

    Caveat: it is a rule of thumb from SGD on large batches, not a law. It
    needs a few epochs of warm-up at large factors, stops working beyond
    some batch size, and adaptive optimizers such as Adam often want less
    (the square root of the factor, or no scaling). Check it on the
    validation set.

    >>> scaled_learning_rate(0.01, 8)
    0.08
    """
    if isinstance(base_rate, bool) or not isinstance(base_rate, (int, float)) \
            or not math.isfinite(base_rate) or base_rate <= 0:
        raise ValueError(f"base_rate must be a positive number, got {base_rate!r}")
    factor = _replicas(strategy_or_replicas) / _replicas(base_replicas)
    return float(base_rate) * factor


# --- input pipelines ----------------------------------------------------------


def dataset_for(strategy, x, y, per_replica_batch: int, shuffle: bool = True, seed: int | None = 0,
                repeat: bool = False):
    """A ``tf.data`` pipeline of GLOBAL batches for ``strategy`` (for ``model.fit`` or a custom loop).

    Built by :func:`mnist_lab.data.make_dataset` with the global batch size
    (``per_replica_batch * replicas``); ``tf.distribute`` then splits every
    global batch between the replicas.

    The auto-shard policy is set to DATA. In a multi-worker run each worker
    reads its own part of the data ("sharding"). The default policy, AUTO,
    first tries to give each worker different input *files*; a dataset made
    from in-memory arrays has no files, so AUTO falls back to DATA with a
    warning. DATA says so explicitly: every worker builds the same pipeline
    and keeps only its share of the elements. For that every worker must
    produce the same order, which is why ``seed`` defaults to 0 here instead
    of None: the workers shuffle identically and their shares never overlap.
    (With a single worker the policy has no effect.)
    """
    if shuffle and seed is None and parse_tf_config() is not None:
        raise ValueError("seed=None with several workers: DATA sharding needs every worker to shuffle "
                         "in the same order; pass an integer seed")
    batch = global_batch_size(per_replica_batch, strategy)
    ds = data.make_dataset(x, y, batch_size=batch, shuffle=shuffle, seed=seed, repeat=repeat)
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return ds.with_options(options)


def distributed_dataset(strategy, x, y, per_replica_batch: int, shuffle: bool = True, seed: int | None = 0,
                        repeat: bool = False):
    """:func:`dataset_for`, distributed: each element holds one per-replica batch for every replica.

    This is what a custom training loop iterates over and passes to
    ``strategy.run`` (``model.fit`` does the distributing itself).
    """
    return strategy.experimental_distribute_dataset(
        dataset_for(strategy, x, y, per_replica_batch, shuffle=shuffle, seed=seed, repeat=repeat))


# --- a training step with tf.distribute primitives -----------------------------


def make_train_step(strategy, model, optimizer, global_batch: int,
                    loss: Callable | None = None) -> Callable:
    """A compiled training step for a distributed batch: ``step((images, labels)) -> (loss, accuracy)``.

    Each replica computes the loss on its own slice, divided by the GLOBAL
    batch size (``tf.nn.compute_average_loss``), so that summing the
    gradients of all replicas, which the optimizer does under the strategy,
    gives the gradient of the mean loss over the global batch. The model
    and the optimizer must have been created under ``strategy.scope()``.
    ``loss`` gives per-image losses (default sparse categorical
    cross-entropy on probabilities). The returned loss and accuracy are
    over the global batch (``strategy.reduce`` sums the replicas' parts).
    """
    if loss is None:
        loss = keras.losses.SparseCategoricalCrossentropy(reduction="none")
    batch = int(global_batch)
    if not optimizer.built:  # create its slots now, under the scope, not lazily inside a replica
        with strategy.scope():
            optimizer.build(model.trainable_variables)

    def replica_step(images, labels):
        with tf.GradientTape() as tape:
            probabilities = model(images, training=True)
            per_image = loss(labels, probabilities)
            step_loss = tf.nn.compute_average_loss(per_image, global_batch_size=batch)
            if model.losses:
                step_loss += tf.nn.scale_regularization_loss(tf.add_n(model.losses))
        gradients = tape.gradient(step_loss, model.trainable_variables)
        optimizer.apply_gradients(zip(gradients, model.trainable_variables))
        hits = tf.equal(tf.argmax(probabilities, axis=-1), tf.cast(labels, tf.int64))
        return step_loss, tf.reduce_sum(tf.cast(hits, tf.float32)) / batch

    @tf.function
    def train_step(distributed_batch):
        step_loss, accuracy = strategy.run(replica_step, args=distributed_batch)
        return (strategy.reduce("SUM", step_loss, axis=None),
                strategy.reduce("SUM", accuracy, axis=None))

    return train_step


def _compiled(model, strategy, kind: str, build: Callable):
    """The tf.function ``build(weakref_to_model)`` for this model and strategy, made once and reused.

    Reusing it avoids tracing again at every call (and TensorFlow's retracing
    warnings); the weak reference lets the model be freed with its functions.
    """
    functions = _COMPILED.setdefault(model, {})
    key = (kind, id(strategy))
    if key not in functions:
        functions[key] = build(weakref.ref(model))
    return functions[key]


def sync_moving_statistics(strategy, model) -> None:
    """Average the batch-norm moving means and variances over all replicas (and workers).

    Keras 3 keeps these non-trainable weights per replica: each replica
    updates its own copy from its own slice of every batch, so after
    training the copies differ a little between replicas, and between
    workers. Averaging them gives every worker the same model, which is
    what one averaged statistic over the global batch would have given
    (the averages are linear). Call it after training, before evaluating
    or saving. Every worker must call it (it is a collective operation).
    """
    if strategy.num_replicas_in_sync == 1 or not any("float" in str(v.dtype) for v in model.non_trainable_weights):
        return

    def build(ref):
        def replica_fn():
            context = tf.distribute.get_replica_context()
            for v in ref().non_trainable_weights:
                if "float" in str(v.dtype):
                    v.assign(context.all_reduce("MEAN", tf.identity(v.value)))

        return tf.function(lambda: strategy.run(replica_fn))

    _compiled(model, strategy, "sync", build)()


def evaluate_accuracy(strategy, model, x, y, per_replica_batch: int = 256) -> float:
    """Accuracy of ``model`` on ``(x, y)``, each replica scoring its share (``training=False``).

    Works under every strategy, including several workers (where Keras 3's
    ``evaluate`` does not); every worker gets the same number.
    """
    ds = distributed_dataset(strategy, x, y, per_replica_batch, shuffle=False)

    def build(ref):
        def replica_fn(images, labels):
            predicted = tf.argmax(ref()(images, training=False), axis=-1)
            hits = tf.reduce_sum(tf.cast(tf.equal(predicted, tf.cast(labels, tf.int64)), tf.float32))
            return hits, tf.cast(tf.shape(labels)[0], tf.float32)

        @tf.function(reduce_retracing=True)  # the last batch is smaller: one more trace, not one per shape
        def score(batch):
            hits, count = strategy.run(replica_fn, args=batch)
            return strategy.reduce("SUM", hits, axis=None), strategy.reduce("SUM", count, axis=None)

        return score

    score = _compiled(model, strategy, "evaluate", build)
    hits = count = 0.0
    for batch in ds:
        h, c = score(batch)
        hits, count = hits + float(h), count + float(c)
    if count != len(x):
        raise RuntimeError(f"evaluated {count:.0f} images instead of {len(x)}")
    return hits / count


class Throughput:
    """Images per second over training steps, leaving out the first (tracing) steps.

    >>> meter = Throughput(global_batch=128, skip=1)  # doctest: +SKIP
    >>> for step in range(steps): train_step(next(it)); meter.step()  # doctest: +SKIP
    >>> meter.images_per_second  # doctest: +SKIP
    """

    def __init__(self, global_batch: int, skip: int = 1):
        if int(skip) < 1:
            raise ValueError(f"skip must be at least 1 (the timing starts at the end of step `skip`), got {skip!r}")
        self.global_batch, self.skip = int(global_batch), int(skip)
        self.steps, self._start, self._last = 0, None, None

    def step(self) -> None:
        self.steps += 1
        now = time.perf_counter()
        if self.steps == self.skip:
            self._start = now
        self._last = now

    @property
    def timed_steps(self) -> int:
        return max(0, self.steps - self.skip)

    @property
    def images_per_second(self) -> float:
        if self._start is None or self.timed_steps == 0 or self._last == self._start:
            return float("nan")
        return self.timed_steps * self.global_batch / (self._last - self._start)
