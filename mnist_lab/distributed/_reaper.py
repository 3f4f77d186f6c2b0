"""Find and end the processes the workers started, also those that left their process group.

A worker runs in a process group of its own, which the launcher kills as a
whole. A child that calls ``setsid`` leaves that group; :func:`descendants`
still finds it by the parent links in ``/proc`` (Linux; elsewhere it finds
nothing and the groups are all there is). Each process is recorded with its
start time, so :func:`kill` never signals a process that took a dead one's id.

Run as a script (standard library only), this file is the launcher's
watchdog: it reads ``group PGID`` and ``process PID START`` lines on stdin,
and if the input ends without a ``done`` line, because the launcher was
killed (SIGKILL gives it no chance to stop its workers), it kills those
groups and processes.
"""

from __future__ import annotations

import os
import signal
import sys
from contextlib import suppress


def _stat(pid: int) -> tuple[int, int] | None:
    """``(parent pid, start time)`` of a process from ``/proc``, None if it is gone or there is no ``/proc``."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()   # the command name, in (...), may hold spaces
        return int(fields[1]), int(fields[19])
    except (OSError, IndexError, ValueError):
        return None


def descendants(roots) -> dict[int, int]:
    """Every process below ``roots`` (children, theirs, ...) as ``{pid: start time}``; {} without ``/proc``."""
    try:
        pids = [int(name) for name in os.listdir("/proc") if name.isdigit()]
    except OSError:
        return {}
    children: dict[int, list[int]] = {}
    starts = {}
    for pid in pids:
        stat = _stat(pid)
        if stat is not None:
            children.setdefault(stat[0], []).append(pid)
            starts[pid] = stat[1]
    found, todo = {}, list(roots)
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found[child] = starts[child]
                todo.append(child)
    return found


def kill(processes: dict[int, int], sig: int) -> None:
    """Send ``sig`` to each recorded process that still runs with its recorded start time."""
    for pid, start in processes.items():
        stat = _stat(pid)
        if stat is not None and stat[1] == start:
            with suppress(ProcessLookupError, PermissionError):
                os.kill(pid, sig)


def kill_group(pgid: int, sig: int) -> None:
    """Send ``sig`` to process group ``pgid``, if it still has members."""
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def watch(lines) -> None:
    """The watchdog: collect groups and processes from ``lines``; kill them unless ``done`` comes first."""
    groups, processes = [], {}
    for line in lines:
        kind, *numbers = line.split()
        if kind == "done":
            return
        if kind == "group":
            groups.append(int(numbers[0]))
        elif kind == "process":
            processes[int(numbers[0])] = int(numbers[1])
    for pgid in groups:
        kill_group(pgid, signal.SIGKILL)
    kill(processes, signal.SIGKILL)


if __name__ == "__main__":
    watch(sys.stdin)
