"""The committed lessons' outputs come from a published complete-MNIST run and match their cells' source."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from conftest import copy_tracked_files
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from mnist_lab.tooling import lessons, publish, results, runner, stamp

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = lessons.notebooks(ROOT / "notebooks")
STORE = results.load(ROOT / "docs/results.json")
RUN = {"started": "2026-12-04T18:13:50+0000", "commit": "a" * 40, "part": None}


def lesson():
    nb = new_notebook(cells=[new_markdown_cell("# A lesson"), new_code_cell("x = 6 * 7", id="c1"),
                             new_code_cell("print(x)", id="c2", metadata={"tags": ["nbval-check-output"]})])
    nb.cells[2].outputs = [new_output("stream", name="stdout", text="41\n")]   # stale: from an older run
    return nb


def executed():
    nb = lesson()
    nb.cells.insert(1, new_code_cell("QUICK = False", id="injected", metadata={"tags": ["injected-parameters"]}))
    nb.cells[3].outputs = [new_output("stream", name="stdout", text="4"), new_output("stream", name="stdout", text="2\n"),
                           new_output("stream", name="stderr", text="I0000 oneDNN custom operations are on\n")]
    nb.cells[3].execution_count = 3
    return nb


def published(run=RUN):
    return {"notebooks": {"08": [{**run, "notebook": "08_x.ipynb"}]}}


def test_stamp_copies_every_output_and_records_the_source():
    nb = lesson()
    stamp.stamp(nb, executed(), RUN)
    assert nb.cells[2].outputs == [new_output("stream", name="stdout", text="42\n")]   # merged, no stderr
    assert [c.execution_count for c in nb.cells[1:]] == [1, 2]                      # as a fresh kernel
    assert nb.cells[2].metadata[stamp.KEY] == {"source_sha256": stamp.source_hash("print(x)")}
    assert stamp.run_of(nb) == RUN
    assert stamp.problems(nb, "08", published()) == []
    nbformat.validate(nb)


def test_an_edited_cell_makes_its_outputs_stale():
    nb = lesson()
    stamp.stamp(nb, executed(), RUN)
    nb.cells[2].source = "print(x + 1)"
    assert stamp.problems(nb, "08", published()) == [
        "cell 2 changed since the run that made the outputs: run the notebook again, then stamp"]


def test_an_edited_cell_without_outputs_makes_the_outputs_after_it_stale():
    nb = lesson()
    stamp.stamp(nb, executed(), RUN)
    assert nb.cells[1].outputs == []
    nb.cells[1].source = "x = 6 * 8"    # like a changed Parameters cell: print(x) would show another number
    assert stamp.problems(nb, "08", published()) == [
        "cell 1 changed since the run that made the outputs: run the notebook again, then stamp"]


def test_a_published_fork_keeps_its_stamps():
    """mnist-lab publish rewrites the setup cell's install address, which no run outside Colab reads."""
    setup = publish.read_course(ROOT / "pyproject.toml").setup_cell()
    fork = publish.parse_course(
        (ROOT / "pyproject.toml").read_text().replace("mnist-lab/mnist-lab", "someone/fork")).setup_cell()
    assert fork != setup and stamp.source_hash(fork) == stamp.source_hash(setup)
    assert stamp.source_hash(setup) != stamp.source_hash(setup.replace("import sys", "import os"))


def test_outputs_of_a_run_not_in_the_results_are_refused():
    nb = lesson()
    stamp.stamp(nb, executed(), RUN)
    other = {**RUN, "started": "2026-12-01T00:00:00+0000"}
    assert stamp.problems(nb, "08", published(other)) == [
        f"its outputs come from run {RUN}, which docs/results.json does not hold for 08"]
    assert stamp.problems(nb, "09", published()) != []


def test_an_unstamped_lesson_keeps_only_checked_outputs():
    nb = lesson()
    assert stamp.problems(nb, "08", published()) == []        # the checked cell may hold its output
    nb.cells[1].outputs = [new_output("execute_result", data={"text/plain": "42"}, execution_count=1)]
    assert stamp.problems(nb, "08", published()) == ["cell 1 stores outputs of no published run"]


def test_a_cell_changed_since_the_run_cannot_be_stamped():
    nb = lesson()
    nb.cells[1].source = "x = 7 * 6"
    with pytest.raises(results.Refused, match=r"lesson.ipynb: cell 1 differs from the one that ran; run the notebook "
                                              r"again"):
        stamp.stamp(nb, executed(), RUN, "lesson.ipynb")


def test_stamp_run_refuses_a_run_that_is_not_published(tmp_path):
    (tmp_path / "run.json").write_text("{}")
    with pytest.raises(results.Refused, match="not a run.json that mnist-lab run or bench writes"):
        stamp.stamp_run(tmp_path, ROOT / "docs/results.json")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_outputs_are_current_and_published(path):
    nb = runner.read(path)
    assert stamp.problems(nb, path.name[:2], STORE) == []
    if stamp.run_of(nb) is not None:
        assert path.stat().st_size < 3.5e6, f"{path.name}: {path.stat().st_size / 1e6:.1f} MB of outputs"
        assert json.loads(path.read_text())["metadata"][stamp.KEY]["run"]["commit"]


FULL = ROOT.parent / "shared" / "data" / "mnist-full"


@pytest.mark.slow
@pytest.mark.skipif(not FULL.is_dir(), reason=f"the complete MNIST is not at {FULL}")
@pytest.mark.skipif(shutil.which("git") is None or not (ROOT / ".git").exists(), reason="needs git and a checkout")
def test_run_add_and_stamp_end_to_end_and_an_edit_is_caught(tmp_path):
    """The maintainer's path with the real command: run notebook 1 on the complete MNIST from a clean commit,
    add the run, stamp it; the copy's own staleness test passes, and fails once a code cell is edited."""
    course = copy_tracked_files(tmp_path / "course")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env.update(PYTHONPATH=str(course), MNIST_LAB_DATA_DIR=str(FULL), GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@t",
               GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@t")

    def sh(*args, timeout=300):
        done = subprocess.run(args, cwd=course, env=env, capture_output=True, text=True, timeout=timeout)
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
        return done.stdout

    sh("git", "init", "-q")
    sh("git", "add", "-A")
    sh("git", "commit", "-qm", "the course")
    cli = [sys.executable, "-m", "mnist_lab.tooling.cli"]
    sh(*cli, "run", "notebooks/01_data.ipynb", "--out", str(tmp_path / "run"))
    sh(*cli, "results", "add", str(tmp_path / "run"))
    assert "notebooks/01_data.ipynb: outputs of the run of" in sh(*cli, "results", "stamp", str(tmp_path / "run"))
    lesson = runner.read(course / "notebooks/01_data.ipynb")
    assert stamp.run_of(lesson)["commit"] == sh("git", "rev-parse", "HEAD").strip()
    assert any(out.get("output_type") == "display_data" for cell in lesson.cells for out in cell.get("outputs", []))
    staleness = [sys.executable, "-m", "pytest", "-q", "-n", "0", "tests/test_stamp.py",
                 "-k", "committed_outputs and 01_data"]
    assert " passed" in sh(*staleness)
    code = next(i for i, cell in enumerate(lesson.cells) if cell.cell_type == "code" and cell.outputs and i > 2)
    lesson.cells[code].source += "\n# edited after the run"
    runner.write(lesson, course / "notebooks/01_data.ipynb")
    failed = subprocess.run(staleness, cwd=course, env=env, capture_output=True, text=True, timeout=300)
    assert failed.returncode == 1 and f"cell {code} changed since the run that made the outputs" in failed.stdout
