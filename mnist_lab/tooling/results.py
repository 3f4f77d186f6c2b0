"""The published results: ``docs/results.json`` and the tables rendered from it.

``mnist-lab results add`` stores what ``mnist-lab run`` and ``mnist-lab bench`` measured on the
complete MNIST, each with its commit, command and data; ``mnist-lab results render`` writes the
README's table and the measured part of ``docs/results.md`` from that file, so no published
number is typed by hand. Paths are relative to the repository root (the current folder).
"""

from __future__ import annotations

import json
import math
import re
import statistics
from pathlib import Path

from . import provenance, schema

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
# The complete MNIST's content: provenance.array_checksums of the arrays data.load_data reads from the four
# official IDX files (the same arrays as keras.datasets.mnist.load_data(): 60,000 training digits in the official
# order, then the 10,000 test digits). A run is published only when its data holds exactly these.
COMPLETE_ARRAYS = {
    "x_train": {"shape": [60000, 28, 28],
                "sha256": "741c988805d008ac6e4c904b69001ba184c24b2c540a4ef403f4c71b676cf757"},
    "y_train": {"shape": [60000], "sha256": "1feba77c54802fa5339a11837ea4b2866434b83314ec45192930f1df69120c13"},
    "x_test": {"shape": [10000, 28, 28],
               "sha256": "6d87418db22cc8025d05968bec9bd5c3932904b23485740db143a061a2c9d161"},
    "y_test": {"shape": [10000], "sha256": "ddeff807876a9661a1110d45c266c86239a3a1b7d37da0c3716a7a683c852ff5"},
}
# Runs recorded before array checksums were: the md5 of their four IDX files, each one of the complete MNIST's:
# the official .gz files (as torchvision lists them), a recompressed copy of the training files, and the
# uncompressed files.
COMPLETE_FILES = {
    "train-images-idx3-ubyte": {"f68b3c2dcbeaaa9fbdd348bbdeb94873", "c7dfcf1bfd3481a40f7b3aedbdbd083c",
                                "6bbc9ace898e44ae57da46a324031adb"},
    "train-labels-idx1-ubyte": {"d53e105ee54ea40749a09fcbcd1e9432", "d289298a347a2cc65765a3c81043ba88",
                                "a25bea736e30d166cdddb491f175f624"},
    "t10k-images-idx3-ubyte": {"9fb629c4189551a2d022fa330f9573f3", "2646ac647ad5339dbf082846283269ea"},
    "t10k-labels-idx1-ubyte": {"ec29112dd5afa0611ce80d1b7f02629c", "27ae3e4e09519cfbb04c329615203637"},
}
HEAD = ("command", "environment", "started", "commit", "dirty", "data", "machine")


class Refused(ValueError):
    """A run that cannot be published, or a file that cannot be used; one line."""


class Disagrees(Exception):
    """A page whose rendered part differs from the results file (``render --check``); one line."""


def _no_constant(name: str):
    """Python's json reads NaN and Infinity, which JSON does not have and no accuracy can be: refuse them."""
    raise ValueError(f"{name} is not a number JSON allows")


def _finite(text: str) -> float:
    """A JSON number as a float; one too large for a float (1e400) is refused rather than read as infinity."""
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is out of range")
    return value


def load(file: Path) -> dict:
    """A JSON object from ``file``; NaN and infinities are refused like any other invalid JSON."""
    if not file.is_file():
        raise Refused(f"{file}: no such file; store runs in it with mnist-lab results add RUN_DIR")
    try:
        loaded = json.loads(file.read_text(), parse_constant=_no_constant, parse_float=_finite)
    except ValueError as e:   # bad JSON, bad UTF-8, NaN, a number too large
        raise Refused(f"{file}: not valid JSON ({e})") from None
    if not isinstance(loaded, dict):
        raise Refused(f"{file}: expected a JSON object, found a {type(loaded).__name__}")
    return loaded


def load_store(file: Path = FILE, new: bool = False) -> dict:
    """The stored results, checked; with ``new``, an empty store when the file does not exist yet."""
    if new and not file.exists():
        return {"notebooks": {}, "bench": None}
    store = {"notebooks": {}, "bench": None, **load(file)}
    wrong = schema.problem(store, schema.STORE)
    if wrong:
        raise Refused(f"{file}: {wrong}; not a results file that mnist-lab results add writes")
    return store


def not_complete(data: dict) -> str | None:
    """How ``data`` (a run.json's "data") differs from the complete MNIST, in a few words; None if it is it."""
    counts = f"{data.get('name')}, {data.get('train_images')} training and {data.get('test_images')} test images"
    if any(data.get(k) != v for k, v in COMPLETE.items()):
        return counts + (f": {data['problem']}" if data.get("problem") else "")
    if "arrays" in data:
        differ = [k for k, v in COMPLETE_ARRAYS.items() if data["arrays"].get(k) != v]
        return f"{counts}, but its {', '.join(differ)} differ from the complete MNIST's" if differ else None
    stems = {name.removesuffix(".gz"): d["md5"] for name, d in data["files"].items()}
    if stems.keys() == COMPLETE_FILES.keys() and all(stems[k] in md5s for k, md5s in COMPLETE_FILES.items()):
        return None
    return f"{counts}, but files whose checksums are not the complete MNIST's"


