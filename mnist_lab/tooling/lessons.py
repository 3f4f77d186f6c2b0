"""The lessons: ``notebooks/NN_name.ipynb``, in order.

The one listing that ``run``, ``student``, ``publish`` and the tests share, so a copy that a tool
leaves beside the lessons (``jupyter nbconvert --execute`` writes ``NN_name.nbconvert.ipynb``) is
never taken for one more lesson.
"""

from __future__ import annotations

import os
from pathlib import Path

PATTERN = "[0-9][0-9]_*.ipynb"
LEFTOVERS = (".nbconvert.ipynb",)   # name endings of copies that tools write next to a notebook


def notebooks(folder: str | os.PathLike) -> list[Path]:
    """The lessons in ``folder``, sorted by name; [] if there are none."""
    return sorted(p for p in Path(folder).glob(PATTERN) if not p.name.endswith(LEFTOVERS))
