"""The published results: ``docs/results.json`` and the tables rendered from it.

``mnist-lab results add`` stores what ``mnist-lab run`` and ``mnist-lab bench`` measured on the
complete MNIST, each with its commit, command and data; ``mnist-lab results render`` writes the
README's table and the measured part of ``docs/results.md`` from that file, so no published
number is typed by hand. Paths are relative to the repository root (the current folder).
"""

from __future__ import annotations

import json
import re
import statistics
from pathlib import Path

from . import provenance

FILE = Path("docs/results.json")
PAGES = (Path("README.md"), Path("docs/results.md"))
BEGIN, END = "<!-- results:begin -->", "<!-- results:end -->"
NOTEBOOKS = tuple(f"{n:02d}" for n in range(1, 11))
# Test accuracy (%) each final model should reach on the complete MNIST (the mean where several seeds).
GOALS = {"02": 92.0, "03": 97.5, "04": 98.0, "05": 98.0, "06": 99.0, "07": 99.2, "08": 99.5, "09": 99.6,
         "10": 99.3}
# Notebooks whose goal is a mean over several seeds: how many. Fewer stored seeds leave the goal pending.
GOAL_SEEDS = {"08": 3, "09": 3}
COMPLETE = {"name": "mnist", "train_images": 60_000, "test_images": 10_000}
HEAD = ("command", "environment", "started", "commit", "dirty", "data", "machine")


class Refused(ValueError):
    """A run that cannot be published, or a file that cannot be used; one line."""


class Disagrees(Exception):
    """A page whose rendered part differs from the results file (``render --check``); one line."""


