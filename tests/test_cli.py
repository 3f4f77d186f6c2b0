"""The mnist-lab command: run, bench, and their errors."""

import dataclasses

import keras
import nbformat
import numpy as np
import pytest

from mnist_lab import bench, models, train
from mnist_lab.cli import main


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
    ok = write_nb(src / "01_ok.ipynb", 'DATASET = "mnist"',
                  "import os\nprint('dataset', DATASET, 'quick', os.environ.get('MNIST_LAB_QUICK'))",
                  "from mnist_lab import train\n"
                  "train.report(train.RunRecord('tiny', 10, 2, 0.5, 0.91, 2, test_accuracy=0.875))")
    bad = write_nb(src / "02_bad.ipynb", 'DATASET = "mnist"', "x = 1", "1 / 0", "print('never')")
    return ok, bad


def test_run_table_failure_and_outputs(lessons, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("MNIST_LAB_QUICK", raising=False)
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
    executed = nbformat.read(str(out / "01_ok.ipynb"), as_version=4)
    text = "".join(o.get("text", "") for c in executed.cells for o in c.get("outputs", []))
    assert "dataset fashion_mnist quick 1" in text
    assert (out / "02_bad.ipynb").exists()
    # Never overwrite without being asked.
    assert main(["run", str(ok), "--out", str(out)]) == 2
    assert "exists" in capsys.readouterr().err
    assert main(["run", str(ok), "--out", str(out), "--force"]) == 0


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
])
def test_run_set_and_timeout_errors(lessons, tmp_path, capsys, option, message):
    ok, _ = lessons
    out = tmp_path / "out"
    assert main(["run", str(ok), *option, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert not out.exists()  # nothing ran, nothing written


def test_bench_argument_errors(capsys, tmp_path):
    assert main(["bench", "--epochs", "0", "--out", str(tmp_path / "a")]) == 2
    assert "--epochs must be at least 1" in capsys.readouterr().err
    assert main(["bench", "--seeds", "0", "--out", str(tmp_path / "b")]) == 2
    assert main(["bench", "--stages", "resnet", "--out", str(tmp_path / "c")]) == 2
    assert "unknown stage 'resnet'" in capsys.readouterr().err


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


def test_markdown_table_statistics():
    stage = bench.STAGES[0]
    runs = [train.RunRecord(stage.name, 7850, 3, 0.5, v, 3, test_accuracy=t, images_per_second=1000.0)
            for v, t in [(0.90, 0.88), (0.92, 0.90)]]
    result = bench.StageResult(stage, runs)
    row = result.row()
    assert row[5] == "91.00%" and row[6] == f"89.00% ± {100 * np.std([0.88, 0.90], ddof=1):.2f}"
    table = bench.markdown_table([result])
    assert table.splitlines()[0].startswith("| stage | notebook | parameters")
    assert len(table.splitlines()) == 3


def test_plot_stages_draws_accuracy_and_speed_per_stage():
    from matplotlib.figure import Figure

    results = [bench.StageResult(stage, [train.RunRecord(stage.name, 10, 3, seconds, 0.9, 3, test_accuracy=t,
                                                         images_per_second=1000.0)
                                         for t in tests])
               for stage, seconds, tests in [(bench.STAGES[0], 0.5, [0.90, 0.92]), (bench.STAGES[1], 1.5, [0.97])]]
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
    notebooks = [stage.notebook for stage in bench.STAGES]
    assert notebooks == sorted(notebooks) and notebooks[-1] == "09"
    assert [s.notebook for s in bench.stages_through("08")] == notebooks[:-1]
    with pytest.raises(ValueError, match=r"no stage comes from notebook '10'; expected one of \['02'"):
        bench.stages_through("10")


def test_bench_builds_the_augmented_stage_for_its_dataset(digits):
    asked = []

    def spy(**kwargs):
        asked.append(kwargs)
        return models.logistic_regression(input_shape=(28, 28, 1))

    stages = [dataclasses.replace(bench.STAGES[-1], build=spy), dataclasses.replace(bench.STAGES[0], build=spy)]
    x, y = digits
    bench.run_stages(x[:400], y[:400], x[400:], y[400:], epochs=1, stages=stages,
                     dataset="fashion_mnist", log=None)
    assert asked == [{"dataset": "fashion_mnist"}, {}]    # only notebook 9's stage depends on the data


def test_augmented_stage_uses_its_own_learning_rate():
    stage = bench.STAGES[-1]
    optimizer = stage.make_optimizer()
    assert float(optimizer.learning_rate.numpy()) == pytest.approx(0.003)
    schedule = stage.callbacks()[0].schedule
    assert schedule(0) == pytest.approx(0.003) and schedule(1) == pytest.approx(0.0027)
    assert stage.build().count_params() == 345_610
    batch_norm = bench.STAGES[-2].build()
    assert {layer.momentum for layer in batch_norm.layers if isinstance(layer, keras.layers.BatchNormalization)} == {0.99}
