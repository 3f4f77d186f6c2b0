"""The notebooks' prose teaches students with the complete data set.

Students run the series on the complete MNIST (Colab, a laptop), so the text
must not describe the small copy the test suite uses, nor how the course was
developed; and every count the text quotes for the complete data set must be
what the notebook's own code computes for it.
"""

import contextlib
import inspect
import io
import json
import math
import re
import statistics
from pathlib import Path

import numpy as np
import pytest

from mnist_lab import data
from mnist_lab.tooling import lessons, results, runner, stamp

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = {p.name[:2]: p for p in lessons.notebooks(ROOT / "notebooks")}
by_name = pytest.mark.parametrize("path", list(NOTEBOOKS.values()), ids=lambda p: p.stem)

# Words that belong to the project's history or its test set-up, not to a lesson.
NOT_FOR_STUDENTS = re.compile(
    r"\bour (full )?runs?\b|\bin CI\b|\bCI\b|4,500|5,000[- ]digit|offline (copy|set|digits|data)"
    r"|the README has|\bissues?\b|\btargets?\b|\bour machines\b|\bwe (tried|ran|measured)\b",
    re.IGNORECASE)

FIGURES_MARK = "# Numbers for the text"
MNIST_TRAIN, MNIST_TEST = 60_000, 10_000


def prose(path):
    """(cell index, text) for every markdown cell and every comment of every code cell."""
    for i, cell in enumerate(runner.read(path).cells):
        if cell.cell_type == "markdown":
            yield i, cell.source
        else:
            for line in cell.source.splitlines():
                if "#" in line:
                    yield i, line[line.index("#"):]


def parameters(number):
    """The settings of notebook ``number``'s parameters cell, as a dict."""
    nb = runner.read(NOTEBOOKS[number])
    values = {}
    exec(nb.cells[runner.parameters_index(nb)].source, {}, values)  # plain NAME = literal lines
    return values


def complete_split(number):
    """(training, validation) sizes the notebook's split gives on the complete MNIST."""
    params = parameters(number)
    labels = np.arange(MNIST_TRAIN) % 10
    # Notebooks without VAL_SIZE use load_splits' default.
    val_size = params.get("VAL_SIZE", inspect.signature(data.load_splits).parameters["val_size"].default)
    (x_train, _), (x_val, _) = data.train_val_split(np.zeros((MNIST_TRAIN, 1), "uint8"), labels,
                                                    val_size=val_size)
    return len(x_train), len(x_val)


def markdown(number):
    return "\n".join(c.source for c in runner.read(NOTEBOOKS[number]).cells if c.cell_type == "markdown")


@by_name
def test_prose_is_a_lesson_not_a_log(path):
    hits = [f"cell {i}: ...{text[max(0, m.start() - 40):m.end() + 40]}..."
            for i, text in prose(path) for m in NOT_FOR_STUDENTS.finditer(text)]
    assert not hits, "text about the project or its test data, not for students:\n" + "\n".join(hits)


def test_the_guard_catches_development_log():
    samples = ["In our full run on the offline copy it reached 98%.", "The README has both runs.",
               "45 steps with 4,500 images", "# seed 0 kills it in CI", "the course's goal (issue 7)"]
    assert all(NOT_FOR_STUDENTS.search(s) for s in samples)
    assert not NOT_FOR_STUDENTS.search("The line above gives your result; your runs may differ.")