def load(file: Path = FILE, new: bool = False) -> dict:
    """The stored results; with ``new``, an empty store when the file does not exist yet."""
    if new and not file.exists():
        return {"notebooks": {}, "bench": None}
    if not file.is_file():
        raise Refused(f"{file}: no such file; store runs in it with mnist-lab results add RUN_DIR")
    try:
        loaded = json.loads(file.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise Refused(f"{file}: not valid JSON ({e})") from None
    if not isinstance(loaded, dict):
        raise Refused(f"{file}: expected a JSON object, found a {type(loaded).__name__}")
    return loaded


def read_run(folder: str | Path, allow_dirty: bool = False) -> dict:
    """``folder/run.json``, refused unless it is a finished, committed run on the complete MNIST."""
    path = Path(folder) / provenance.RUN_FILE
    if not path.is_file():
        raise Refused(f"{folder}: no {provenance.RUN_FILE}; give a folder written by mnist-lab run or bench --out")
    run = load(path)
    if run.get("quick") is not False:
        raise Refused(f"{path}: a quick-profile run; publish only runs made without --quick or MNIST_LAB_QUICK")
    if run.get("dirty") is not False and not allow_dirty:
        raise Refused(f"{path}: made from a checkout with uncommitted changes (or outside git), so its commit "
                      "does not describe the code; commit and run again, or pass --allow-dirty")
    data = run.get("data") or {}
    if any(data.get(k) != v for k, v in COMPLETE.items()):
        raise Refused(f"{path}: not the complete MNIST ({data.get('name')}, {data.get('train_images')} training "
                      f"and {data.get('test_images')} test images); only complete-MNIST runs are published")
    return run


def entries(run: dict, where: str, part: str | None) -> list[tuple[str, dict]]:
    """(key, entry) per notebook of a run, or ("bench", entry): the run's provenance plus its results."""
    head = {k: run.get(k) for k in HEAD}
    if "stages" in run:
        if part is not None:
            raise Refused(f"{where}: a bench run; --part is for a notebook run in several parts")
        return [("bench", {**head, **{k: run[k] for k in ("seconds", "epochs", "seeds", "input_pipeline",
                                                           "stages")}})]
    if not run.get("notebooks"):
        raise Refused(f"{where}: no finished notebook in it yet")
    found = []
    for nb in run["notebooks"]:
        key = nb["notebook"][:2]
        if nb["status"] != "ok":
            raise Refused(f"{where}: {nb['notebook']} did not finish ({nb['status']}); fix it and run it again")
        if key not in NOTEBOOKS:
            raise Refused(f"{where}: {nb['notebook']} is not one of the notebooks 01 to 10")
        found.append((key, {"part": part, **head, **{k: nb[k] for k in ("notebook", "status", "seconds",
                                                                         "parameters", "records")}}))
    return found


def final_records(parts: list[dict]) -> list[dict]:
    """The final models of a notebook: the records with a test accuracy, over all its parts."""
    return [r for p in parts for r in p["records"] if r.get("test_accuracy") is not None]


def add(folders, file: Path = FILE, part: str | None = None, allow_dirty: bool = False) -> list[str]:
    """Merge the runs in ``folders`` into ``file``; all checks pass before anything is written."""
    store, done = {"notebooks": {}, "bench": None, **load(file, new=True)}, []
    new = [e for f in folders for e in entries(read_run(f, allow_dirty), str(f), part)]
    keys = [k for k, _ in new]
    if part is not None and len(set(keys)) < len(keys):
        raise Refused(f"--part {part!r}: notebook {keys[0]} comes in several of these runs; add one part at a time")
    for key, entry in new:
        if key == "bench":
            store["bench"] = entry
            done.append("bench: stored")
            continue
        old = store["notebooks"].get(key, [])
        parts = [entry] if part is None else sorted(
            [p for p in old if p["part"] not in (None, part)] + [entry], key=lambda p: p["part"])
        names = [r["name"] for r in final_records(parts)]
        if len(set(names)) < len(names):
            raise Refused(f"notebook {key}, part {part!r}: a final model of this part ({names[-1]!r}?) is "
                          "already in another part; give each part its own seeds")
        if len({json.dumps(p["data"]["files"], sort_keys=True) for p in parts}) > 1:
            raise Refused(f"notebook {key}, part {part!r}: its data files differ from the other parts'")
        store["notebooks"][key] = parts
        what = "stored" if part is None else f"part {part!r} stored ({len(parts)} part{'s' * (len(parts) > 1)})"
        done.append(f"{key}: {entry['notebook']} {what}")
    store["notebooks"] = dict(sorted(store["notebooks"].items()))
    file.parent.mkdir(parents=True, exist_ok=True)
    provenance.write_json(file, store)
    return done


# --- rendering ----------------------------------------------------------------

def _pct(x: float) -> str:
    return f"{100 * x:.2f}%"


def _spread(values: list[float]) -> str:
    """"mean% ± sd" in percentage points, the sample sd, as ``train.mean_and_spread`` writes it
    (not imported: that module starts TensorFlow)."""
    return _pct(statistics.mean(values)) + (f" ± {100 * statistics.stdev(values):.2f}" if len(values) > 1 else "")


def _seconds(values: list) -> str:
    """Mean seconds per epoch; a run of one epoch has none (its first epoch includes tracing)."""
    values = [v for v in values if v]
    return f"{statistics.mean(values):.2f} s" if values else "—"


def _seed(name: str) -> str | None:
    found = re.search(r"\bseed (\d+)", name)
    return found.group(1) if found else None


def _model(name: str, notebook: str) -> str:
    """The record's name without its seed; a name of only the data (notebook 9's refit) gets the notebook's topic."""
    model = re.sub(r"^seed \d+, |, seed \d+\b", "", name)
    if model.startswith("all training images"):
        model = f"{notebook[3:].removesuffix('.ipynb').replace('_', ' ')}, {model}"
    return model


def _batch(parameters: dict) -> str:
    if "BATCH_PER_REPLICA" in parameters:
        return f"{parameters['BATCH_PER_REPLICA']} per replica"
    return str(parameters.get("BATCH_SIZE", "—"))


def notebook_row(key: str, parts: list[dict] | None) -> list[str]:
    """One table row: model, settings, accuracies, goal, time, commit and command; "not measured yet" without data."""
    goal = f"≥ {GOALS[key]:.1f}%" if key in GOALS else "—"
    if not parts:
        return [key, "not measured yet", "", "", "", goal, "", "", "", "", ""]
    final = final_records(parts)
    seconds = sum(p["seconds"] for p in parts)
    commits = ", ".join(dict.fromkeys(f"`{(p['commit'] or 'unknown')[:7]}`" for p in parts))
    commands = "<br>".join(f"`{p['command']}`" for p in parts)
    if not final:
        return [key, "no model (data only)", "", "", "", goal, "", f"{seconds / 60:.1f} min", "", commits, commands]
    tests = [r["test_accuracy"] for r in final]
    seeds = [s for s in map(_seed, (r["name"] for r in final)) if s is not None]
    test = _spread(tests) + (f" (seed{'s' * (len(seeds) > 1)} {', '.join(seeds)})" if seeds else "")
    low, high = (_pct(f(r["best_val_accuracy"] for r in final)) for f in (min, max))
    val = f"{low} (epoch {final[0]['best_epoch']})" if len(final) == 1 else low if low == high else f"{low} to {high}"
    met = ("met" if round(100 * statistics.mean(tests), 4) >= GOALS[key] else "not met") if key in GOALS else ""
    if len(tests) < GOAL_SEEDS.get(key, 0):
        met = f"pending: {len(tests)} of {GOAL_SEEDS[key]} seeds"
    labels = [p["part"] for p in parts if p["part"] is not None]
    time = f"{seconds / 60:.1f} min" + (f" in {len(labels)} part{'s' * (len(labels) > 1)}" if labels else "")
    epochs = "/".join(dict.fromkeys(str(r["epochs"]) for r in final))
    model = _model(final[0]["name"], parts[0]["notebook"])
    return [key, model, f"{epochs}, {_batch(parts[0]['parameters'])}", val, test, goal, met,
            time, _seconds([r["seconds_per_epoch"] for r in final]), commits, commands]


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "|" + "|".join(":--" for _ in header) + "|",
            *("| " + " | ".join(r) + " |" for r in rows)]


