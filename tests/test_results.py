"""mnist-lab results: what may be published in docs/results.json, and the pages rendered from it."""

import gzip
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from mnist_lab import data, idx
from mnist_lab.tooling import provenance, results
from mnist_lab.tooling.cli import EXIT_FAILED, EXIT_OK, EXIT_USAGE, main
from mnist_lab.experiment import RunRecord

ROOT = Path(__file__).resolve().parents[1]
FILES = {"train-images-idx3-ubyte.gz": {"bytes": 9912422, "md5": "f68b3c2dcbeaaa9fbdd348bbdeb94873", "sha256": "a"},
         "t10k-labels-idx1-ubyte.gz": {"bytes": 4542, "md5": "ec29112dd5afa0611ce80d1b7f02629c", "sha256": "b"}}


def record(name, test=None, val=0.99, epochs=20, seconds=3.0):
    return RunRecord(name, 1000, epochs, seconds, val, epochs, test_accuracy=test).to_dict()


def notebook(name, records, seconds=600.0, status="ok", **parameters):
    return {"notebook": name, "status": status, "seconds": seconds, "parameters": {"DATASET": "mnist", **parameters},
            "records": records}


def write_run(folder, *notebooks, quick=False, dirty=False, train_images=60_000, commit="c0ffee" * 6 + "abcd",
              bench=None):
    """A run.json as mnist-lab run (or, with ``bench``, mnist-lab bench) writes it."""
    folder = Path(folder)
    folder.mkdir(parents=True)
    run = {"command": f"mnist-lab run --out {folder}", "environment": {"MNIST_LAB_DATA_DIR": "/data/mnist"},
           "started": "2026-12-02T15:40:02+0000", "commit": commit, "dirty": dirty, "quick": quick,
           "data": {"name": "mnist", "folder": "/data/mnist", "files": FILES, "train_images": train_images,
                    "test_images": 10_000, "arrays": results.COMPLETE_ARRAYS},
           "machine": provenance.machine()}
    run.update(bench if bench is not None else {"notebooks": list(notebooks)})
    provenance.write(folder, run)
    return folder


NB02 = notebook("02_logistic_regression.ipynb", [record("first look", epochs=5),
                                                 record("logistic regression", 0.9260, 0.9250, 100, 1.5)],
                seconds=1500.0, BATCH_SIZE=100)


def seeds09(*seeds, accuracy=0.996):
    return notebook("09_data_augmentation.ipynb",
                    [record(f"seed {s}", val=0.994) for s in seeds]
                    + [record(f"seed {s}, all training images", accuracy + s / 10_000, 0.994, 30, 100.0)
                       for s in seeds], seconds=3600.0 * len(seeds), BATCH_SIZE=64, SEEDS=len(seeds))


@pytest.fixture
def repo(tmp_path, monkeypatch):
    """A repository root with the two pages and their markers; the commands run from there."""
    (tmp_path / "docs").mkdir()
    (tmp_path / "README.md").write_text(f"# Course\n\n## Results\n{results.BEGIN}\n{results.END}\n\nMore.\n")
    (tmp_path / "docs" / "results.md").write_text(f"# Results\n\n{results.BEGIN}\nold\n{results.END}\n\nKept.\n")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def stored():
    return json.loads(Path("docs/results.json").read_text())


def row(page, key):
    line = next(line for line in Path(page).read_text().splitlines() if line.startswith(f"| {key} |"))
    return [cell.strip() for cell in line.strip("|").split("|")]


