"""tf.distribute helpers: strategy choice, TF_CONFIG, global batch, and real multi-worker training."""

import json
import os
import re
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import keras
import numpy as np
import pytest

from mnist_lab import data, idx, models
from mnist_lab.distributed import strategy as distribute, train as train_distributed, workers
from mnist_lab._tf import tf
from conftest import process_alive

ROOT = Path(__file__).resolve().parents[1]
TPU_VARIABLES = ("TPU_NAME", "COLAB_TPU_ADDR", "TPU_CONFIG", "KUBE_GOOGLE_CLOUD_TPU_ENDPOINTS")


def child_env(**extra):
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env.pop("TF_CONFIG", None)
    env.update(extra)
    return env


def run_python(code, timeout=120, **env):
    """Run ``code`` in a fresh interpreter (a strategy can be set up only once per process)."""
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT, env=child_env(**env))


@pytest.fixture
def no_cluster(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    for name in TPU_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(distribute.glob, "glob", lambda pattern: [])  # no /dev/accel* either


# --- TF_CONFIG ------------------------------------------------------------------

GOOD = {"cluster": {"worker": ["host-a:2222", "host-b:2222", "10.0.0.3:2222"]}, "task": {"type": "worker", "index": 1}}


def test_parse_tf_config_accepts_a_cluster(monkeypatch):
    assert distribute.parse_tf_config(json.dumps(GOOD)) == GOOD
    assert distribute.num_workers(GOOD) == 3
    assert not distribute.is_chief(GOOD)
    assert distribute.is_chief(dict(GOOD, task={"type": "worker", "index": 0}))
    with_chief = {"cluster": {"chief": ["a:1"], "worker": ["b:1", "c:1"]}, "task": {"type": "worker", "index": 0}}
    assert distribute.parse_tf_config(json.dumps(with_chief)) == with_chief
    assert distribute.num_workers(with_chief) == 3 and not distribute.is_chief(with_chief)
    monkeypatch.setenv("TF_CONFIG", json.dumps(GOOD))
    assert distribute.parse_tf_config() == GOOD  # from the environment by default
    for unset in ("", "   "):
        assert distribute.parse_tf_config(unset) is None
    monkeypatch.delenv("TF_CONFIG")
    assert distribute.parse_tf_config() is None and distribute.num_workers(None) == 1 and distribute.is_chief()


@pytest.mark.parametrize("text, problem", [
    ('{"cluster": ', "is not valid JSON"),
    ('["worker"]', "must be a JSON object"),
    ('{"cluster": {"worker": ["a:1"]}}', "has no 'task' entry"),
    ('{"task": {"type": "worker", "index": 0}}', "has no 'cluster' entry"),
    ('{"cluster": {}, "task": {"type": "worker", "index": 0}}', "'cluster' must be an object of jobs"),
    ('{"cluster": {"worker": ["a:1"], "ps": ["b:1"]}, "task": {"type": "worker", "index": 0}}', "has job 'ps'"),
    ('{"cluster": {"worker": []}, "task": {"type": "worker", "index": 0}}', "must be a non-empty list"),
    ('{"cluster": {"worker": "a:1"}, "task": {"type": "worker", "index": 0}}', "must be a non-empty list"),
    ('{"cluster": {"worker": ["a"]}, "task": {"type": "worker", "index": 0}}', "must be a 'host:port' string"),
    ('{"cluster": {"worker": ["a:99999"]}, "task": {"type": "worker", "index": 0}}', "port 1-65535"),
    ('{"cluster": {"worker": ["a:1", "a:1"]}, "task": {"type": "worker", "index": 0}}', "lists a:1 twice"),
    ('{"cluster": {"chief": ["a:1", "b:1"]}, "task": {"type": "chief", "index": 0}}', "exactly one address"),
    ('{"cluster": {"worker": ["a:1"]}, "task": "worker 0"}', "'task' must be an object"),
    ('{"cluster": {"worker": ["a:1"]}, "task": {"type": "chief", "index": 0}}', "task type 'chief' is not a job"),
    ('{"cluster": {"worker": ["a:1"]}, "task": {"type": "worker", "index": "0"}}', "task index must be an integer"),
    ('{"cluster": {"worker": ["a:1", "b:1"]}, "task": {"type": "worker", "index": 2}}', "task index 2 is out of range"),
    ('{"cluster": {"worker": ["a:1"]}, "task": {"type": "worker", "index": -1}}', "out of range"),
])
def test_malformed_tf_config_is_one_clear_line(text, problem, monkeypatch, capsys):
    with pytest.raises(ValueError) as e:
        distribute.parse_tf_config(text)
    message = str(e.value)
    assert message.startswith("TF_CONFIG ") and problem in message and "\n" not in message
    # choose_strategy refuses it before creating anything ...
    monkeypatch.setenv("TF_CONFIG", text)
    with pytest.raises(ValueError, match=re.escape(problem)):
        distribute.choose_strategy()
    # ... and the training script says so in one line, with exit code 2.
    assert train_distributed.main(["--steps", "1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("train_distributed: TF_CONFIG ") and err.count("\n") == 1


# --- choosing the strategy ---------------------------------------------------------


def test_default_strategy_here_without_touching_a_tpu(no_cluster, monkeypatch, capsys):
    def no_resolver(*args, **kwargs):
        raise AssertionError("a TPU resolver was created without any sign of a TPU")

    monkeypatch.setattr(tf.distribute.cluster_resolver, "TPUClusterResolver", no_resolver)
    assert distribute.tpu_signalled() is None
    strategy = distribute.choose_strategy()
    assert strategy is tf.distribute.get_strategy() and strategy.num_replicas_in_sync == 1
    assert not tf.distribute.has_strategy()  # the default strategy: no scope entered
    gpu = "GPU" if tf.config.list_physical_devices("GPU") else "CPU"
    assert capsys.readouterr().out == f"tf.distribute: default strategy, 1 replica ({gpu})\n"
    distribute.choose_strategy(verbose=False)
    assert capsys.readouterr().out == ""


def test_tpu_signal_that_fails_falls_back_with_a_note(no_cluster, monkeypatch, capsys):
    monkeypatch.setenv("COLAB_TPU_ADDR", "10.0.0.2:8470")
    assert distribute.tpu_signalled() == "$COLAB_TPU_ADDR"
    assert distribute._tpu_argument("$COLAB_TPU_ADDR") == "grpc://10.0.0.2:8470"
    assert distribute._tpu_argument("/dev/accel0") == "local"
    asked = []

    def failing(tpu):
        asked.append(tpu)
        raise RuntimeError("no TPU at this address\nsecond line")

    monkeypatch.setattr(distribute, "_tpu_strategy", failing)
    strategy = distribute.choose_strategy()
    assert asked == ["grpc://10.0.0.2:8470"]
    assert strategy is tf.distribute.get_strategy()
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and out.startswith("tf.distribute: default strategy, 1 replica")
    assert "$COLAB_TPU_ADDR suggested a TPU but it could not be used (RuntimeError: no TPU at this address)" in out


def test_tpu_signalled_by_a_device_file(no_cluster, monkeypatch):
    monkeypatch.setattr(distribute.glob, "glob", lambda pattern: ["/dev/accel1", "/dev/accel0"])
    assert distribute.tpu_signalled() == "/dev/accel0"


@pytest.mark.slow
def test_multi_worker_strategy_from_tf_config_in_a_subprocess():
    port = workers.free_ports(1)[0]
    result = run_python("""
        from mnist_lab import distributed as distribute
        from mnist_lab._tf import tf
        strategy = distribute.choose_strategy()
        assert isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy), type(strategy)
        assert distribute.choose_strategy(verbose=False) is strategy  # created once per process
        print("replicas", strategy.num_replicas_in_sync, distribute.global_batch_size(64, strategy))
    """, TF_CONFIG=workers.tf_config([port], 0))
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.splitlines() == [
        "tf.distribute: MultiWorkerMirroredStrategy, 1 replica (worker 0, 1 worker from TF_CONFIG)",
        "replicas 1 64"]


# --- batch size, learning rate, datasets ---------------------------------------------


def test_global_batch_and_learning_rate_scaling():
    assert distribute.global_batch_size(64, 8) == 512
    assert distribute.global_batch_size(100, tf.distribute.get_strategy()) == 100
    assert distribute.scaled_learning_rate(0.01, 8) == pytest.approx(0.08)
    assert distribute.scaled_learning_rate(0.01, 8, base_replicas=2) == pytest.approx(0.04)
    assert distribute.scaled_learning_rate(0.001, tf.distribute.get_strategy()) == pytest.approx(0.001)
    for bad in (0, -1, 2.5, True, None):
        with pytest.raises(ValueError):
            distribute.global_batch_size(bad, 2)
        with pytest.raises(ValueError):
            distribute.global_batch_size(64, bad)
    for bad in (0, -0.1, float("nan"), "0.1"):
        with pytest.raises(ValueError):
            distribute.scaled_learning_rate(bad, 2)


def test_dataset_for_uses_the_global_batch_and_data_sharding(digits, no_cluster):
    x, y = digits
    x = data.add_channel(data.scale(x))
    strategy = tf.distribute.get_strategy()
    ds = distribute.dataset_for(strategy, x, y, per_replica_batch=50)
    assert ds.options().experimental_distribute.auto_shard_policy == tf.data.experimental.AutoShardPolicy.DATA
    sizes = [len(labels) for _, labels in ds]
    assert sizes == [50] * (len(x) // 50) + ([len(x) % 50] if len(x) % 50 else [])
    # Seeded: two pipelines built apart (as on two workers) give the same order, epoch after epoch.
    first, second = (iter(distribute.dataset_for(strategy, x, y, per_replica_batch=50, repeat=True))
                     for _ in range(2))
    steps = 2 * len(sizes)
    a = np.concatenate([next(first)[1].numpy() for _ in range(steps)])
    b = np.concatenate([next(second)[1].numpy() for _ in range(steps)])
    assert np.array_equal(a, b)
    assert sorted(a[:len(y)]) == sorted(y)  # every image once per epoch


def test_seedless_shuffle_refused_with_several_workers(digits, monkeypatch):
    monkeypatch.setenv("TF_CONFIG", workers.tf_config([2222, 2223], 0))
    x, y = digits
    with pytest.raises(ValueError, match="same order"):
        distribute.dataset_for(tf.distribute.get_strategy(), x, y, 32, seed=None)


# --- training with the strategy's primitives ---------------------------------------


@pytest.mark.slow
def test_train_step_and_evaluation_under_the_default_strategy(digits, no_cluster):
    x, y = digits
    x = data.add_channel(data.scale(x))
    strategy = tf.distribute.get_strategy()
    with strategy.scope():
        keras.utils.set_random_seed(0)
        model = models.batchnorm_convnet()
        optimizer = keras.optimizers.Adam(learning_rate=0.01)
    step = distribute.make_train_step(strategy, model, optimizer, global_batch=50)
    batches = iter(distribute.distributed_dataset(strategy, x, y, 50, repeat=True))
    meter = distribute.Throughput(50)
    losses = []
    for _ in range(12):
        loss, accuracy = step(next(batches))
        meter.step()
        losses.append(float(loss))
        assert 0 <= float(accuracy) <= 1
    assert np.mean(losses[-3:]) < losses[0]
    assert meter.timed_steps == 11 and meter.images_per_second > 0
    distribute.sync_moving_statistics(strategy, model)  # nothing to average with one replica
    accuracy = distribute.evaluate_accuracy(strategy, model, x[:123], y[:123], per_replica_batch=50)
    expected = np.mean(model.predict(x[:123], verbose=0).argmax(axis=1) == y[:123])
    assert accuracy == pytest.approx(expected)
    with pytest.raises(ValueError):
        distribute.Throughput(50, skip=0)


MIRRORED = """
    import sys
    import numpy as np
    from mnist_lab._tf import tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    import keras
    from mnist_lab import data, distributed as distribute, models

    strategy = distribute.choose_strategy(devices=["/cpu:0", "/cpu:1"])
    assert isinstance(strategy, tf.distribute.MirroredStrategy) and strategy.num_replicas_in_sync == 2
    arrays = np.load(sys.argv[1])
    x, y = data.add_channel(data.scale(arrays["x"])), arrays["y"]
    assert distribute.global_batch_size(16, strategy) == 32
    ds = distribute.dataset_for(strategy, x, y, per_replica_batch=16, repeat=True)
    assert next(iter(ds))[0].shape == (32, 28, 28, 1)

    # The batch-norm model, unchanged, built and compiled under the scope; model.fit works here.
    with strategy.scope():
        keras.utils.set_random_seed(0)
        model = models.batchnorm_convnet()
        model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.01),
                      loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    assert all(isinstance(w.value, tf.distribute.DistributedValues) for w in model.weights)
    history = model.fit(ds, epochs=1, steps_per_epoch=6, shuffle=False, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    copies = strategy.experimental_local_results(model.get_layer("conv_1").kernel.value)
    assert len(copies) == 2 and np.array_equal(copies[0], copies[1])  # one update for both replicas

    # The custom step: the same on both replicas; batch-norm averages differ until synced.
    with strategy.scope():
        model = models.batchnorm_convnet()
        optimizer = keras.optimizers.Adam(learning_rate=0.01)
    step = distribute.make_train_step(strategy, model, optimizer, 32)
    batches = iter(distribute.distributed_dataset(strategy, x, y, 16, repeat=True))
    for _ in range(6):
        loss, accuracy = step(next(batches))
    kernels = strategy.experimental_local_results(model.get_layer("conv_2").kernel.value)
    assert np.array_equal(kernels[0], kernels[1])
    means = lambda: [np.asarray(c) for c in strategy.experimental_local_results(model.get_layer("bn_1").moving_mean.value)]
    print("moving means differ before sync:", not np.allclose(*means()))
    distribute.sync_moving_statistics(strategy, model)
    assert np.array_equal(*means())
    print("accuracy", distribute.evaluate_accuracy(strategy, model, x[:101], y[:101], per_replica_batch=16))
"""


@pytest.mark.slow
def test_mirrored_strategy_two_replicas_fit_and_custom_step(digits, tmp_path):
    x, y = digits
    np.savez(tmp_path / "digits.npz", x=x, y=y)
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(MIRRORED), str(tmp_path / "digits.npz")],
                            capture_output=True, text=True, timeout=180, cwd=ROOT, env=child_env())
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.splitlines()
    assert lines[0] == "tf.distribute: MirroredStrategy, 2 replicas (CPU:0, CPU:1)"
    assert lines[1] == "moving means differ before sync: True"  # Keras 3 keeps them per replica
    assert 0 <= float(lines[2].split()[1]) <= 1


# --- a real multi-worker run ---------------------------------------------------------


def _weights(path):
    import h5py

    arrays = {}
    with h5py.File(path, "r") as f:
        f.visititems(lambda name, obj: arrays.__setitem__(name, obj[()]) if isinstance(obj, h5py.Dataset) else None)
    return arrays


@pytest.mark.slow
def test_two_workers_train_the_batchnorm_convnet_to_identical_weights(digits, tmp_path):
    folder = tmp_path / "mnist"
    folder.mkdir()
    x, y = digits
    x_test, y_test = x[:100], y[:100]  # the script does not use the test split
    for (images, labels), (images_name, labels_name) in zip(((x, y), (x_test, y_test)), data.IDX_NAMES.values()):
        idx.write_idx(folder / images_name, images)
        idx.write_idx(folder / labels_name, labels)
    pids = tmp_path / "pids"
    pids.mkdir()
    command = ["sh", "-c", 'echo $$ > "$0/$$"; exec "$@"', str(pids),  # records each worker's pid
               sys.executable, "-m", "mnist_lab.distributed.train", "--steps", "8", "--per-replica-batch", "32",
               "--save-weights", str(tmp_path / "worker{worker}.weights.h5")]
    result = subprocess.run([sys.executable, "-m", "mnist_lab.tooling.cli", "workers", "2", "--timeout", "100", "--",
                             *command], capture_output=True, text=True, timeout=115, cwd=ROOT,
                            env=child_env(MNIST_LAB_DATA_DIR=str(folder)))
    try:
        assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
        out = result.stdout
        for i in range(2):
            assert (f"[worker {i}] tf.distribute: MultiWorkerMirroredStrategy, 2 replicas "
                    f"(worker {i}, 2 workers from TF_CONFIG)") in out
            assert f"[worker {i}] worker {i}: {len(x) - 50} mnist training images, global batch 64 (32 x 2 replicas)" in out
            assert re.search(rf"\[worker {i}\] worker {i}: [\d,]+ images/s over all workers", out)
        # Both workers see the same (all-reduced) loss at every step, and it falls.
        losses = [re.findall(rf"\[worker {i}\] worker {i}: step \d+/8 loss ([\d.]+)", out) for i in range(2)]
        assert losses[0] == losses[1] and len(losses[0]) >= 2
        assert float(losses[0][-1]) < float(losses[0][0])
        accuracies = [re.findall(rf"\[worker {i}\] worker {i}: validation accuracy ([\d.]+)%", out) for i in range(2)]
        assert accuracies[0] == accuracies[1] != []
        first, second = (_weights(tmp_path / f"worker{i}.weights.h5") for i in range(2))
        assert first.keys() == second.keys() and len(first) == 18  # 3 convs, 2 dense, 4 x 3 batch norm
        for name in first:
            assert np.array_equal(first[name], second[name]), f"{name} differs between the workers"
        # Trained, not just initialized identically: the weights load into the model and predict.
        model = models.batchnorm_convnet()
        model.load_weights(tmp_path / "worker0.weights.h5")
        assert model.predict(data.add_channel(data.scale(x[:10])), verbose=0).shape == (10, 10)
    finally:  # no worker outlives the launcher, whatever happened
        recorded = [int(p.name) for p in pids.iterdir()]
        deadline = time.monotonic() + 5
        while any(map(process_alive, recorded)) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(recorded) == 2 and not any(map(process_alive, recorded))
