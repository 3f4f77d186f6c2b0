"""``mnist-lab publish``: point every Colab badge and setup cell at one copy of the course.

Where the course lives is written once, in ``pyproject.toml``::

    [project.urls]
    Repository = "https://github.com/OWNER/REPO"
    Notebooks = "https://github.com/OWNER/REPO/tree/BRANCH/notebooks"

    [tool.mnist-lab]
    colab-wheel = ""    # or a wheel's URL / path in Colab, installed instead of the repository

:func:`publish` rewrites those lines, each notebook's Colab badge (in cell 0)
and its setup cell (the first code cell) so that they agree; :func:`disagreements`
lists where a notebook does not, for the tests.
"""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import nbformat
from packaging.utils import InvalidWheelFilename, parse_wheel_filename

from . import lessons

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

GITHUB = "https://github.com/"
COLAB = "https://colab.research.google.com/github/"
BADGE_URL = re.compile(re.escape(COLAB) + r"[^)\s]+")
# GitHub's rules: an owner is 1-39 letters, digits and single inner hyphens; a repository 1-100 of these.
OWNER = re.compile(r"(?=.{1,39}$)[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*")
REPO = re.compile(r"[A-Za-z0-9._-]{1,100}")
# What may stand in a badge's URL, a pip requirement and a shell line as it is: no quoting, no
# expansion by the shell or by IPython's `!` lines ($, {}), nothing a Markdown link ends at.
BRANCH = re.compile(r"[A-Za-z0-9._/+-]{1,200}")
BRANCH_PART = re.compile(r"(?!\.)(?!.*\.\.)[A-Za-z0-9._+-]+(?<!\.lock)(?<!\.)")  # git's rules, without git
WHEEL_URL = re.compile(r"https?://[A-Za-z0-9.-]+(?::[0-9]{1,5})?/[A-Za-z0-9._/%+-]+")
WHEEL_PATH = re.compile(r"[A-Za-z0-9._/%+-]+")

# The first code cell of every notebook; INSTALL_FROM is filled in by Course.setup_cell.
SETUP_CELL = '''\
# Setup: in Colab this installs the course helpers (mnist_lab); anywhere else it does nothing.
# In Colab, training runs faster on a GPU: Runtime > Change runtime type > T4 GPU.
import shlex
import subprocess
import sys

INSTALL_FROM = {install_from}


class SetupError(Exception):
    def _render_traceback_(self):  # Jupyter and Colab show this one line, not a traceback
        return [f"SetupError: {{self}}"]


if "google.colab" in sys.modules:
    pip = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", INSTALL_FROM],
                         capture_output=True, text=True)
    if pip.returncode != 0:
        raise SetupError(f"could not install {{INSTALL_FROM}}: check the address and the connection, then run "
                         f"this cell again (!pip install {{shlex.quote(INSTALL_FROM)}} in a new cell shows why)")'''


class PublishError(ValueError):
    """A problem the publisher can fix; its message is one line."""


def check_branch(branch: str) -> str:
    """``branch`` if git takes it as a branch name and a URL as it is, else a one-line PublishError."""
    if not BRANCH.fullmatch(branch) or branch.startswith("-") or not _git_takes_branch(branch):
        raise PublishError(f"--branch {branch!r}: not a usable branch name; use letters, digits, '-', '_', "
                           "'+', '.' and '/' between parts, e.g. --branch main")
    return branch


def _git_takes_branch(branch: str) -> bool:
    """``git check-ref-format --branch``'s answer; where git is missing, the same rules checked here."""
    try:
        return subprocess.run(["git", "check-ref-format", "--branch", branch], capture_output=True).returncode == 0
    except OSError:
        return branch != "HEAD" and all(BRANCH_PART.fullmatch(part) for part in branch.split("/"))


def check_wheel(wheel: str) -> str:
    """``wheel`` if it is an http(s) URL or a path of an mnist_lab wheel, else a one-line PublishError.

    The value goes into every notebook's setup cell and is handed to pip, so it is
    refused if pip could read it as an option, or if a URL carries credentials.
    """
    if not wheel:
        return wheel
    if "://" in wheel and "@" in urlsplit(wheel).netloc:
        raise PublishError("--wheel: the URL holds a user name or password, which every notebook would show; "
                           "give an address that downloads the wheel without one")
    if (wheel.startswith("-") or not (WHEEL_URL.fullmatch(wheel) or WHEEL_PATH.fullmatch(wheel))
            or not _is_mnist_lab_wheel(wheel.rsplit("/", 1)[-1])):
        raise PublishError(f"--wheel {wheel!r}: expected an https:// URL or a path of a wheel named "
                           "mnist_lab-VERSION-...whl (build one with: pip wheel --no-deps -w dist .)")
    return wheel


