"""What a measurement ran on: the code's commit, the command, the data files and the machine.

``mnist-lab run`` and ``mnist-lab bench`` write this into ``run.json`` beside their results, so
that published numbers (``mnist-lab results``) say exactly where they come from.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import platform
import shlex
import subprocess
import time
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from .. import data
from . import atomic

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None
    import msvcrt

RUN_FILE = "run.json"


def git_commit(folder: str | os.PathLike = ".") -> dict:
    """``{"commit": sha, "dirty": bool}`` of the checkout holding ``folder``; ``None`` outside git."""
    def git(*args):
        done = subprocess.run(["git", *args], cwd=folder, capture_output=True, text=True)
        return done.stdout.strip() if done.returncode == 0 else None
    try:
        commit = git("rev-parse", "HEAD")
        status = git("status", "--porcelain", "--untracked-files=no") if commit else None
    except OSError:  # no git on this machine
        commit, status = None, None
    return {"commit": commit, "dirty": bool(status) if commit else None}


def command_line(arguments: list[str]) -> str:
    """The command as the user typed it (``mnist-lab`` and its arguments), quoted for a shell."""
    return shlex.join(["mnist-lab", *arguments])


def _digests(path: Path) -> dict:
    md5, sha256 = hashlib.md5(), hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            md5.update(block)
            sha256.update(block)
    return {"bytes": path.stat().st_size, "md5": md5.hexdigest(), "sha256": sha256.hexdigest()}


def array_checksums(splits: tuple[data.Split, data.Split]) -> dict:
    """Shape and sha256 of each array's uint8 bytes: what the data holds, whichever files it came in."""
    (x_train, y_train), (x_test, y_test) = splits
    arrays = {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}
    return {name: {"shape": list(a.shape), "sha256": hashlib.sha256(np.ascontiguousarray(a, np.uint8)).hexdigest()}
            for name, a in arrays.items()}


def describe_data(name: str, data_dir: str | os.PathLike | None = None, *, allow_sample: bool = False) -> dict:
    """Where :func:`mnist_lab.data.load_data` reads ``name`` (same arguments), its files, counts and checksums.

    ``source`` is the place in the search order (:func:`mnist_lab.data.find_data`); ``offline_fallback``,
    when present, the stand-in used if Keras can neither read its cache nor download. Data that cannot
    be decoded gets its reason in ``problem`` instead of counts: the run itself will say more.
    """
    source = data.find_data(name, data_dir, allow_sample=allow_sample)
    files = source.files()
    described = {"name": name, "source": source.kind, "folder": str(files[0].parent) if files else None,
                 "files": {p.name: _digests(p) for p in files}}
    if source.fallback:
        described["offline_fallback"] = source.fallback
    if files:
        try:
            splits = source.read()
        except (OSError, ValueError) as e:
            described["problem"] = str(e)
        else:
            described.update(train_images=len(splits[0][1]), test_images=len(splits[1][1]),
                             arrays=array_checksums(splits))
    return described


def machine() -> dict:
    """The computer and the library versions, without importing TensorFlow."""
    from importlib.metadata import PackageNotFoundError, version

    def installed(package):
        try:
            return version(package)
        except PackageNotFoundError:
            return None
    return {"platform": platform.platform(), "processor": platform.machine(), "cpus": os.cpu_count(),
            "python": platform.python_version(), "tensorflow": installed("tensorflow"),
            "keras": installed("keras")}


def header(dataset: str, quick: bool, arguments: list[str], code: Iterable[str | os.PathLike] = ()) -> dict:
    """The fields every ``run.json`` starts with.

    Commit and dirty flag are those of the checkout holding the folders in ``code`` (the notebooks run),
    or this package's when none is given; notebooks from checkouts in different states get neither.
    """
    settings = {data.DATA_ENV: os.environ[data.DATA_ENV]} if data.DATA_ENV in os.environ else {}
    states = [git_commit(folder) for folder in {Path(f).resolve() for f in code} or {Path(__file__).resolve().parent}]
    state = states[0] if all(s == states[0] for s in states) else {"commit": None, "dirty": None}
    return {"command": command_line(arguments), "environment": settings, "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            **state, "quick": quick, "data": describe_data(dataset, allow_sample=quick), "machine": machine()}


@contextlib.contextmanager
def locked(path: str | os.PathLike):
    """Hold an exclusive lock for ``path`` while the block runs (on ``.NAME.lock`` beside it, which stays).

    Wrap a read-modify-write of ``path`` in it, so that writers in other processes wait their turn
    instead of overwriting each other's changes.
    """
    path = Path(path)
    with open(path.with_name(f".{path.name}.lock"), "a") as lock:
        if fcntl is not None:
            fcntl.flock(lock, fcntl.LOCK_EX)   # released when the file is closed
        else:
            msvcrt.locking(lock.fileno(), msvcrt.LK_LOCK, 1)
        yield


def write_json(path: str | os.PathLike, value) -> Path:
    """Write ``value`` as JSON to ``path``, replacing the file in one step (never half written)."""
    return atomic.write_text(path, json.dumps(value, indent=1) + "\n")


def write(folder: str | os.PathLike, record: dict) -> Path:
    """Write ``record`` as ``folder/run.json``."""
    return write_json(Path(folder) / RUN_FILE, record)
