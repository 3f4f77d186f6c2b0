"""Whether the code runs in a Jupyter (IPython) kernel, where outputs can be rich."""

from __future__ import annotations

import sys


def kernel():
    """The running IPython kernel shell, or None (plain Python, terminal IPython).

    Does not import IPython: if nothing imported it, no kernel is running.
    """
    if "IPython" not in sys.modules:
        return None
    from IPython import get_ipython

    shell = get_ipython()
    if shell is None or getattr(shell, "kernel", None) is None:
        return None
    return shell


def show(text: str, mimetype: str, value: dict) -> None:
    """Print ``text``; in a Jupyter kernel, show it with ``value`` attached under ``mimetype`` for the runner."""
    if kernel() is None:
        print(text)
        return
    from IPython.display import display

    display({"text/plain": text, mimetype: value}, raw=True)
