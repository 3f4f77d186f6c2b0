"""mnist-lab publish: one place says where the course lives; badges and setup cells follow it."""

import errno
import os
import pathlib
import shlex
import shutil
import subprocess
import sys
import types
from pathlib import Path

import nbformat
import pytest
from conftest import copy_tracked_files

from mnist_lab.tooling import lessons, publish
from mnist_lab.tooling.cli import main

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = lessons.notebooks(ROOT / "notebooks")
WHEEL_URL = "https://example.org/course/mnist_lab-0.1.0-py3-none-any.whl"
HOME = publish.read_course(ROOT / "pyproject.toml")  # where this copy of the course is published


def differing(home, *choices):
    return next(choice for choice in choices if choice != home)


OTHER = publish.Course(differing(HOME.repo, "alice/dl-course", "bob/dl-course"),  # another place in every part
                       differing(HOME.branch, "fall-2026", "spring-2027"),
                       differing(HOME.wheel, WHEEL_URL, WHEEL_URL.replace("0.1.0", "0.2.0")))


def publish_args(course):
    """``mnist-lab publish``'s arguments that publish ``course``."""
    return [course.repo, "--branch", course.branch, *(["--wheel", course.wheel] if course.wheel else [])]
needs_git = pytest.mark.skipif(shutil.which("git") is None or not (ROOT / ".git").exists(),
                               reason="needs git and a git checkout of the course to clone")


@pytest.fixture
def course(tmp_path, monkeypatch):
    """A copy of pyproject.toml and the notebooks in tmp_path, the working directory."""
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    shutil.copytree(ROOT / "notebooks", tmp_path / "notebooks")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def snapshot(folder):
    return {p.relative_to(folder): p.read_bytes()
            for p in [folder / "pyproject.toml", *folder.glob("notebooks/*")] if p.is_file()}


def test_publish_rewrites_badges_setup_cells_and_pyproject_only(course, capsys):
    before = snapshot(course)
    assert publish.disagreements(course) == []
    assert main(["publish", *publish_args(OTHER)]) == 0
    printed = capsys.readouterr().out
    assert f'Repository = "https://github.com/{HOME.repo}" -> "https://github.com/{OTHER.repo}"' in printed
    assert f"colab-wheel = \"{HOME.wheel}\" -> \"{OTHER.wheel}\"" in printed
    assert "notebooks/01_data.ipynb: Colab badge; setup cell" in printed
    assert publish.read_course(course / "pyproject.toml") == OTHER
    assert publish.disagreements(course) == []

    old_lines = before[Path("pyproject.toml")].decode().splitlines()
    new_lines = (course / "pyproject.toml").read_text().splitlines()
    assert len(old_lines) == len(new_lines)
    assert [n for o, n in zip(old_lines, new_lines) if o != n] == [
        f'Repository = "https://github.com/{OTHER.repo}"',
        f'Notebooks = "https://github.com/{OTHER.repo}/tree/{OTHER.branch}/notebooks"',
        f'colab-wheel = "{OTHER.wheel}"']
    for path in NOTEBOOKS:
        old = nbformat.reads(before[Path("notebooks", path.name)].decode(), as_version=4)
        new = nbformat.read(str(course / "notebooks" / path.name), as_version=4)
        setup = next(i for i, c in enumerate(old.cells) if c.cell_type == "code")
        assert len(old.cells) == len(new.cells) and old.metadata == new.metadata
        for i, (a, b) in enumerate(zip(old.cells, new.cells)):
            if i in (0, setup):
                assert {**a, "source": ""} == {**b, "source": ""}
            else:
                assert a == b, f"{path.name} cell {i} changed"
        assert (f"(https://colab.research.google.com/github/{OTHER.repo}/blob/{OTHER.branch}/notebooks/{path.name})"
                in new.cells[0].source)
        assert (new.cells[0].source.replace(f"{OTHER.repo}/blob/{OTHER.branch}", f"{HOME.repo}/blob/{HOME.branch}")
                == old.cells[0].source)
        assert f'INSTALL_FROM = "{OTHER.wheel}"' in new.cells[setup].source

    # Publishing the original back restores every byte; publishing twice changes nothing.
    assert main(["publish", *publish_args(HOME)]) == 0
    assert snapshot(course) == before
    capsys.readouterr()
    assert main(["publish", *publish_args(HOME)]) == 0
    assert "nothing changed" in capsys.readouterr().out
    assert snapshot(course) == before


