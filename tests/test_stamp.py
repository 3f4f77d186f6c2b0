"""The committed lessons' outputs come from a published complete-MNIST run and match their cells' source."""

import json
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from mnist_lab.tooling import lessons, results, runner, stamp

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
        "cell 2 changed since its outputs were made: run the notebook again, then stamp"]


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