def test_add_stores_provenance_and_render_writes_both_pages(repo, capsys):
    run = write_run(repo / "runs" / "a", NB02)
    assert main(["results", "add", str(run)]) == EXIT_OK
    entry, = stored()["notebooks"]["02"]
    source = json.loads((run / "run.json").read_text())
    assert {k: entry[k] for k in results.HEAD} == {k: source[k] for k in results.HEAD}
    assert entry["part"] is None and entry["records"] == NB02["records"] and entry["seconds"] == 1500.0
    assert "02: 02_logistic_regression.ipynb stored" in capsys.readouterr().out

    assert main(["results", "render"]) == EXIT_OK
    cells = row("docs/results.md", "02")
    assert cells[1:9] == ["logistic regression", "100, 100", "92.50% (epoch 100)", "92.60%", "≥ 92.0%", "met",
                          "25.0 min", "1.50 s"]
    assert cells[9] == "`c0ffeec`" and cells[10] == f"`mnist-lab run --out {run}`"
    assert row("README.md", "03")[1:5] == ["not measured yet", "", "", ""]       # no invented numbers
    readme = Path("README.md").read_text()
    assert "60,000 training and 10,000 test images" in readme and "f68b3c2d" not in readme   # md5s: docs only
    assert readme.startswith("# Course\n\n## Results\n") and readme.endswith(f"{results.END}\n\nMore.\n")
    docs = Path("docs/results.md").read_text()
    assert row("README.md", "02") == [cells[i] for i in (0, 1, 2, 3, 4, 7)]   # students see no goals or commands
    assert "f68b3c2dcbeaaa9fbdd348bbdeb94873" in docs
    assert "\nold\n" not in docs and docs.endswith("Kept.\n") and "not run yet" in docs
    assert main(["results", "render", "--check"]) == EXIT_OK


def test_adding_a_notebook_again_replaces_it(repo):
    assert main(["results", "add", str(write_run(repo / "a", NB02))]) == EXIT_OK
    lower = notebook(NB02["notebook"], [record("logistic regression", 0.9150, 0.9100, 100)], BATCH_SIZE=100)
    assert main(["results", "add", str(write_run(repo / "b", lower))]) == EXIT_OK
    parts = stored()["notebooks"]["02"]
    assert len(parts) == 1 and parts[0]["records"] == lower["records"]
    main(["results", "render"])
    assert row("docs/results.md", "02")[4:7] == ["91.50%", "≥ 92.0%", "not met"]   # a shortfall is shown as such


def test_parts_add_up_and_a_part_with_the_same_label_is_replaced(repo, capsys):
    assert main(["results", "add", str(write_run(repo / "p0", seeds09(0))), "--part", "seed 0"]) == EXIT_OK
    main(["results", "render"])
    assert row("README.md", "09")[4:] == ["99.60% (seed 0)", "60.0 min in 1 part"]
    assert row("docs/results.md", "09")[6] == "pending: 1 of 3 seeds"   # the goal is a mean of 3 seeds
    assert main(["results", "add", str(write_run(repo / "p1", seeds09(1, 2, accuracy=0.990))),
                 "--part", "seeds 1-2"]) == EXIT_OK
    assert main(["results", "add", str(write_run(repo / "p1b", seeds09(1, 2))), "--part", "seeds 1-2"]) == EXIT_OK
    assert "part 'seeds 1-2' stored (2 parts)" in capsys.readouterr().out
    parts = stored()["notebooks"]["09"]
    assert [p["part"] for p in parts] == ["seed 0", "seeds 1-2"]
    assert [p["command"].split()[-1] for p in parts] == [str(repo / "p0"), str(repo / "p1b")]
    main(["results", "render"])
    cells = row("docs/results.md", "09")
    assert cells[1] == "data augmentation, all training images" and cells[2] == "30, 64" and cells[3] == "99.40%"
    assert cells[4] == "99.61% ± 0.01 (seeds 0, 1, 2)" and cells[6] == "met"   # 99.60, 99.61, 99.62
    assert cells[7] == "180.0 min in 2 parts" and cells[10].count("`mnist-lab run") == 2
    # A part that repeats a seed of another part would count it twice: refused.
    before = Path("docs/results.json").read_bytes()
    assert main(["results", "add", str(write_run(repo / "p2", seeds09(2))), "--part", "seed 2"]) == EXIT_USAGE
    assert "already in another part" in capsys.readouterr().err
    assert Path("docs/results.json").read_bytes() == before
    # A whole run replaces the parts.
    assert main(["results", "add", str(write_run(repo / "all", seeds09(0, 1, 2)))]) == EXIT_OK
    assert [p["part"] for p in stored()["notebooks"]["09"]] == [None]


@pytest.mark.parametrize("accuracies, met", [
    ([0.97999996], "met"),                    # 9,800 of 10,000 test digits, as float32 stores it
    ([0.9799], "not met"),
    ([0.9797, 0.9800, 0.9802], "not met"),    # mean 97.9967%: shown as 98.00%, still short of 98.0%
    ([0.9800, 0.9800, 0.9801], "met"),
])
def test_goal_is_met_only_by_a_mean_at_or_above_it(accuracies, met):
    final = [record(f"seed {s}", a) for s, a in enumerate(accuracies)]
    assert results.notebook_row("04", [{**notebook("04_x.ipynb", final), "part": None, "commit": "a", "command": "c"}])[6] == met