def test_disagreements_name_the_notebook(course):
    first, second = course / "notebooks" / NOTEBOOKS[0].name, course / "notebooks" / NOTEBOOKS[1].name
    nb = nbformat.read(str(first), as_version=4)
    nb.cells[0].source = nb.cells[0].source.replace(first.name, second.name)  # badge opens another notebook
    nbformat.write(nb, str(first))
    nb = nbformat.read(str(second), as_version=4)
    setup = next(c for c in nb.cells if c.cell_type == "code")
    setup.source = setup.source.replace(f'"{HOME.install_from}"', '"git+https://github.com/else/where@main"')
    nbformat.write(nb, str(second))
    assert publish.disagreements(course) == [
        f"{first.name}: the Colab badge does not open {HOME.badge(first.name)}",
        f"{second.name}: the setup cell does not install {HOME.install_from} as the series does"]

    # pyproject edited by hand, notebooks not: every badge disagrees, and every setup cell that installs the branch.
    pyproject = course / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace(f"tree/{HOME.branch}/notebooks", "tree/dev/notebooks"))
    assert len(publish.disagreements(course)) == len(NOTEBOOKS) + (1 if HOME.wheel else len(NOTEBOOKS))


@pytest.mark.parametrize("args, message", [
    (["alice"], "expected the GitHub repository as OWNER/REPO"),
    (["alice/"], "expected the GitHub repository as OWNER/REPO"),
    (["alice/dl/course"], "expected the GitHub repository as OWNER/REPO"),
    (["--", "-alice/dl"], "expected the GitHub repository as OWNER/REPO"),
    (["https://github.com/alice/dl"], "expected the GitHub repository as OWNER/REPO"),
    (["alice/dl course"], "expected the GitHub repository as OWNER/REPO"),
    (["alice/dl", "--branch", ""], "not a usable branch name"),
    (["alice/dl", "--branch", "fall..2026"], "not a usable branch name"),
    (["--branch=-x", "alice/dl"], "not a usable branch name"),
    (["alice/dl", "--branch", "fall/"], "not a usable branch name"),
    (["alice/dl", "--branch", "fall 2026"], "not a usable branch name"),
    (["alice/dl", "--branch", "x@{1}"], "not a usable branch name"),
    (["alice/dl", "--branch", "main.lock"], "not a usable branch name"),
    (["alice/dl", "--wheel", "dist/other-0.1.0-py3-none-any.whl"], "a wheel named mnist_lab-VERSION"),
    (["alice/dl", "--wheel", "https://example.org/mnist_lab.zip"], "a wheel named mnist_lab-VERSION"),
    (["alice/dl", "--wheel", 'x"/mnist_lab-0.1.0-py3-none-any.whl'], "a wheel named mnist_lab-VERSION"),
    # GitHub's owner and repository rules
    (["alice--bob/dl"], "expected the GitHub repository as OWNER/REPO"),
    (["alice-/dl"], "expected the GitHub repository as OWNER/REPO"),
    ([f"{'a' * 40}/dl"], "expected the GitHub repository as OWNER/REPO"),
    ([f"alice/{'r' * 101}"], "expected the GitHub repository as OWNER/REPO"),
    (["alice/.."], "expected the GitHub repository as OWNER/REPO"),
    # git check-ref-format --branch, and nothing a URL or a shell line would read otherwise
    (["alice/dl", "--branch", "HEAD"], "not a usable branch name"),
    (["alice/dl", "--branch", "main.lock/x"], "not a usable branch name"),
    (["alice/dl", "--branch", "a;b"], "not a usable branch name"),
    (["alice/dl", "--branch", "x{y}"], "not a usable branch name"),
    (["alice/dl", "--branch", "a$b"], "not a usable branch name"),
    (["alice/dl", "--branch", "x)y"], "not a usable branch name"),
    # a wheel is an http(s) URL or a path, never a pip option
    (["alice/dl", "--wheel=-rhttps://example.org/mnist_lab-0.1.0-py3-none-any.whl"], "expected an https:// URL"),
    (["alice/dl", "--wheel=--index-url=https://x.org/mnist_lab-0.1.0-py3-none-any.whl"], "expected an https:// URL"),
    (["alice/dl", "--wheel=-e/tmp/mnist_lab-0.1.0-py3-none-any.whl"], "expected an https:// URL"),
    (["alice/dl", "--wheel", "ftp://example.org/mnist_lab-0.1.0-py3-none-any.whl"], "expected an https:// URL"),
    (["alice/dl", "--wheel", "file:///tmp/mnist_lab-0.1.0-py3-none-any.whl"], "expected an https:// URL"),
    (["alice/dl", "--wheel", "https://x.org/mnist_lab-0.1.0-py3-none-any.whl?a=1"], "expected an https:// URL"),
    (["alice/dl", "--wheel", "https://x.org/mnist_lab-0.1.0-py3-none-any.whl#sha256=0"], "expected an https:// URL"),
    (["alice/dl", "--wheel", "https:///mnist_lab-0.1.0-py3-none-any.whl"], "expected an https:// URL"),
    (["alice/dl", "--wheel", "dist/mnist_lab-0.1.0-py3-none-any.whl;id"], "expected an https:// URL"),
    (["alice/dl", "--wheel", "$HOME/mnist_lab-0.1.0-py3-none-any.whl"], "expected an https:// URL"),
    (["alice/dl", "--wheel", "~/mnist_lab-0.1.0-py3-none-any.whl"], "expected an https:// URL"),
    (["alice/dl", "--wheel", "dist/mnist_lab-0.1.0.whl"], "expected an https:// URL"),
    (["alice/dl", "--wheel", "dist/mnist_lab-latest-py3-none-any.whl"], "expected an https:// URL"),
    (["alice/dl", "--wheel", "https://me:s3cret@x.org/mnist_lab-0.1.0-py3-none-any.whl"], "user name or password"),
    (["alice/dl", "--wheel", "https://s3cret@x.org/mnist_lab-0.1.0-py3-none-any.whl"], "user name or password"),
])
def test_bad_arguments_one_line_exit_2_nothing_written(course, capsys, args, message):
    before = snapshot(course)
    assert main(["publish", *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("mnist-lab publish: ") and message in err and err.count("\n") == 1
    assert "s3cret" not in err  # a password is not printed back
    assert snapshot(course) == before


@pytest.mark.parametrize("repo, branch, wheel", [
    ("a-b-c/x.y_z-1", "main", ""),
    (f"{'a' * 39}/{'r' * 100}", "release-1.2", ""),
    ("alice/dl", "teach/fall+2026", "dist/mnist_lab-0.1.0-py3-none-any.whl"),
    ("alice/dl", "main", "/content/drive/MyDrive/mnist_lab-0.2.0-py3-none-any.whl"),
    ("alice/dl", "main", "http://wheels.example.org:8000/w/mnist_lab-0.2.0-py3-none-any.whl"),
])
def test_usable_arguments_are_accepted(repo, branch, wheel):
    assert publish.Course(repo, branch, wheel).install_from == (wheel or f"git+https://github.com/{repo}@{branch}")


@pytest.mark.parametrize("git", ["git", "no git"])
def test_branch_names_follow_git_with_or_without_git(git, tmp_path, monkeypatch):
    if git == "git" and shutil.which("git") is None:
        pytest.skip("git is not installed")
    if git == "no git":
        monkeypatch.setenv("PATH", str(tmp_path))  # nothing to run there: the rules are checked without git
    for good in ["main", "fall-2026", "teach/fall.2026", "v1.2+x", "a/b/c"]:
        assert publish.check_branch(good) == good
    for bad in ["HEAD", "main.lock", "a.lock/b", "a/.b", ".a", "a.", "a..b", "a//b", "a/", "/a", "-a", "a@{1}"]:
        with pytest.raises(publish.PublishError, match="not a usable branch name"):
            publish.check_branch(bad)


def test_setup_error_hint_is_a_shell_line_that_installs_exactly_the_source(monkeypatch):
    """The hint's `!pip install ...` stays one argument whatever the source holds (quoted for the shell)."""
    source = "/content/my wheels/it's $HOME; mnist_lab-0.1.0-py3-none-any.whl"
    cell = with_source(setup_cell(ROOT), source)
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    monkeypatch.setattr(subprocess, "run", lambda args, **kw: subprocess.CompletedProcess(args, 1, "", "no"))
    with pytest.raises(Exception) as failed:
        exec(cell, {})
    assert type(failed.value).__name__ == "SetupError"
    hint = str(failed.value).split("(!", 1)[1].removesuffix(" in a new cell shows why)")
    assert shlex.split(hint) == ["pip", "install", source]


# -- All or nothing ---------------------------------------------------------------------------------------------

def test_a_write_failing_midway_puts_back_what_was_written(course, capsys, monkeypatch):
    """The third file cannot be written (a full disk, half of it written): every file is as it was."""
    before, calls = snapshot(course), []
    write_text = pathlib.Path.write_text

    def full_disk_on_the_third(self, text, *args, **kwargs):
        calls.append(self)
        if len(calls) == 3:
            write_text(self, text[:len(text) // 2], *args, **kwargs)
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self))
        return write_text(self, text, *args, **kwargs)

    monkeypatch.setattr(pathlib.Path, "write_text", full_disk_on_the_third)
    assert main(["publish", *publish_args(OTHER)]) == 2
    err = capsys.readouterr().err
    assert err == (f"mnist-lab publish: {course / 'notebooks' / NOTEBOOKS[1].name}: cannot write it "
                   f"({os.strerror(errno.ENOSPC)}); every file is as it was\n")
    assert snapshot(course) == before


def test_a_file_that_cannot_be_put_back_is_named(course, capsys, monkeypatch):
    def fails(self, *args, **kwargs):
        raise OSError(errno.EIO, os.strerror(errno.EIO), str(self))

    monkeypatch.setattr(pathlib.Path, "write_bytes", fails)
    monkeypatch.setattr(pathlib.Path, "write_text", fails)
    assert main(["publish", *publish_args(OTHER)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "could not put back" in err and "pyproject.toml" in err
    assert "restore them with git checkout" in err


@pytest.mark.parametrize("make", ["notebook link", "pyproject link", "folder"])
def test_links_and_folders_are_refused_before_writing(course, tmp_path, capsys, make):
    """publish writes the course's own files, never through a link to somewhere else."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    if make == "folder":
        (course / "notebooks" / "11_extra.ipynb").mkdir()
    else:
        name = "pyproject.toml" if make == "pyproject link" else f"notebooks/{NOTEBOOKS[2].name}"
        shutil.move(course / name, elsewhere / "target")
        (course / name).symlink_to(elsewhere / "target")
    before, outside = snapshot(course), (elsewhere / "target").read_bytes() if make != "folder" else b""
    assert main(["publish", *publish_args(OTHER)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not a regular file" in err
    assert ("a folder" if make == "folder" else "a link") in err
    assert snapshot(course) == before
    if make != "folder":
        assert (elsewhere / "target").read_bytes() == outside


def test_outside_the_repository_or_broken_pyproject(course, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path / "notebooks")
    assert main(["publish", "alice/dl"]) == 2
    assert "run from the course's repository root" in capsys.readouterr().err
    monkeypatch.chdir(course)
    pyproject = course / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('Notebooks = "', 'Notebook = "'))
    before = snapshot(course)
    assert main(["publish", "alice/dl"]) == 2
    err = capsys.readouterr().err
    assert "expected [project.urls] Repository" in err and err.count("\n") == 1
    assert snapshot(course) == before


# -- The setup cell, run for real ------------------------------------------------------------------------------

def setup_cell(folder) -> str:
    nb = nbformat.read(str(lessons.notebooks(Path(folder) / "notebooks")[0]), as_version=4)
    return next(c.source for c in nb.cells if c.cell_type == "code")


def stand_in_colab(folder: Path) -> Path:
    """A folder holding an empty ``google.colab`` package: the setup cell's sign that it runs in Colab."""
    (folder / "google" / "colab").mkdir(parents=True)
    (folder / "google" / "colab" / "__init__.py").write_text("")
    return folder


class Venv:
    """A fresh virtual environment; pip in it installs no dependencies (TensorFlow would be ~600 MB)."""

    def __init__(self, folder: Path, colab: Path):
        subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True)
        self.python = folder / "bin" / "python"
        self.colab = colab
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
        self.env.update(PIP_NO_DEPS="1", PIP_NO_INPUT="1")
        self.cwd = folder / "work"  # an empty working directory: no mnist_lab folder to import by accident
        self.cwd.mkdir()

    def run(self, code: str, in_colab: bool) -> subprocess.CompletedProcess:
        env = dict(self.env, PYTHONPATH=str(self.colab)) if in_colab else self.env
        prelude = "import google.colab\n" if in_colab else ""
        return subprocess.run([str(self.python), "-c", prelude + code], env=env, cwd=self.cwd,
                              capture_output=True, text=True)

    def imports_mnist_lab(self) -> bool:
        return self.run("import mnist_lab", in_colab=False).returncode == 0


def with_source(cell: str, source: str) -> str:
    """The setup cell installing from ``source`` instead of the configured repository (the code is unchanged)."""
    configured = publish.read_course(ROOT / "pyproject.toml").install_from
    assert cell.count(f'"{configured}"') == 1
    return cell.replace(f'"{configured}"', f'"{source}"')


@pytest.mark.slow
@needs_git
def test_setup_cell_installs_from_git_in_colab_only_and_fails_in_one_line(tmp_path):
    clone = tmp_path / "course"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
    venv = Venv(tmp_path / "venv", stand_in_colab(tmp_path / "colab"))
    cell = setup_cell(ROOT)  # the working tree's cell installs the committed package
    assert not venv.imports_mnist_lab()

    outside = venv.run(cell, in_colab=False)
    assert outside.returncode == 0 and outside.stdout == outside.stderr == ""
    assert not venv.imports_mnist_lab()

    missing = f"git+file://{tmp_path}/no-such-repository"
    failed = venv.run(with_source(cell, missing), in_colab=True)
    assert failed.returncode == 1 and failed.stdout == ""
    assert failed.stderr.splitlines()[-1].startswith(f"SetupError: could not install {missing}: check the address")
    assert "subprocess-exited-with-error" not in failed.stderr  # pip's own report stays out of the way
    assert not venv.imports_mnist_lab()

    installed = venv.run(with_source(cell, f"git+file://{clone}") + "\nimport mnist_lab\nprint(mnist_lab.__file__)",
                         in_colab=True)
    assert installed.returncode == 0, installed.stderr
    assert Path(installed.stdout.strip()).is_relative_to(tmp_path / "venv")
    assert venv.imports_mnist_lab()


@pytest.mark.slow
@needs_git
def test_published_wheel_installs_in_colab(tmp_path, monkeypatch, capsys):
    clone = tmp_path / "course"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
    venv = Venv(tmp_path / "venv", stand_in_colab(tmp_path / "colab"))
    subprocess.run([str(venv.python), "-m", "pip", "wheel", "--quiet", "-w", str(tmp_path / "dist"), str(clone)],
                   env=venv.env, check=True)
    wheel, = (tmp_path / "dist").glob("mnist_lab-*.whl")
    monkeypatch.chdir(clone)
    assert main(["publish", "alice/dl-course", "--wheel", str(wheel)]) == 0
    assert f"setup cells install {wheel}" in capsys.readouterr().out
    assert not venv.imports_mnist_lab()
    installed = venv.run(setup_cell(clone), in_colab=True)
    assert installed.returncode == 0, installed.stderr
    assert venv.imports_mnist_lab()


@pytest.mark.slow
def test_failed_install_shows_one_line_in_jupyter_and_stops_the_run(tmp_path, monkeypatch):
    """In a Jupyter kernel, as in Colab, the failure is one line and the cells after it do not run."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    colab = stand_in_colab(tmp_path / "colab")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(colab), os.environ.get("PYTHONPATH", "")]))
    missing = f"git+file://{tmp_path}/no-such-repository"  # fails before pip installs anything
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import google.colab"),
                                         nbformat.v4.new_code_cell(with_source(setup_cell(ROOT), missing)),
                                         nbformat.v4.new_code_cell("print('next cell')")])
    with pytest.raises(CellExecutionError):
        NotebookClient(nb, kernel_name="python3", timeout=300).execute()
    outputs = nb.cells[1].outputs
    assert [o.output_type for o in outputs] == ["error"]
    assert outputs[0].traceback == [f"SetupError: could not install {missing}: check the address and the "
                                    "connection, then run this cell again "
                                    f"(!pip install {shlex.quote(missing)} in a new cell shows why)"]
    assert nb.cells[2].outputs == []


# -- A fork ------------------------------------------------------------------------------------------------------

@pytest.mark.slow
@needs_git
@pytest.mark.parametrize("args", [["someone/fork"], ["someone/fork", "--branch", "teach/fall-2026", "--wheel",
                                                       WHEEL_URL]])
def test_a_published_fork_passes_its_own_tests(tmp_path, args):
    """README's "Teach from your own copy": publish a fork; its tests of where it is published still pass."""
    fork = copy_tracked_files(tmp_path / "fork")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env["PYTHONPATH"] = str(fork)  # the fork's own mnist_lab and tests
    published = subprocess.run([sys.executable, "-m", "mnist_lab.tooling.cli", "publish", *args], cwd=fork,
                               env=env, capture_output=True, text=True, timeout=120)
    assert published.returncode == 0, published.stderr
    assert publish.read_course(fork / "pyproject.toml").repo == "someone/fork"
    tests = ["tests/test_publish.py", "tests/test_notebooks.py", "tests/test_readme.py"]
    ran = subprocess.run([sys.executable, "-m", "pytest", "-n", "0", "-q", "-m", "not slow", *tests], cwd=fork,
                         env=env, capture_output=True, text=True, timeout=300)
    assert ran.returncode == 0, ran.stdout[-3000:] + ran.stderr[-2000:]
    assert " passed" in ran.stdout.splitlines()[-1] and "failed" not in ran.stdout.splitlines()[-1]
