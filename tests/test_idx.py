"""IDX reading and writing on files the tests write themselves."""

import gzip
import struct

import numpy as np
import pytest

from mnist_lab import idx


@pytest.fixture
def images():
    return np.random.default_rng(1).integers(0, 256, size=(7, 28, 28), dtype=np.uint8)


@pytest.mark.parametrize("suffix", [".gz", ""])
def test_round_trip(tmp_path, images, suffix):
    labels = np.arange(7, dtype=np.uint8) % 10
    ip = idx.write_idx(tmp_path / f"img-idx3-ubyte{suffix}", images)
    lp = idx.write_idx(tmp_path / f"lab-idx1-ubyte{suffix}", labels)
    x, y = idx.read_pair(ip, lp)
    np.testing.assert_array_equal(x, images)
    np.testing.assert_array_equal(y, labels)
    assert x.dtype == np.uint8 and x.flags.writeable and x.flags.owndata


def test_header_is_big_endian_idx(tmp_path, images):
    path = idx.write_idx(tmp_path / "raw", images)
    raw = path.read_bytes()
    assert struct.unpack(">iiii", raw[:16]) == (2051, 7, 28, 28)
    assert len(raw) == 16 + 7 * 28 * 28


def _write(path, payload, gz=False):
    (gzip.open if gz else open)(path, "wb").write(payload)
    return path


def test_truncated_payload_names_file(tmp_path, images):
    good = idx.write_idx(tmp_path / "good", images).read_bytes()
    bad = _write(tmp_path / "train-images-idx3-ubyte", good[:-100])
    with pytest.raises(ValueError, match=r"train-images-idx3-ubyte: truncated.*7x28x28") as e:
        idx.read_idx(bad, magic=idx.IMAGES_MAGIC)
    assert "\n" not in str(e.value)


def test_trailing_bytes(tmp_path, images):
    good = idx.write_idx(tmp_path / "good", images).read_bytes()
    bad = _write(tmp_path / "extra", good + b"\0")
    with pytest.raises(ValueError, match="trailing bytes"):
        idx.read_idx(bad)


def test_truncated_header(tmp_path):
    bad = _write(tmp_path / "short", struct.pack(">ii", 2051, 7))
    with pytest.raises(ValueError, match="truncated IDX header"):
        idx.read_idx(bad)
    with pytest.raises(ValueError, match="no header"):
        idx.read_idx(_write(tmp_path / "empty", b""))


def test_wrong_magic(tmp_path, images):
    path = idx.write_idx(tmp_path / "labels-looking", np.zeros(5, np.uint8))
    with pytest.raises(ValueError, match="magic number 2049, expected 2051"):
        idx.read_idx(path, magic=idx.IMAGES_MAGIC)
    junk = _write(tmp_path / "junk", struct.pack(">i", 1234) + b"\0" * 10)
    with pytest.raises(ValueError, match="not an MNIST IDX file"):
        idx.read_idx(junk)


def test_corrupt_gzip(tmp_path, images):
    good = idx.write_idx(tmp_path / "good.gz", images).read_bytes()
    bad = _write(tmp_path / "bad.gz", good[: len(good) // 2])
    with pytest.raises(ValueError, match="bad.gz: cannot decompress"):
        idx.read_idx(bad)


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such IDX file"):
        idx.read_idx(tmp_path / "nope.gz")


def test_count_mismatch(tmp_path, images):
    ip = idx.write_idx(tmp_path / "i.gz", images)
    lp = idx.write_idx(tmp_path / "l.gz", np.zeros(6, np.uint8))
    with pytest.raises(ValueError, match="7 images but .* 6 labels"):
        idx.read_pair(ip, lp)


def test_write_refuses_overwrite_and_bad_arrays(tmp_path, images):
    path = idx.write_idx(tmp_path / "x", images)
    with pytest.raises(FileExistsError):
        idx.write_idx(path, images)
    with pytest.raises(ValueError, match="uint8"):
        idx.write_idx(tmp_path / "f", images.astype(np.float32))
    with pytest.raises(ValueError, match="shape"):
        idx.write_idx(tmp_path / "g", images.reshape(7, 784))


@pytest.mark.parametrize("dims, message", [
    ((-1, 28, 28), r"negative dimension in -1x28x28"),
    ((7, 28, -28), r"negative dimension in 7x28x-28"),
    ((2**31 - 1, 28, 28), r"2147483647x28x28 = .* bytes is more than the"),
], ids=["negative-count", "negative-width", "absurd-count"])
def test_bad_dimensions_rejected_before_allocation(tmp_path, dims, message):
    path = _write(tmp_path / "train-images-idx3-ubyte", struct.pack(">iiii", 2051, *dims) + b"\0" * 100)
    with pytest.raises(ValueError, match=r"train-images-idx3-ubyte: corrupt IDX header, " + message) as e:
        idx.read_idx(path, magic=idx.IMAGES_MAGIC)
    assert "\n" not in str(e.value)


def test_gzip_bomb_is_not_inflated(tmp_path):
    """A header promising 10 images followed by 64 MB of zeros: rejected after reading one byte too many."""
    import tracemalloc

    path = tmp_path / "train-images-idx3-ubyte.gz"
    zeros = bytes(1 << 20)
    with gzip.open(path, "wb") as f:
        f.write(struct.pack(">iiii", 2051, 10, 28, 28))
        for _ in range(64):
            f.write(zeros)
    del zeros
    assert path.stat().st_size < 1 << 20
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match=r"trailing bytes: header says 10x28x28 = 7840 bytes"):
            idx.read_idx(path, magic=idx.IMAGES_MAGIC)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 << 20, f"reading the bomb took {peak / 2**20:.0f} MiB"
