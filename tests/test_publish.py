"""mnist-lab publish: one place says where the course lives; badges and setup cells follow it."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from mnist_lab.tooling import lessons, publish
from mnist_lab.tooling.cli import main

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = lessons.notebooks(ROOT / "notebooks")
WHEEL_URL = "https://example.org/course/mnist_lab-0.1.0-py3-none-any.whl"
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
    return {p.relative_to(folder): p.read_bytes() for p in [folder / "pyproject.toml", *folder.glob("notebooks/*")]}


def test_publish_rewrites_badges_setup_cells_and_pyproject_only(course, capsys):
    before = snapshot(course)
    assert publish.disagreements(course) == []
    assert main(["publish", "alice/dl-course", "--branch", "fall-2026", "--wheel", WHEEL_URL]) == 0
    printed = capsys.readouterr().out
    assert 'Repository = "https://github.com/mnist-lab/mnist-lab" -> "https://github.com/alice/dl-course"' in printed
    assert f"colab-wheel = \"\" -> \"{WHEEL_URL}\"" in printed
    assert "notebooks/01_data.ipynb: Colab badge; setup cell" in printed
    assert publish.read_course(course / "pyproject.toml") == publish.Course("alice/dl-course", "fall-2026", WHEEL_URL)
    assert publish.disagreements(course) == []

    old_lines = before[Path("pyproject.toml")].decode().splitlines()
    new_lines = (course / "pyproject.toml").read_text().splitlines()
    assert len(old_lines) == len(new_lines)
    assert [n for o, n in zip(old_lines, new_lines) if o != n] == [
        'Repository = "https://github.com/alice/dl-course"',
        'Notebooks = "https://github.com/alice/dl-course/tree/fall-2026/notebooks"',
        f'colab-wheel = "{WHEEL_URL}"']
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
        assert (f"(https://colab.research.google.com/github/alice/dl-course/blob/fall-2026/notebooks/{path.name})"
                in new.cells[0].source)
        assert (new.cells[0].source.replace("alice/dl-course/blob/fall-2026", "mnist-lab/mnist-lab/blob/main")
                == old.cells[0].source)
        assert f'INSTALL_FROM = "{WHEEL_URL}"' in new.cells[setup].source

    # Publishing the original back restores every byte; publishing twice changes nothing.
    assert main(["publish", "mnist-lab/mnist-lab"]) == 0
    assert snapshot(course) == before
    capsys.readouterr()
    assert main(["publish", "mnist-lab/mnist-lab", "--branch", "main"]) == 0
    assert "nothing changed" in capsys.readouterr().out
    assert snapshot(course) == before


def test_disagreements_name_the_notebook(course):
    first, second = course / "notebooks" / NOTEBOOKS[0].name, course / "notebooks" / NOTEBOOKS[1].name
    nb = nbformat.read(str(first), as_version=4)
    nb.cells[0].source = nb.cells[0].source.replace(first.name, second.name)  # badge opens another notebook
    nbformat.write(nb, str(first))
    nb = nbformat.read(str(second), as_version=4)
    setup = next(c for c in nb.cells if c.cell_type == "code")
    setup.source = setup.source.replace("@main", "@dev")
    nbformat.write(nb, str(second))
    assert publish.disagreements(course) == [
        f"{first.name}: the Colab badge does not open "
        f"https://colab.research.google.com/github/mnist-lab/mnist-lab/blob/main/notebooks/{first.name}",
        f"{second.name}: the setup cell does not install git+https://github.com/mnist-lab/mnist-lab@main "
        "as the series does"]

    # pyproject edited by hand, notebooks not: every notebook disagrees.
    pyproject = course / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace("tree/main/notebooks", "tree/dev/notebooks"))
    assert len(publish.disagreements(course)) == 2 * len(NOTEBOOKS) - 1


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
])
def test_bad_arguments_one_line_exit_2_nothing_written(course, capsys, args, message):
    before = snapshot(course)
    assert main(["publish", *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("mnist-lab publish: ") and message in err and err.count("\n") == 1
    assert snapshot(course) == before


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
                                    f"connection, then run this cell again (!pip install {missing} in a new "
                                    "cell shows why)"]
    assert nb.cells[2].outputs == []
