"""The committed lessons carry the outputs of a published complete-MNIST run, stamped so they cannot go stale.

``mnist-lab results stamp RUN_DIR`` copies every output of each executed notebook in a run folder into the
lesson of the same name, once the run is in ``docs/results.json``. Each code cell records the sha256 of the
source that produced its outputs; the notebook records its run (start time, commit, part). :func:`problems`
lists every output that no longer matches its cell's source or whose run is not published.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import nbformat

from . import results, runner

KEY = "mnist_lab"          # cell and notebook metadata written here
RUN_FIELDS = ("started", "commit", "part")
INSTALL_LINE = re.compile(r'^INSTALL_FROM = "[^"\n]*"$', re.M)   # the line publish.SETUP_CELL fills in


def source_hash(source: str) -> str:
    """sha256 of a cell's source: what the stamp on its outputs records.

    The setup cell's install address is left out: ``mnist-lab publish`` rewrites it for a fork, and no run
    outside Colab reads it.
    """
    return hashlib.sha256(INSTALL_LINE.sub('INSTALL_FROM = ""', source).encode()).hexdigest()


def run_of(nb: nbformat.NotebookNode) -> dict | None:
    """The run a lesson's outputs come from, or None for a lesson without outputs."""
    return nb.metadata.get(KEY, {}).get("run")


def stamp(lesson: nbformat.NotebookNode, executed: nbformat.NotebookNode, run: dict, where: str = "") -> None:
    """Give ``lesson`` (in place) the outputs of ``executed``, cell by cell (matched by id), and their stamps."""
    ran = {cell.get("id"): cell for cell in executed.cells if cell.cell_type == "code"}
    runner.clean(lesson)
    count = 0
    for i, cell in enumerate(lesson.cells):
        if cell.cell_type != "code":
            continue
        twin = ran.get(cell.get("id"))
        if twin is None or twin.source != cell.source:
            raise results.Refused(f"{where}: cell {i} differs from the one that ran; run the notebook again "
                                  "from this commit, then add and stamp that run")
        count += 1   # numbered as a fresh kernel numbers them; TensorFlow's log lines on stderr left out
        runner.set_outputs(cell, [out for out in twin.outputs if out.get("name") != "stderr"], count)
        cell.metadata[KEY] = {"source_sha256": source_hash(cell.source)}
    lesson.metadata[KEY] = {"run": {k: run.get(k) for k in RUN_FIELDS}}


def problems(nb: nbformat.NotebookNode, key: str, store: dict) -> list[str]:
    """Why the outputs of lesson ``key`` (e.g. "08") cannot be trusted; [] when every one is current.

    A lesson without a run stamp may keep only nbval's checked outputs (:func:`runner.clean`).
    """
    found = []
    run = run_of(nb)
    if run is not None:
        published = [{k: e.get(k) for k in RUN_FIELDS} for e in store["notebooks"].get(key, [])]
        if run not in published:
            found.append(f"its outputs come from run {run}, which docs/results.json does not hold for {key}")
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        if run is None:
            if cell.outputs and not runner.is_checked(cell):
                found.append(f"cell {i} stores outputs of no published run")
            continue
        # every code cell, with outputs or not: an edited Parameters cell makes the outputs after it stale
        recorded = cell.metadata.get(KEY, {}).get("source_sha256")
        if recorded != source_hash(cell.source):
            found.append(f"cell {i} changed since the run that made the outputs: run the notebook again, then stamp")
    return found


def stamp_run(folder: str | Path, file: Path = results.FILE, lessons_dir: Path = Path("notebooks")) -> list[str]:
    """Stamp every notebook of the run in ``folder`` into ``lessons_dir``; the run must be in ``file``."""
    folder = Path(folder)
    run = results.read_run(folder)
    store = results.load_store(file)
    lines = []
    for key, entry in results.entries(run, str(folder), None):
        stored = next((e for e in store["notebooks"].get(key, [])
                       if (e["started"], e["commit"]) == (run["started"], run["commit"])), None)
        if stored is None:
            raise results.Refused(f"{folder}: {entry['notebook']} of this run is not in {file}; "
                                  "mnist-lab results add it first")
        lesson_path = lessons_dir / entry["notebook"]
        lesson = runner.read(lesson_path)
        stamp(lesson, runner.read(folder / entry["notebook"]), {**run, "part": stored["part"]}, str(lesson_path))
        runner.write(lesson, lesson_path)
        lines.append(f"{lesson_path}: outputs of the run of {run['started']} "
                     f"({lesson_path.stat().st_size / 1e6:.1f} MB)")
    return lines

