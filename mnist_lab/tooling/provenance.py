"""What a measurement ran on: the code's commit, the command, the data files and the machine.

``mnist-lab run`` and ``mnist-lab bench`` write this into ``run.json`` beside their results, so
that published numbers (``mnist-lab results``) say exactly where they come from.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shlex
import subprocess
import time
from pathlib import Path

from .. import data, idx, profile

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


def data_files(name: str) -> list[Path]:
    """The files :func:`mnist_lab.data.load_data` reads for ``name``, in the order it looks; [] if none."""
    data.check_name(name)
    folder = data._env_folder(name)
    if folder is None and name in data.DEBIAN_DIRS and data.has_idx_files(data.DEBIAN_DIRS[name]):
        folder = data.DEBIAN_DIRS[name]
    if folder is not None:
        found = [data._idx_file(folder, stem) for pair in data.IDX_NAMES.values() for stem in pair]
        return [p for p in found if p is not None]
    cached = data._keras_cache_path(name)
    if cached.is_file():
        return [cached]
    if cached.is_dir():
        return sorted(p for p in cached.iterdir() if p.is_file())
    return []


def _digests(path: Path) -> dict:
    md5, sha256 = hashlib.md5(), hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            md5.update(block)
            sha256.update(block)
    return {"bytes": path.stat().st_size, "md5": md5.hexdigest(), "sha256": sha256.hexdigest()}


def describe_data(name: str) -> dict:
    """Name, folder, image counts and checksums of the data a run reads (counts from the label files)."""
    files = data_files(name)
    described = {"name": name, "folder": str(files[0].parent) if files else None,
                 "files": {p.name: _digests(p) for p in files}}
    for split, (_, labels) in data.IDX_NAMES.items():
        path = next((p for p in files if p.name.startswith(labels)), None)
        if path is not None:
            described[f"{split}_images"] = int(len(idx.read_idx(path, magic=2049)))
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


def header(dataset: str, quick: bool, arguments: list[str]) -> dict:
    """The fields every ``run.json`` starts with."""
    settings = {name: os.environ[name] for name in (data.DATA_ENV, profile.QUICK_ENV) if name in os.environ}
    return {"command": command_line(arguments), "environment": settings, "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            **git_commit(Path(__file__).resolve().parent), "quick": quick,
            "data": describe_data(dataset), "machine": machine()}


def write_json(path: str | os.PathLike, value) -> Path:
    """Write ``value`` as JSON to ``path``, replacing the file in one step (never half written)."""
    path = Path(path)
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(json.dumps(value, indent=1) + "\n")
    partial.replace(path)
    return path


def write(folder: str | os.PathLike, record: dict) -> Path:
    """Write ``record`` as ``folder/run.json``."""
    return write_json(Path(folder) / RUN_FILE, record)