# (notebook, text in its markdown with {} for the value, value computed from its parameters).
STEPS = lambda number: math.ceil(complete_split(number)[0] / parameters(number)["BATCH_SIZE"])  # noqa: E731
CLAIMS = [
    ("02", "complete MNIST's {:,} training images", lambda n: complete_split(n)[0]),
    ("02", "in batches of 100 that is {:,}", STEPS),
    ("03", "{:,} with the complete MNIST", STEPS),
    ("03", "{:.3f} points for the {:,} validation images", lambda n: (100 / complete_split(n)[1], complete_split(n)[1])),
    ("06", "({:.3f} with the {:,} validation images", lambda n: (100 / complete_split(n)[1], complete_split(n)[1])),
    ("07", "an epoch is {:,} steps of 128 images", STEPS),
    ("08", "an epoch is {:,} steps", STEPS),
    ("08", "the complete MNIST ({:,} steps per epoch)", STEPS),
    ("08", "that is {:.2f} points", lambda n: 100 * math.sqrt(0.98 * 0.02 / complete_split(n)[1])),
    ("09", "{:.3f} on the {:,} of the complete MNIST", lambda n: (100 / complete_split(n)[1], complete_split(n)[1])),
    ("09", "about {:.2f} points at 99% on the {:,}",
     lambda n: (100 * math.sqrt(0.99 * 0.01 / complete_split(n)[1]), complete_split(n)[1])),
    ("03", "about {:.2f} points on the {:,} validation images and {:.2f} points on the {:,} test images",
     lambda n: (100 * math.sqrt(0.98 * 0.02 / complete_split(n)[1]), complete_split(n)[1],
                100 * math.sqrt(0.98 * 0.02 / MNIST_TEST), MNIST_TEST)),
    ("10", "makes {:,} full steps per epoch over the same 60,000",
     lambda n: MNIST_TRAIN // parameters(n)["BATCH_PER_REPLICA"]),
]


@pytest.mark.parametrize("number, template, compute", CLAIMS, ids=[f"{c[0]}:{c[1][:30]}" for c in CLAIMS])
def test_figures_for_the_complete_data_follow_the_parameters(number, template, compute):
    value = compute(number)
    quoted = template.format(*value) if isinstance(value, tuple) else template.format(value)
    assert quoted in markdown(number), \
        f"notebook {number} should say {quoted!r} (computed from its parameters for the complete MNIST)"


def figure_cells():
    for number, path in NOTEBOOKS.items():
        for i, cell in enumerate(runner.read(path).cells):
            if cell.cell_type == "code" and cell.source.startswith(FIGURES_MARK):
                yield pytest.param(number, cell.source, id=f"{number}-cell{i}")


@pytest.mark.parametrize("number, source", list(figure_cells()))
def test_printed_figures_match_the_text_for_the_complete_data(number, source):
    """Run each figures cell on arrays the size of the complete MNIST: what it prints is what the text quotes."""
    n_train, n_val = complete_split(number)
    namespace = dict(parameters(number), math=math, np=np,
                     x_train=np.zeros((n_train, 1)), y_val=np.zeros(n_val), x_test=np.zeros((MNIST_TEST, 1)))
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(source, namespace)
    printed = set(re.findall(r"\d[\d,]*(?:\.\d+)?", out.getvalue())) - {str(namespace.get("BATCH_SIZE"))}
    text = markdown(number)
    assert printed, "a figures cell must print figures"
    missing = sorted(x for x in printed if not re.search(rf"(?<![\d.,]){re.escape(x)}(?![\d]|[.,]\d)", text))
    assert not missing, f"notebook {number} prints {missing} for the complete MNIST, but its text does not quote them"


def test_there_are_figures_cells():
    assert len(list(figure_cells())) >= 3


RUN_TIME = re.compile(r"\*\*Run time\b[^\n]*")


@by_name
def test_intro_states_the_measured_run_time(path):
    """Each introduction gives the run time measured on complete MNIST (docs/results.json), or calls it an estimate."""
    store = json.loads((ROOT / "docs" / "results.json").read_text())
    line = RUN_TIME.search(runner.read(path).cells[0].source)
    assert line, f"{path.name}: the introduction has no **Run time** line"
    parts = store["notebooks"].get(path.name[:2])
    if not parts:
        assert "(measured)" not in line.group() and "estimate" in line.group(), line.group()
        return
    cores = parts[0]["machine"]["cpus"]
    minutes = round(sum(p["seconds"] for p in parts) / 60)   # the default run, all its parts together
    said = "under a minute" if minutes < 1 else f"{minutes} minute{'s' * (minutes != 1)}"
    said += f" on {'two' if cores == 2 else cores} CPU cores (measured"
    if any(p["part"] is not None for p in parts):
        said += f", in {len(parts)} parts"
    assert said in line.group(), line.group()


@by_name
def test_intro_states_the_measured_accuracy(path):
    """Where a notebook was measured on complete MNIST, its introduction says what test accuracy to expect."""
    parts = json.loads((ROOT / "docs" / "results.json").read_text())["notebooks"].get(path.name[:2])
    final = results.final_records(parts) if parts else []
    intro = runner.read(path).cells[0].source
    said = re.search(r"\*\*What to expect:\*\*[^\n]*?about (\d+\.\d)% on the test set", intro)
    if not final:
        assert said is None, f"{path.name}: states an accuracy that docs/results.json does not hold"
        return
    assert said, f"{path.name}: the introduction does not say what test accuracy to expect"
    assert said.group(1) == f"{100 * statistics.mean(r['test_accuracy'] for r in final):.1f}"


def test_outputs_of_one_part_of_a_run_say_which_part():
    """Outputs stamped from one part of a run in parts (one seed of several) are announced as such."""
    for path in NOTEBOOKS.values():
        nb = runner.read(path)
        run = stamp.run_of(nb)
        if run is not None and run["part"] is not None:
            said = re.search(r"\*\*Outputs shown:\*\*[^\n]*", nb.cells[0].source)
            assert said and run["part"] in said.group(), \
                f"{path.name}: its outputs come from part {run['part']!r}; the introduction must say so"


# --- what the text says about the notebooks' runs on the complete MNIST ------------------------------

STORE = json.loads((ROOT / "docs" / "results.json").read_text())["notebooks"]


def final(number):
    """The final records (with a test accuracy) of notebook ``number``'s complete-MNIST runs."""
    return results.final_records(STORE[number])


def scores_of(number):
    """(test %, best validation %) of the notebook's one final model."""
    (record,) = final(number)
    return 100 * record["test_accuracy"], 100 * record["best_val_accuracy"]


def above_validation():
    """For each notebook with final models: did every one score higher on the test set than on validation?"""
    return {n: all(r["test_accuracy"] > r["best_val_accuracy"] for r in final(n)) for n in STORE if final(n)}


def chosen_name(number):
    (record,) = final(number)
    return record["name"]


RUN_CLAIMS = [
    ("03", "{:.2f}% on the test set against {:.2f}% on the validation images", lambda: scores_of("03")),
    ("06", "{:.2f}% on the test set against {:.2f}% on the validation images", lambda: scores_of("06")),
    ("03", "the chosen network ({} with the worked solution's candidates)", lambda: chosen_name("03").split()[0]),
    ("04", "(with the complete MNIST, {})", lambda: chosen_name("03").split()[0]),
]
# (notebook, sentence in its markdown, what must hold in docs/results.json for the sentence to be true)
RUN_FACTS = [
    ("03", "in most notebooks of this course the test accuracy ends up slightly *above* the best validation accuracy",
     lambda: sum(above_validation().values()) > len(above_validation()) / 2),
    ("09", "as in most notebooks of this course",
     lambda: sum(above_validation().values()) > len(above_validation()) / 2),
    ("09", "each of the three seeds scored higher on the test set than its kept epoch",
     lambda: len(final("09")) == 3 and above_validation()["09"]),
    ("06", "With the complete MNIST it came out slightly higher", lambda: above_validation()["06"]),
    ("06", "for the 'same'-padding candidate", lambda: chosen_name("06").startswith("same padding")),
    ("07", "with the complete MNIST that is the one the validation set chose",
     lambda: chosen_name("06").startswith("same padding")),
]


@pytest.mark.parametrize("number, template, compute", RUN_CLAIMS, ids=[f"{c[0]}:{c[1][:30]}" for c in RUN_CLAIMS])
def test_figures_of_the_runs_follow_docs_results(number, template, compute):
    value = compute()
    quoted = template.format(*value) if isinstance(value, tuple) else template.format(value)
    assert quoted in markdown(number), f"notebook {number} should say {quoted!r} (docs/results.json)"


@pytest.mark.parametrize("number, sentence, holds", RUN_FACTS, ids=[f"{c[0]}:{c[1][:30]}" for c in RUN_FACTS])
def test_statements_about_the_runs_hold_in_docs_results(number, sentence, holds):
    assert sentence in markdown(number), f"notebook {number} no longer says {sentence!r}: update RUN_FACTS"
    assert holds(), f"notebook {number} says {sentence!r}, which docs/results.json does not bear out"


def test_test_accuracy_is_not_said_to_fall_below_validation():
    """The complete-MNIST runs scored higher on the test set than on validation in most notebooks."""
    wrong = re.compile(r"test accuracy (is usually|a little) below|pull the test accuracy \*\*below", re.IGNORECASE)
    hits = [f"{n}: {m.group()}" for n in NOTEBOOKS for m in wrong.finditer(markdown(n))]
    assert not hits, hits


TEST_ACCURACY = re.compile(r"\bx_test")


@by_name
def test_headline_accuracies_say_when_they_come_from_the_quick_profile(path):
    """A few epochs on 1,000 images score far below the text's figures: the cell printing the test accuracy says why."""
    cells = [(i, c.source) for i, c in enumerate(runner.read(path).cells)
             if c.cell_type == "code" and TEST_ACCURACY.search(c.source) and "test_acc" in c.source]
    if path.name[:2] in STORE and final(path.name[:2]):
        assert cells, f"{path.name}: no cell computes the test accuracy"
    missing = [i for i, source in cells if "profile.note_if_quick(QUICK)" not in source]
    assert not missing, f"{path.name}: cells {missing} print a test accuracy without profile.note_if_quick(QUICK)"


def test_a_gap_between_two_models_is_judged_on_the_images_where_they_disagree():
    """Two models scored on the same images: the noise of their gap is sqrt(b + c) (McNemar), not one accuracy's."""
    for number in ("08", "09"):
        code = "\n".join(c.source for c in runner.read(NOTEBOOKS[number]).cells if c.cell_type == "code")
        assert "metrics.paired_counts(" in code and "McNemar" in markdown(number), number
    wrong = re.compile(r"by more than one standard error|gap against the chance spread", re.IGNORECASE)
    hits = [f"{n}: {m.group()}" for n in NOTEBOOKS for m in wrong.finditer(markdown(n))]
    assert not hits, hits


@by_name
def test_notebooks_import_nothing_from_the_tooling(path):
    code = "\n".join(c.source for c in runner.read(path).cells if c.cell_type == "code")
    assert not re.search(r"mnist_lab\.tooling|from mnist_lab import [^\n]*\btooling\b", code), \
        f"{path.name} imports mnist_lab.tooling: the course layer (mnist_lab) has what notebooks need"