def read_run(folder: str | Path, allow_dirty: bool = False) -> dict:
    """``folder/run.json``, refused unless it is a finished, committed run on the complete MNIST."""
    path = Path(folder) / provenance.RUN_FILE
    if not path.is_file():
        raise Refused(f"{folder}: no {provenance.RUN_FILE}; give a folder written by mnist-lab run or bench --out")
    run = load(path)
    wrong = schema.problem(run, schema.RUN)
    if wrong:
        raise Refused(f"{path}: {wrong}; not a run.json that mnist-lab run or bench writes")
    if run["quick"]:
        raise Refused(f"{path}: a quick-profile run; publish only runs made without --quick or QUICK=True")
    if run["dirty"] is not False and not allow_dirty:
        raise Refused(f"{path}: made from a checkout with uncommitted changes (or outside git), so its commit "
                      "does not describe the code; commit and run again, or pass --allow-dirty")
    differs = not_complete(run["data"])
    if differs:
        raise Refused(f"{path}: not the complete MNIST ({differs}); only complete-MNIST runs are published")
    return run


def _new_file_here(file: Path) -> None:
    """Refuse to start a results file anywhere but in an existing folder, and the default one only at the root."""
    if file.exists():
        return
    if file == FILE and not all(page.is_file() for page in PAGES):
        raise Refused(f"{file}: not found in {Path.cwd()}, which has no {' or '.join(map(str, PAGES))}; "
                      "run from the repository root")
    if not file.parent.is_dir():
        raise Refused(f"{file.parent}: no such folder; give --file a path in an existing folder")


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
    """Merge the runs in ``folders`` into ``file``; all checks pass before anything is written.

    The file is read, changed and written under a lock, so runs added at the same time are all kept.
    """
    done = []
    new = [e for f in folders for e in entries(read_run(f, allow_dirty), str(f), part)]
    keys = [k for k, _ in new]
    if part is not None and len(set(keys)) < len(keys):
        raise Refused(f"--part {part!r}: notebook {keys[0]} comes in several of these runs; add one part at a time")
    _new_file_here(file)
    with provenance.locked(file):
        store = load_store(file, new=True)
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
            store["notebooks"][key] = parts
            what = "stored" if part is None else f"part {part!r} stored ({len(parts)} part{'s' * (len(parts) > 1)})"
            done.append(f"{key}: {entry['notebook']} {what}")
        store["notebooks"] = dict(sorted(store["notebooks"].items()))
        provenance.write_json(file, store)
    return done


# --- rendering ----------------------------------------------------------------

def _pct(x: float) -> str:
    return f"{100 * x:.2f}%"


def _spread(values: list[float]) -> str:
    """"mean% ± sd" in percentage points, the sample sd, as ``experiment.mean_and_spread`` writes it
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


def code(text: str) -> str:
    """``text`` as a Markdown code span, fenced by more backticks than it holds in a row (CommonMark)."""
    fence = "`" * (1 + max((len(run) for run in re.findall(r"`+", text)), default=0))
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def notebook_row(key: str, parts: list[dict] | None) -> list[str]:
    """One table row: model, settings, accuracies, goal, time, commit and command; "not measured yet" without data."""
    goal = f"≥ {GOALS[key]:.1f}%" if key in GOALS else "—"
    if not parts:
        return [key, "not measured yet", "", "", "", goal, "", "", "", "", ""]
    final = final_records(parts)
    seconds = sum(p["seconds"] for p in parts)
    commits = ", ".join(dict.fromkeys(f"`{(p['commit'] or 'unknown')[:7]}`" for p in parts))
    commands = "<br>".join(code(p["command"]) for p in parts)
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
    """A Markdown table; a ``|`` in a cell is escaped, so that it stays text instead of starting a new cell."""
    return ["| " + " | ".join(header) + " |", "|" + "|".join(":--" for _ in header) + "|",
            *("| " + " | ".join(cell.replace("|", "\\|") for cell in r) + " |" for r in rows)]


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
            lines.append(f"* **{key}**{label}: {code(settings + p['command'])}, commit `{p['commit']}`"
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
        lines += ["", "### `mnist-lab bench`", "", f"{code(bench['command'])}, commit `{bench['commit']}`, "
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
    # Each item is one line: a line break in a stored text (a command, a name) would end a table row or list item.
    block = [re.sub(r"\r\n?|\n", " ", line) for line in block]
    before, rest = text.split(BEGIN)
    return before + "\n".join([BEGIN, *block, END]) + rest.split(END, 1)[1]


def render_pages(file: Path = FILE, check: bool = False) -> list[Path]:
    """Render every page from ``file``; with ``check``, write nothing and refuse the first page that differs."""
    store, changed = load_store(file), []
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
