"""A student who solves a task in their own words can run the rest of the notebook.

Later cells may only read a name that a solution alone binds if the task names
it (in backticks), so a student's own answer binds the same name.
"""

import ast
import re
from pathlib import Path

import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from mnist_lab.tooling import lessons, runner, student

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = lessons.notebooks(ROOT / "notebooks")


def _code(source):
    """Cell source with IPython magics and shell lines, which ast cannot parse, turned into ``pass``."""
    return "\n".join(re.sub(r"^(\s*)[%!].*", r"\1pass", line) for line in source.splitlines())


def _solution_lines(source):
    """Line numbers (1-based) inside the cell's solution regions."""
    inside, lines = False, set()
    for number, line in enumerate(source.splitlines(), start=1):
        if student.is_marker(line):
            inside = not inside
        elif inside:
            lines.add(number)
    return lines


class _Names(ast.NodeVisitor):
    """Names a cell binds at top level and names it reads, with their line numbers."""

    def __init__(self):
        self.bound, self.read = [], []
        self.scopes = []   # names local to each enclosing function, class or comprehension

    def _bind(self, name, line):
        if not self.scopes:
            self.bound.append((name, line))

    def visit_Name(self, node):
        if not isinstance(node.ctx, ast.Load):
            self._bind(node.id, node.lineno)
        elif not any(node.id in local for local in self.scopes):
            self.read.append((node.id, node.lineno))

    def _scope(self, node):
        if not isinstance(node, (ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
            self._bind(node.name, node.lineno)
        local = {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load)}
        local |= {a.arg for a in ast.walk(node) if isinstance(a, ast.arg)}
        self.scopes.append(local)
        self.generic_visit(node)
        self.scopes.pop()

    visit_FunctionDef = visit_AsyncFunctionDef = visit_ClassDef = visit_Lambda = _scope
    visit_ListComp = visit_SetComp = visit_DictComp = visit_GeneratorExp = _scope

    def visit_Import(self, node):
        for alias in node.names:
            self._bind((alias.asname or alias.name).split(".")[0], node.lineno)

    visit_ImportFrom = visit_Import


def unnamed_solution_names(nb):
    """(reader cell, name, task cell) for each name a later cell reads that only an unnaming solution binds."""
    task = None
    by_solution = {}      # name -> task cells whose solution regions bind it
    elsewhere = set()     # names bound outside any solution region so far
    problems = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown" and "**Task.**" in cell.source:
            task = i
        if cell.cell_type != "code":
            continue
        names = _Names()
        names.visit(ast.parse(_code(cell.source)))
        solution = _solution_lines(cell.source)
        for name, line in names.read:
            earlier = [l for n, l in names.bound if n == name and l < line]
            if line in solution or name in elsewhere or any(l not in solution for l in earlier):
                continue
            tasks = by_solution.get(name, set()) | ({task} if earlier else set())
            if tasks and not any(re.search(rf"`[^`]*\b{re.escape(name)}\b[^`]*`", nb.cells[t].source) for t in tasks):
                problems.append((i, name, sorted(tasks)))
        for name, line in names.bound:
            if line in solution:
                by_solution.setdefault(name, set()).add(task)
            else:
                elsewhere.add(name)
    return problems


def test_finds_a_name_the_task_does_not_give():
    cells = [new_markdown_cell("**Task.** Find the most probable digits."),
             new_code_cell("%time\n### BEGIN SOLUTION\npredicted = p.argmax(1)\n### END SOLUTION"),
             new_code_cell("def f(x):\n    return [y for y in x]\nprint(f(predicted))")]
    nb = new_notebook(cells=cells)
    assert unnamed_solution_names(nb) == [(2, "predicted", [0])]
    cells[0].source += " Store them in `predicted`."
    assert unnamed_solution_names(nb) == []
    cells[2].source = "predicted = [1]\nprint(predicted)"   # bound by the cell itself: no dependence
    cells[0].source = "**Task.** Find the most probable digits."
    assert unnamed_solution_names(nb) == []


def test_same_cell_reads_after_the_region():
    cells = [new_markdown_cell("**Task.** Count the weights."),
             new_code_cell("### BEGIN SOLUTION\nanswer = 7850\n### END SOLUTION\ncheck(answer)")]
    assert unnamed_solution_names(new_notebook(cells=cells)) == [(1, "answer", [0])]


@pytest.mark.skipif(not NOTEBOOKS, reason="no notebooks in notebooks/")
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_later_cells_read_only_names_the_task_gives(path):
    problems = unnamed_solution_names(runner.read(path))
    assert not problems, "\n".join(
        f"cell {cell} reads `{name}`, bound only by the solution of task cell(s) {tasks}, which do not name it"
        for cell, name, tasks in sorted(set((c, n, tuple(t)) for c, n, t in problems)))
