"""The README serves a newcomer: short, current, and its two commands are the ones CI runs."""

import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10: the same parser, as a package
    tomllib = pytest.importorskip("tomli", reason="reading pyproject.toml on Python 3.10 needs tomli")

from mnist_lab.tooling import lessons
from test_lessons import NOT_FOR_STUDENTS

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
CI = ROOT / ".ci" / "run"


def readme_command(name):
    """The one line of the bash block that follows ``<!-- command: NAME -->``."""
    match = re.search(rf"^<!-- command: {name} -->\n```bash\n(.*)\n```$", README, re.M)
    assert match, f"README.md needs a one-line bash block right after <!-- command: {name} -->"
    return match.group(1)


def test_readme_is_short():
    assert len(README.splitlines()) <= 200


def test_readme_speaks_to_users_not_about_the_project():
    """No development log, CI or test-copy sizes: those belong in docs/results.md."""
    hits = [f"line {n}: {line}" for n, line in enumerate(README.splitlines(), 1)
            if NOT_FOR_STUDENTS.search(line) or re.search(r"4,500|5,000", line)]
    assert not hits, "\n".join(hits)


def test_every_notebook_is_in_the_lesson_table():
    for path in lessons.notebooks(ROOT / "notebooks"):
        assert f"](notebooks/{path.name})" in README, f"{path.name} missing from the README's lesson table"


def test_links_to_packages_open_their_own_pages():
    """A link named after an installed package opens an address that the package itself gives."""
    def plain(url):
        return url.strip().lower().rstrip("/").removesuffix(".git")

    checked = []
    for name, url in re.findall(r"\[([\w.-]+)\]\((https?://[^)\s]+)\)", README):
        try:
            meta = metadata.metadata(name)
        except metadata.PackageNotFoundError:
            continue
        own = [meta.get("Home-page") or "", *(u.split(",", 1)[-1] for u in meta.get_all("Project-URL") or [])]
        assert plain(url) in {plain(u) for u in own if u}, f"README links {name} to {url}, not to one of {own}"
        checked.append(name)
    assert "nbval" in checked


def test_results_are_linked():
    assert (ROOT / "docs" / "results.md").is_file() and "](docs/results.md)" in README


@pytest.mark.skipif(sys.platform == "win32", reason=".ci/run is a bash script")
def test_ci_runs_the_readme_commands():
    # Without this option the script would run CI itself, test suite included.
    assert "--print-commands" in CI.read_text(), ".ci/run must offer --print-commands"
    printed = subprocess.run(["bash", str(CI), "--print-commands"], capture_output=True, text=True,
                             check=True, cwd=ROOT, timeout=60).stdout.splitlines()
    assert printed == [readme_command("setup"), readme_command("test")]


def test_setup_installs_what_the_test_command_needs():
    """The set-up command's requirements pull in pytest and nbval, so the test command works right after it."""
    assert readme_command("setup").startswith("pip install -r requirements.txt")
    assert readme_command("test").split()[:3] == ["python", "-m", "pytest"]
    lines = [line.strip() for line in (ROOT / "requirements.txt").read_text().splitlines()
             if line.strip() and not line.startswith("#")]
    extras = {name for line in lines for name in re.findall(r"^-e \.\[([\w,]+)\]$", line)[0].split(",")}
    optional = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    installed = {re.split(r"[<>=\[ ;]", req)[0].lower() for extra in extras for req in optional[extra]}
    assert {"pytest", "nbval", "jupyter"} <= installed