def _is_mnist_lab_wheel(filename: str) -> bool:
    try:
        return parse_wheel_filename(filename)[0] == "mnist-lab"
    except InvalidWheelFilename:
        return False


@dataclass(frozen=True)
class Course:
    """Where the course lives: ``repo`` is ``OWNER/REPO`` on GitHub; ``wheel`` (optional) is installed instead."""

    repo: str
    branch: str = "main"
    wheel: str = ""

    def __post_init__(self):
        owner, _, name = self.repo.partition("/")
        if not (OWNER.fullmatch(owner) and REPO.fullmatch(name)) or name in (".", ".."):
            raise PublishError(f"{self.repo!r}: expected the GitHub repository as OWNER/REPO, e.g. alice/mnist-lab")
        check_branch(self.branch)
        check_wheel(self.wheel)

    @property
    def install_from(self) -> str:
        """What the setup cell hands to pip: the wheel, else the repository's branch."""
        return self.wheel or f"git+{GITHUB}{self.repo}@{self.branch}"

    def badge(self, notebook: str) -> str:
        """The Colab address of ``notebook`` (a file name in ``notebooks/``)."""
        return f"{COLAB}{self.repo}/blob/{self.branch}/notebooks/{notebook}"

    def setup_cell(self) -> str:
        return SETUP_CELL.format(install_from=json.dumps(self.install_from))

    def settings(self) -> dict[str, str]:
        """pyproject.toml's lines for this course, as ``{key: value}``."""
        return {"Repository": f"{GITHUB}{self.repo}",
                "Notebooks": f"{GITHUB}{self.repo}/tree/{self.branch}/notebooks",
                "colab-wheel": self.wheel}


def read_course(pyproject: str | Path) -> Course:
    """The course that ``pyproject.toml`` names (see the module docstring)."""
    try:
        return parse_course(Path(pyproject).read_text(encoding="utf-8"), pyproject)
    except OSError as e:
        raise PublishError(f"{pyproject}: cannot read it ({e.strerror}); run from the course's repository root") \
            from None


def parse_course(text: str, pyproject: str | Path = "pyproject.toml") -> Course:
    """The course that the text of ``pyproject.toml`` names."""
    try:
        config = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise PublishError(f"{pyproject}: not valid TOML ({e})") from None
    if config.get("project", {}).get("name") != "mnist-lab":
        raise PublishError(f"{pyproject}: not the mnist-lab project; run from the course's repository root")
    urls = config["project"].get("urls", {})
    repository, notebooks = urls.get("Repository", ""), urls.get("Notebooks", "")
    wheel = config.get("tool", {}).get("mnist-lab", {}).get("colab-wheel")
    repo = repository.removeprefix(GITHUB)
    prefix = f"{GITHUB}{repo}/tree/"
    if not (repository.startswith(GITHUB) and notebooks.startswith(prefix) and notebooks.endswith("/notebooks")
            and isinstance(wheel, str)):
        raise PublishError(f"{pyproject}: expected [project.urls] Repository = \"{GITHUB}OWNER/REPO\", "
                           f"Notebooks = \"{GITHUB}OWNER/REPO/tree/BRANCH/notebooks\" and [tool.mnist-lab] "
                           "colab-wheel = \"\"; restore them, then run mnist-lab publish OWNER/REPO")
    return Course(repo, notebooks[len(prefix):-len("/notebooks")], wheel)


def _set(text: str, key: str, value: str, path: Path) -> str:
    """``text`` with the one line ``key = "..."`` now holding ``value``."""
    line = re.compile(rf'^{re.escape(key)} = "[^"\n]*"$', re.M)
    if len(line.findall(text)) != 1:
        raise PublishError(f'{path}: expected exactly one line {key} = "..."; restore it, then publish again')
    return line.sub(lambda _: f'{key} = "{value}"', text)


def _badge_line(source: str, url: str, path: Path) -> str:
    if len(BADGE_URL.findall(source)) != 1:
        raise PublishError(f"{path}: cell 0 should hold one Colab badge [![Open In Colab](...)]({COLAB}...)")
    return BADGE_URL.sub(lambda _: url, source)