@pytest.mark.parametrize("kind, message", [
    ("missing", "no run.json"),
    ("quick", "a quick-profile run"),
    ("failed", "did not finish (FAILED at cell 7: ValueError)"),
    ("dirty", "uncommitted changes"),
    ("outside git", "uncommitted changes (or outside git)"),
    ("test copy", "not the complete MNIST (mnist, 5000 training and 10000 test images)"),
    ("nothing finished", "no finished notebook"),
    ("bench part", "--part is for a notebook"),
])
def test_refusals_are_one_line_and_write_nothing(repo, capsys, kind, message):
    good = write_run(repo / "good", NB02)
    main(["results", "add", str(good)])
    before = Path("docs/results.json").read_bytes()
    bad = repo / "bad"
    options = []
    if kind == "missing":
        bad.mkdir()
    elif kind == "quick":
        write_run(bad, NB02, quick=True)
    elif kind == "failed":
        write_run(bad, notebook("03_dense_networks.ipynb", [], status="FAILED at cell 7: ValueError"))
    elif kind in ("dirty", "outside git"):
        write_run(bad, NB02, dirty=True if kind == "dirty" else None)
    elif kind == "test copy":
        write_run(bad, NB02, train_images=5000)
    elif kind == "nothing finished":
        write_run(bad)
    else:
        write_run(bad, bench={"seconds": 1, "epochs": 1, "seeds": [0], "input_pipeline": {}, "stages": []})
        options = ["--part", "x"]
    # Refused along with a good run: nothing of either is written.
    assert main(["results", "add", str(write_run(repo / "more", seeds09(0))), str(bad), *options]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1 and err.startswith("mnist-lab results: ")
    assert Path("docs/results.json").read_bytes() == before


def test_allow_dirty_publishes_and_says_so(repo):
    assert main(["results", "add", str(write_run(repo / "d", NB02, dirty=True)), "--allow-dirty"]) == EXIT_OK
    main(["results", "render"])
    assert "(uncommitted changes)" in Path("docs/results.md").read_text()


def test_bench_is_stored_and_rendered(repo):
    stage = {"stage": "logistic regression", "notebook": "02",
             "records": [record("logistic regression", 0.92, 0.915, 10), record("logistic regression", 0.924, 0.92)]}
    bench = {"seconds": 120.6, "epochs": 10, "seeds": [0, 1], "input_pipeline": {"numpy": 1.0}, "stages": [stage]}
    assert main(["results", "--file", "docs/results.json", "add", str(write_run(repo / "b", bench=bench))]) == 0
    assert stored()["bench"]["stages"] == [stage] and stored()["notebooks"] == {}
    main(["results", "render"])
    assert row("docs/results.md", "logistic regression")[1:] == ["02", "3.00 s", "91.75%", "92.20% ± 0.28"]
    assert "10 epochs, seeds 0, 1, 121 s in all" in Path("docs/results.md").read_text()


def test_check_names_the_first_page_that_disagrees_and_writes_nothing(repo, capsys):
    main(["results", "add", str(write_run(repo / "a", NB02))])
    main(["results", "render"])
    readme = Path("README.md").read_text()
    Path("README.md").write_text(readme.replace("92.60%", "99.90%"))       # a number typed by hand
    assert main(["results", "render", "--check"]) == EXIT_FAILED
    err = capsys.readouterr().err
    assert err.strip() == "mnist-lab results: README.md disagrees with docs/results.json; run mnist-lab results render"
    assert "99.90%" in Path("README.md").read_text()
    assert main(["results", "render"]) == EXIT_OK and Path("README.md").read_text() == readme
    Path("docs/results.md").write_text(Path("docs/results.md").read_text().replace("| 04 |", "| 04 | 99% |"))
    assert main(["results", "render", "--check"]) == EXIT_FAILED
    assert "docs/results.md disagrees" in capsys.readouterr().err


@pytest.mark.parametrize("problem, message", [
    ("markers", "README.md: needs one <!-- results:begin --> line"),
    ("no file", "docs/results.json: no such file"),
    ("bad json", "docs/results.json: not valid JSON"),
])
def test_render_problems_are_one_line(repo, capsys, problem, message):
    if problem != "no file":
        Path("docs/results.json").write_text("{" if problem == "bad json" else '{"notebooks": {}, "bench": null}')
    if problem == "markers":
        Path("README.md").write_text("# Course\n")
    assert main(["results", "render"]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_committed_pages_agree_with_the_committed_results(monkeypatch, capsys):
    monkeypatch.chdir(ROOT)
    assert main(["results", "render", "--check"]) == EXIT_OK, capsys.readouterr().err


# --- only the complete MNIST, judged by content ---------------------------------

FULL = ROOT.parent / "shared" / "data" / "mnist-full"
needs_full = pytest.mark.skipif(not FULL.is_dir(), reason=f"the complete MNIST is not at {FULL}")


def measured_run(folder):
    """A run.json as mnist-lab run writes it for the data it finds now, from a clean checkout."""
    head = provenance.header("mnist", quick=False, arguments=["run", "--out", str(folder)])
    folder.mkdir(parents=True)
    provenance.write(folder, {**head, "commit": "c0ffee" * 6 + "abcd", "dirty": False, "notebooks": [NB02]})
    return folder


def write_idx_folder(folder, x_train, y_train, x_test, y_test):
    """The four IDX files, uncompressed (fast to write; load_data reads raw and .gz alike)."""
    folder.mkdir()
    for stem, array in zip((s for pair in data.IDX_NAMES.values() for s in pair), (x_train, y_train, x_test, y_test)):
        idx.write_idx(folder / stem, array)
    return folder


@pytest.mark.parametrize("kind", ["tiled 5k", "inverted, random labels"])
def test_data_of_the_right_size_but_not_the_complete_mnist_is_refused(repo, mnist_small, monkeypatch, capsys, kind):
    x, y = mnist_small
    x_train, y_train, x_test, y_test = (np.resize(a, (n, *a.shape[1:])) for a, n in
                                        ((x, 60_000), (y, 60_000), (x, 10_000), (y, 10_000)))
    if kind != "tiled 5k":
        rng = np.random.default_rng(0)
        x_train, x_test = 255 - x_train, 255 - x_test
        y_train, y_test = (rng.integers(0, 10, len(a)).astype(np.uint8) for a in (y_train, y_test))
    monkeypatch.setenv(data.DATA_ENV, str(write_idx_folder(repo / "data", x_train, y_train, x_test, y_test)))
    run = measured_run(repo / "run")
    recorded = json.loads((run / "run.json").read_text())["data"]
    assert (recorded["train_images"], recorded["test_images"]) == (60_000, 10_000)   # the size is right
    assert main(["results", "add", str(run)]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "not the complete MNIST (mnist, 60000 training and 10000 test " \
        "images, but its x_train, y_train, x_test, y_test differ from the complete MNIST's)" in err
    assert not Path("docs/results.json").exists()


@needs_full
@pytest.mark.parametrize("form", [".gz", "raw IDX", "Keras' mnist.npz"])
def test_the_complete_mnist_is_published_in_any_form(repo, monkeypatch, form):
    if form == ".gz":
        monkeypatch.setenv(data.DATA_ENV, str(FULL))
    elif form == "raw IDX":
        (repo / "raw").mkdir()
        for path in FULL.glob("*.gz"):
            (repo / "raw" / path.stem).write_bytes(gzip.decompress(path.read_bytes()))
        monkeypatch.setenv(data.DATA_ENV, str(repo / "raw"))
    else:   # the README's default: Keras' cache, no data folder set
        (x_train, y_train), (x_test, y_test) = data.load_idx_folder(FULL)
        (repo / "keras" / "datasets").mkdir(parents=True)
        np.savez(repo / "keras" / "datasets" / "mnist.npz", x_train=x_train, y_train=y_train, x_test=x_test,
                 y_test=y_test)
        monkeypatch.delenv(data.DATA_ENV, raising=False)
        monkeypatch.setenv("KERAS_HOME", str(repo / "keras"))
    assert main(["results", "add", str(measured_run(repo / "run"))]) == EXIT_OK
    entry, = stored()["notebooks"]["02"]
    assert entry["data"]["arrays"] == results.COMPLETE_ARRAYS
    assert (entry["data"]["train_images"], entry["data"]["test_images"]) == (60_000, 10_000)


@pytest.mark.parametrize("change, accepted", [(None, True), ("md5", False), ("file", False)])
def test_runs_recorded_before_array_checksums_are_judged_by_their_files(repo, change, accepted):
    """Runs recorded before array checksums hold only their IDX files' checksums; such a run.json is still recognised."""
    entry = json.loads((ROOT / "docs" / "results.json").read_text())["notebooks"]["02"][0]
    run = {**{k: entry[k] for k in results.HEAD}, "quick": False,
           "notebooks": [{k: entry[k] for k in ("notebook", "status", "seconds", "parameters", "records")}]}
    run["data"] = {k: v for k, v in run["data"].items() if k != "arrays"}   # as those runs recorded it
    files = run["data"]["files"]
    if change == "md5":
        files["train-labels-idx1-ubyte.gz"]["md5"] = "0" * 32
    elif change == "file":
        del files["t10k-images-idx3-ubyte.gz"]
    (repo / "old").mkdir()
    provenance.write(repo / "old", run)
    if accepted:
        assert results.read_run(repo / "old")["data"] == run["data"]
    else:
        with pytest.raises(results.Refused, match="files whose checksums are not the complete MNIST's"):
            results.read_run(repo / "old")


# --- many at once ----------------------------------------------------------------

def test_runs_added_at_the_same_time_are_all_kept(repo):
    """Several processes add parts at once: the file stays valid JSON and no part is lost."""
    processes, each = 4, 6
    for p in range(processes):
        for i in range(each):
            write_run(repo / f"p{p}-{i}", seeds09(10 * p + i, accuracy=0.99))
    # Each process imports everything, says it is ready, and waits for the others: then all add at once.
    script = ("import pathlib, sys, time\nfrom mnist_lab.tooling import cli, results\n"
              "p, n = sys.argv[1], int(sys.argv[2])\npathlib.Path(f'ready-{p}').touch()\n"
              "while not pathlib.Path('go').exists():\n    time.sleep(0.005)\n"
              "for i in range(n):\n"
              "    assert cli.main(['results', 'add', f'p{p}-{i}', '--part', f'p{p}-{i}']) == 0\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    running = [subprocess.Popen([sys.executable, "-c", script, str(p), str(each)], cwd=repo, env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
               for p in range(processes)]
    deadline = time.monotonic() + 60
    while len(list(repo.glob("ready-*"))) < processes and time.monotonic() < deadline:
        time.sleep(0.01)
    (repo / "go").touch()
    errors = [proc.communicate(timeout=60)[1] for proc in running]
    assert [proc.returncode for proc in running] == [0] * processes, errors
    parts = stored()["notebooks"]["09"]
    assert sorted(p["part"] for p in parts) == sorted(f"p{p}-{i}" for p in range(processes) for i in range(each))
    assert not list(Path("docs").glob("*.partial"))


# --- records checked on the way in -------------------------------------------------

def broken(kind):
    """NB02 with one thing wrong, as a run.json's text."""
    nb = json.loads(json.dumps(NB02))
    final = nb["records"][1]
    if kind == "missing field":
        del final["best_val_accuracy"]
    elif kind == "text for a number":
        final["test_accuracy"] = "0.93"
    elif kind == "150%":
        final["test_accuracy"] = 1.5
    elif kind == "NaN":
        final["test_accuracy"] = float("nan")
    elif kind == "records not a list":
        nb["records"] = "none"
    return nb


@pytest.mark.parametrize("kind, message", [
    ("missing field", "notebooks[0].records[1]: 'best_val_accuracy' is a required property"),
    ("text for a number", "notebooks[0].records[1].test_accuracy: '0.93' is not of type 'number', 'null'"),
    ("150%", "notebooks[0].records[1].test_accuracy: 1.5 is greater than the maximum of 1"),
    ("NaN", "not valid JSON (NaN is not a number JSON allows)"),
    ("records not a list", "notebooks[0].records: 'none' is not of type 'array'"),
    ("notebooks not a list", "notebooks: 'x' is not of type 'array'"),
    ("no data", "top level: 'data' is a required property"),
    ("not an object", "expected a JSON object, found a list"),
    ("cut short", "not valid JSON"),
])
def test_malformed_runs_are_refused_in_one_line(repo, capsys, kind, message):
    run = write_run(repo / "bad", broken(kind))
    text = (run / "run.json").read_text()
    if kind == "notebooks not a list":
        text = json.dumps({**json.loads(text), "notebooks": "x"})
    elif kind == "no data":
        text = json.dumps({k: v for k, v in json.loads(text).items() if k != "data"})
    elif kind == "not an object":
        text = "[]"
    elif kind == "cut short":
        text = text[:len(text) // 2]
    (run / "run.json").write_text(text)
    assert main(["results", "add", str(run)]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1 and err.startswith("mnist-lab results: ")
    assert not Path("docs/results.json").exists()


def test_a_malformed_results_file_is_refused_in_one_line(repo, capsys):
    assert main(["results", "add", str(write_run(repo / "a", NB02))]) == EXIT_OK
    store = stored()
    del store["notebooks"]["02"][0]["machine"]
    Path("docs/results.json").write_text(json.dumps(store))
    assert main(["results", "render"]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert "docs/results.json: notebooks['02'][0]: 'machine' is a required property" in err
    assert len(err.strip().splitlines()) == 1


def test_table_text_keeps_to_its_cell_and_row(repo):
    nb = notebook(NB02["notebook"], [record("logistic | regression", 0.9260, 0.9250, 100)], BATCH_SIZE="10|0")
    run = write_run(repo / "a", nb)
    source = json.loads((run / "run.json").read_text())
    source["command"] = "mnist-lab run --set 'NAME=a\nb | c'"
    (run / "run.json").write_text(json.dumps(source))
    assert main(["results", "add", str(run)]) == EXIT_OK and main(["results", "render"]) == EXIT_OK
    for page, columns in (("README.md", results.README_COLUMNS), ("docs/results.md", results.HEADER)):
        line, = [line for line in Path(page).read_text().splitlines() if line.startswith("| 02 |")]
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip("|"))]
        assert len(cells) == len(columns) and cells[1] == r"logistic \| regression" and cells[2] == r"100, 10\|0"
    docs = Path("docs/results.md").read_text()
    assert r"`mnist-lab run --set 'NAME=a b \| c'`" in docs      # the table's command
    assert "* **02**: `MNIST_LAB_DATA_DIR=/data/mnist mnist-lab run --set 'NAME=a b | c'`" in docs   # the list's
    assert main(["results", "render", "--check"]) == EXIT_OK


@pytest.mark.parametrize("where", ["an empty folder", "a folder with docs/ but no pages"])
def test_add_from_the_wrong_folder_starts_no_results_file(tmp_path, monkeypatch, capsys, where):
    run = write_run(tmp_path / "run", NB02)
    (tmp_path / "elsewhere").mkdir()
    if where != "an empty folder":
        (tmp_path / "elsewhere" / "docs").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    assert main(["results", "add", str(run)]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert "run from the repository root" in err and len(err.strip().splitlines()) == 1
    assert not Path("docs/results.json").exists()
    assert main(["results", "--file", "nowhere/results.json", "add", str(run)]) == EXIT_USAGE
    assert "nowhere: no such folder" in capsys.readouterr().err and not Path("nowhere").exists()


@pytest.mark.parametrize("text, span", [("mnist-lab run", "`mnist-lab run`"),
                                        ("run --set NAME=`x`", "`` run --set NAME=`x` ``"),
                                        ("a ``b`` c", "```a ``b`` c```")])
def test_a_command_with_backticks_stays_one_code_span(text, span):
    assert results.code(text) == span


def test_a_stored_command_with_a_backtick_renders_whole(repo):
    run = write_run(repo / "a", NB02)
    entry = json.loads((run / "run.json").read_text())
    entry["command"] = "mnist-lab run --set 'NOTE=`x`'"
    provenance.write(run, entry)
    assert main(["results", "add", str(run)]) == EXIT_OK and main(["results", "render"]) == EXIT_OK
    assert row("docs/results.md", "02")[10] == "``mnist-lab run --set 'NOTE=`x`'``"
    assert "* **02**: ``MNIST_LAB_DATA_DIR=/data/mnist mnist-lab run --set 'NOTE=`x`'``, commit" in \
        Path("docs/results.md").read_text()