HEADER = ["notebook", "final model", "epochs, batch", "best val acc", "test acc", "goal", "met", "time in all",
          "per epoch", "commit", "command"]
README_COLUMNS = ("notebook", "final model", "epochs, batch", "best val acc", "test acc", "time in all")


def _data_line(store: dict) -> str:
    runs = [p for parts in store["notebooks"].values() for p in parts] + [store["bench"]] * bool(store["bench"])
    counts = sorted({(r["data"]["train_images"], r["data"]["test_images"]) for r in runs})
    cpus = sorted({r["machine"]["cpus"] for r in runs})
    data = "; ".join(f"{a:,} training and {b:,} test images" for a, b in counts)
    where = f", times on {' or '.join(map(str, cpus))} CPU cores" if cpus else ""
    return f"Data: complete MNIST, {data}{where}." if data else "No run stored yet."


def readme_block(store: dict) -> list[str]:
    """The README's table for students: what each notebook's final model reached, and how long it took."""
    keep = [HEADER.index(c) for c in README_COLUMNS]
    rows = [[row[i] for i in keep] for row in (notebook_row(k, store["notebooks"].get(k)) for k in NOTEBOOKS)]
    return _table(list(README_COLUMNS), rows) + ["", _data_line(store)]


def docs_block(store: dict) -> list[str]:
    """docs/results.md's part: the README's table, then each run's details and the bench table."""
    rows = [notebook_row(k, store["notebooks"].get(k)) for k in NOTEBOOKS]
    lines = _table(HEADER, rows) + ["", _data_line(store), "", "### Runs", ""]
    files = set()
    for key, parts in store["notebooks"].items():
        for p in parts:
            m = p["machine"]
            label = f", part {p['part']!r}" if p["part"] is not None else ""
            seeds = "; ".join(f"{r['name']}: {_pct(r['test_accuracy'])}" for r in final_records([p]))
            settings = "".join(f"{name}={value} " for name, value in (p["environment"] or {}).items())
            lines.append(f"* **{key}**{label}: `{settings}{p['command']}`, commit `{p['commit']}`"
                         f"{' (uncommitted changes)' if p['dirty'] else ''}, started {p['started']}, "
                         f"{p['seconds']:,.0f} s; {m['platform']}, {m['cpus']} CPUs, TensorFlow {m['tensorflow']}"
                         + (f"; test accuracy {seeds}" if seeds else ""))
            files.update((n, d["md5"]) for n, d in p["data"]["files"].items())
    if not store["notebooks"]:
        lines.append("No notebook run stored yet.")
    bench = store["bench"]
    if bench:
        files.update((n, d["md5"]) for n, d in bench["data"]["files"].items())
        rows = [[s["stage"], s["notebook"], _seconds([r["seconds_per_epoch"] for r in s["records"]]),
                 _pct(statistics.mean(r["best_val_accuracy"] for r in s["records"])),
                 _spread([r["test_accuracy"] for r in s["records"]])] for s in bench["stages"]]
        lines += ["", "### `mnist-lab bench`", "", f"`{bench['command']}`, commit `{bench['commit']}`, "
                  f"{bench['epochs']} epochs, seeds {', '.join(map(str, bench['seeds']))}, "
                  f"{bench['seconds']:,.0f} s in all.", ""]
        lines += _table(["stage", "notebook", "per epoch", "best val acc (mean)", "test acc"], rows)
    else:
        lines += ["", "`mnist-lab bench`: not run yet."]
    if files:
        lines += ["", "Data files (md5): " + ", ".join(f"`{n}` {md5}" for n, md5 in sorted(files)) + "."]
    return lines


def render(store: dict, page: Path) -> str:
    """``page``'s text with the part between the markers rendered from ``store``."""
    text = page.read_text()
    if text.count(BEGIN) != 1 or text.count(END) != 1 or text.index(BEGIN) > text.index(END):
        raise Refused(f"{page}: needs one {BEGIN} line and one {END} line after it, around the results")
    block = readme_block(store) if page.name == "README.md" else docs_block(store)
    before, rest = text.split(BEGIN)
    return before + "\n".join([BEGIN, *block, END]) + rest.split(END, 1)[1]


def render_pages(file: Path = FILE, check: bool = False) -> list[Path]:
    """Render every page from ``file``; with ``check``, write nothing and refuse the first page that differs."""
    store, changed = {"notebooks": {}, "bench": None, **load(file)}, []
    for page in PAGES:
        if not page.is_file():
            raise Refused(f"{page}: no such file; run from the repository root")
        text = render(store, page)
        if text != page.read_text():
            if check:
                raise Disagrees(f"{page} disagrees with {file}; run mnist-lab results render")
            page.write_text(text)
            changed.append(page)
    return changed