def _setup_index(nb, path: Path) -> int:
    code = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    if not code or "google.colab" not in nb.cells[code[0]].source:
        raise PublishError(f"{path}: the first code cell should be the setup cell (it checks for google.colab)")
    return code[0]


def notebook_paths(root: str | Path) -> list[Path]:
    found = lessons.notebooks(Path(root) / "notebooks")
    if not found:
        raise PublishError(f"{Path(root) / 'notebooks'}: no notebooks NN_*.ipynb; run from the repository root")
    return found


def disagreements(root: str | Path) -> list[str]:
    """Where a notebook's badge or setup cell is not what pyproject.toml says, one line each."""
    course = read_course(Path(root) / "pyproject.toml")
    found = []
    for path in notebook_paths(root):
        nb = nbformat.read(str(path), as_version=4)
        if course.badge(path.name) not in nb.cells[0].source:
            found.append(f"{path.name}: the Colab badge does not open {course.badge(path.name)}")
        if nb.cells[_setup_index(nb, path)].source != course.setup_cell():
            found.append(f"{path.name}: the setup cell does not install {course.install_from} as the series does")
    return found


@dataclass
class Change:
    path: Path
    what: list[str]


def publish(root: str | Path, course: Course) -> list[Change]:
    """Point ``root``'s pyproject.toml and every notebook's badge and setup cell at ``course``.

    All or nothing: every new text is made and every file checked before any is
    written, and a failed write puts back the files already written. A file is
    written only if it changes; nothing but those lines and cells changes.
    Returns what changed.
    """
    root = Path(root)
    pyproject = root / "pyproject.toml"
    old = read_course(pyproject)
    notebooks = notebook_paths(root)
    for path in [pyproject, *notebooks]:
        _check_regular(path)
    text = pyproject.read_text(encoding="utf-8")
    new_text, what = text, []
    for (key, before), after in zip(old.settings().items(), course.settings().values()):
        new_text = _set(new_text, key, after, pyproject)
        if before != after:
            what.append(f'{key} = "{before}" -> "{after}"')
    if parse_course(new_text, pyproject) != course:
        raise PublishError(f"{pyproject}: Repository, Notebooks or colab-wheel is outside its table; "
                           "restore them, then publish again")
    writes = [(pyproject, new_text)] if new_text != text else []
    changes = [Change(pyproject, what)] if what else []
    for path in notebooks:
        nb = nbformat.reads(path.read_text(encoding="utf-8"), as_version=4)
        setup, what = nb.cells[_setup_index(nb, path)], []
        badge = _badge_line(nb.cells[0].source, course.badge(path.name), path)
        if badge != nb.cells[0].source:
            nb.cells[0].source = badge
            what.append("Colab badge")
        if setup.source != course.setup_cell():
            setup.source = course.setup_cell()
            what.append("setup cell")
        if what:
            new = nbformat.writes(nb)
            writes.append((path, new if new.endswith("\n") else new + "\n"))
            changes.append(Change(path, what))
    _write_all(writes)
    return changes


def _check_regular(path: Path) -> None:
    """A one-line PublishError unless ``path`` is a regular file, not a link: publish never writes through one."""
    if path.is_symlink() or not path.is_file():
        kind = "a link" if path.is_symlink() else "a folder" if path.is_dir() else "missing"
        raise PublishError(f"{path}: {kind}, not a regular file; publish writes only the course's own files, "
                           "so put the file itself there, then publish again")


def _write_all(writes: list[tuple[Path, str]]) -> None:
    """Write every ``(path, text)``, or none: a write that fails puts back those already written."""
    originals = {}
    for path, _ in writes:
        try:
            originals[path] = path.read_bytes()
            open(path, "r+b").close()  # opened for writing, not truncated: may it be written?
        except OSError as e:
            raise PublishError(f"{path}: cannot write it ({e.strerror or e}); nothing was changed") from None
    started = []
    try:
        for path, text in writes:
            started.append(path)
            path.write_text(text, encoding="utf-8")
    except BaseException as e:
        lost = [str(p) for p in started if not _put_back(p, originals[p])]
        if not isinstance(e, OSError):
            raise
        if lost:
            raise PublishError(f"{path}: cannot write it ({e.strerror or e}), and could not put back "
                               f"{', '.join(lost)}: restore them with git checkout, then publish again") from None
        raise PublishError(f"{path}: cannot write it ({e.strerror or e}); every file is as it was") from None


def _put_back(path: Path, original: bytes) -> bool:
    try:
        path.write_bytes(original)
        return True
    except OSError:
        return False
