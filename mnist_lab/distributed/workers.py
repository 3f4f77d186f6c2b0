"""Try multi-worker training on one machine: start N local workers of one command.

``mnist-lab workers N -- COMMAND ...`` (and :func:`run_workers`) starts N
copies of COMMAND, each with its own ``TF_CONFIG``: a cluster of N workers
at ``127.0.0.1`` on free ports, and that copy's task index. Under
``tf.distribute.MultiWorkerMirroredStrategy`` they train one model
together, exactly as N machines would (see :mod:`mnist_lab.distributed.strategy`).

* Their output is streamed line by line, each line prefixed ``[worker i]``.
* It waits for all of them and succeeds only if every one exits with 0.
* If one fails (non-zero exit, or killed by a signal), the others are
  stopped at once, since they would wait for their lost peer forever,
  and it fails with one line such as ``worker 1 exited with code 3; stopped
  the others``.
* ``timeout`` seconds after the start everything is stopped.
* Every worker runs in its own process group (its own session), which is
  killed as a whole, together with every process below a worker that left
  the group (``setsid``): the launcher looks for those in ``/proc`` (Linux)
  every half second and when it stops. No worker or child of one survives
  an error, a timeout, Ctrl-C or SIGTERM.
* If the launcher itself is killed (SIGKILL), Linux kills each worker with
  it, and a watchdog process kills the workers' groups and the processes
  found outside them.
* Out of reach: outside Linux, a process that left its group; on Linux, one
  that left its group and lost its parent (a daemon's double fork) in the
  half second before the launcher looked.

The launcher uses the loopback address only: it looks for free ports on
127.0.0.1, and the ``TF_CONFIG`` it writes names 127.0.0.1 and nothing else,
so the workers talk to each other inside the machine. Note, though, that
TensorFlow's gRPC server listens on its port on *every* interface (its bind
address is hard-coded as 0.0.0.0, with no setting to change it) and speaks unauthenticated gRPC: on a machine reachable from a
network, keep the ports firewalled while the workers run.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from typing import Sequence, TextIO

from . import _reaper

HOST = "127.0.0.1"
MAX_WORKERS = 64
POLL_SECONDS = 0.05
GRACE_SECONDS = 2.0
TRACK_SECONDS = 0.5   # how often the launcher records what the workers started, for its watchdog


class WorkerFailure(RuntimeError):
    """A worker failed or the time ran out; the message is one line, ``exit_code`` what to exit with."""

    def __init__(self, message: str, exit_code: int):
        super().__init__(message)
        self.exit_code = exit_code


def free_ports(n: int, host: str = HOST) -> list[int]:
    """``n`` distinct free TCP ports on ``host``, found by binding port 0.

    All sockets are held open until every port is known (so the ports are
    distinct), then closed for the workers to use. Another program could in
    principle take one in between; the workers then fail to start, loudly.
    """
    sockets = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind((host, 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def tf_config(ports: Sequence[int], index: int, host: str = HOST) -> str:
    """The ``TF_CONFIG`` JSON of worker ``index`` in a cluster of workers at ``host:port``.

    >>> tf_config([2222, 2223], 1)
    '{"cluster": {"worker": ["127.0.0.1:2222", "127.0.0.1:2223"]}, "task": {"type": "worker", "index": 1}}'
    """
    if not 0 <= index < len(ports):
        raise ValueError(f"index {index} is out of range for {len(ports)} workers")
    return json.dumps({"cluster": {"worker": [f"{host}:{p}" for p in ports]},
                       "task": {"type": "worker", "index": index}})


def _load_prctl():
    """Linux's prctl from the C library, loaded here in the parent (not after fork), or None."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes
        return ctypes.CDLL("libc.so.6", use_errno=True).prctl
    except (OSError, AttributeError):
        return None


_PRCTL = _load_prctl()
_PR_SET_PDEATHSIG = 1


def _set_parent_death_signal() -> None:  # pragma: no cover - runs in the child, between fork and exec
    """Have the kernel SIGKILL the worker if the launcher itself dies, even by SIGKILL (Linux)."""
    _PRCTL(_PR_SET_PDEATHSIG, int(signal.SIGKILL))


def _describe_exit(index: int, code: int) -> str:
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"worker {index} was killed by {name}"
    return f"worker {index} exited with code {code}"


class _Watchdog:
    """A process outside the workers' groups that kills them if the launcher dies without stopping them.

    The kernel kills each worker with the launcher (``PR_SET_PDEATHSIG``), but not what the worker
    started; the watchdog (:mod:`._reaper` run as a script) sees its input end and kills the workers'
    groups and the strays recorded so far.
    """

    def __init__(self):
        try:
            self.proc = subprocess.Popen([sys.executable, "-I", _reaper.__file__], stdin=subprocess.PIPE,
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True,
                                         start_new_session=True)   # Ctrl-C in a terminal must not reach it
        except OSError:   # no Python executable to start (an embedded interpreter): no watchdog
            self.proc = None

    def tell(self, line: str) -> None:
        if self.proc is None:
            return
        with contextlib.suppress(OSError):   # a watchdog that is gone cannot be told
            self.proc.stdin.write(line + "\n")
            self.proc.stdin.flush()

    def close(self) -> None:
        """The workers are stopped: let the watchdog end without killing anything."""
        if self.proc is not None:
            self.tell("done")
            with contextlib.suppress(OSError):
                self.proc.stdin.close()
            self.proc.wait()


class _Cluster:
    """The running workers, the pumps of their output, and the processes they started (strays included)."""

    def __init__(self, out: TextIO):
        self.out, self.lock = out, threading.Lock()
        self.procs: list[subprocess.Popen] = []
        self.pumps: list[threading.Thread] = []
        self.strays: dict[int, int] = {}   # descendants of the workers, {pid: start time}
        self.watchdog = _Watchdog()

    def say(self, line: str) -> None:
        with self.lock:
            self.out.write(line + "\n")
            self.out.flush()

    def start(self, index: int, command: list[str], env: dict) -> None:
        try:
            proc = subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT, start_new_session=True,
                                    preexec_fn=_set_parent_death_signal if _PRCTL is not None else None)
        except OSError as e:
            raise ValueError(f"cannot start {command[0]!r}: {e.strerror or e}") from None
        self.procs.append(proc)
        self.watchdog.tell(f"group {proc.pid}")
        pump = threading.Thread(target=_pump, args=(index, proc.stdout, self.out, self.lock), daemon=True)
        pump.start()
        self.pumps.append(pump)

    def track(self) -> None:
        """Record the workers' descendants now, while their parent links still lead to a worker."""
        found = _reaper.descendants(p.pid for p in self.procs)
        for pid, started in found.items():
            if self.strays.get(pid) != started:
                self.watchdog.tell(f"process {pid} {started}")
        self.strays.update(found)

    def wait(self, timeout: float | None, interrupted: list) -> None:
        """Return when every worker exited with 0; raise WorkerFailure when one fails or time runs out."""
        start = last_track = time.monotonic()
        while True:
            if interrupted:
                raise KeyboardInterrupt  # the caller stops the workers
            codes = [p.poll() for p in self.procs]
            failed = [(i, c) for i, c in enumerate(codes) if c not in (None, 0)]
            if failed:
                i, code = failed[0]
                stopped = "; stopped the others" if len(codes) > 1 else ""
                raise WorkerFailure(_describe_exit(i, code) + stopped, code if code > 0 else 128 - code)
            if all(c == 0 for c in codes):
                return
            if timeout is not None and time.monotonic() - start > timeout:
                running = sum(c is None for c in codes)
                raise WorkerFailure(f"timed out after {timeout:g} s; stopped {running} running "
                                    f"worker{'s' if running != 1 else ''}", 124)
            if time.monotonic() - last_track > TRACK_SECONDS:
                self.track()
                last_track = time.monotonic()
            time.sleep(POLL_SECONDS)

    def stop(self, grace: float = GRACE_SECONDS) -> None:
        """SIGTERM every worker's group and descendant, SIGKILL what is left after ``grace`` seconds, reap all."""
        self.track()
        for p in self.procs:
            if p.poll() is None:
                _reaper.kill_group(p.pid, signal.SIGTERM)
        _reaper.kill(self.strays, signal.SIGTERM)
        deadline = time.monotonic() + grace
        for p in self.procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                p.wait(timeout=max(0.0, deadline - time.monotonic()))
        self.track()   # what started during the grace period
        for p in self.procs:  # the leaders and anything left in their groups
            _reaper.kill_group(p.pid, signal.SIGKILL)
        _reaper.kill(self.strays, signal.SIGKILL)
        for p in self.procs:
            with contextlib.suppress(subprocess.TimeoutExpired):  # pragma: no cover - a process stuck in the kernel
                p.wait(timeout=5)
        for pump in self.pumps:
            pump.join(timeout=5)
        self.watchdog.close()


def _pump(index: int, stream, out: TextIO, lock: threading.Lock) -> None:
    prefix = f"[worker {index}] "
    for raw in iter(stream.readline, b""):
        line = raw.decode(errors="replace").rstrip("\r\n")
        with lock:
            out.write(prefix + line + "\n")
            out.flush()
    stream.close()


def _check_arguments(n, command: list, timeout) -> None:
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"the number of workers must be at least 1, got {n!r}")
    if n > MAX_WORKERS:
        raise ValueError(f"at most {MAX_WORKERS} local workers, got {n}")
    if not command:
        raise ValueError("missing the command to run: mnist-lab workers N -- COMMAND [ARG ...]")
    if timeout is not None and not timeout > 0:
        raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")


@contextlib.contextmanager
def _signals_noted():
    """Ctrl-C and SIGTERM only take note (in the list yielded); the caller stops at a safe point.

    A KeyboardInterrupt raised at any bytecode could lose a worker started a moment before, or be
    swallowed where Python ignores exceptions, and leave the launcher waiting.
    """
    interrupted: list[int] = []
    previous = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, lambda signum, frame: interrupted.append(signum))
    try:
        yield interrupted
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, signal.SIG_DFL if handler is None else handler)


def run_workers(n: int, command: Sequence[str], timeout: float | None = None, out: TextIO | None = None,
                env: dict | None = None, on_start=None, announce: bool = True) -> None:
    """Run ``n`` local workers of ``command`` with their own ``TF_CONFIG``; return when all succeeded.

    Raises :class:`WorkerFailure` (message of one line, ``exit_code``) when a
    worker fails, or when ``timeout`` seconds pass; ``ValueError`` for bad
    arguments. Output goes to ``out`` (default ``sys.stdout``) as
    ``[worker i] line``. ``env`` replaces ``os.environ`` as the base
    environment; each worker also gets ``TF_CONFIG`` and
    ``PYTHONUNBUFFERED=1`` (so its lines arrive as they are printed).
    ``on_start(pids)`` is called once all workers are started (for tests).
    With ``announce`` a first line names the cluster's addresses.
    All workers and what they started are stopped on every way out, Ctrl-C included.
    """
    command = list(command)
    _check_arguments(n, command, timeout)
    base = dict(os.environ if env is None else env)
    ports = free_ports(n)
    with _signals_noted() as interrupted:
        cluster = _Cluster(sys.stdout if out is None else out)
        try:
            if announce:
                cluster.say(f"[workers] {n} worker{'s' if n != 1 else ''} at "
                            f"{', '.join(f'{HOST}:{p}' for p in ports)}: {' '.join(command)}")
            for i in range(n):
                if interrupted:
                    raise KeyboardInterrupt
                cluster.start(i, command, dict(base, TF_CONFIG=tf_config(ports, i), PYTHONUNBUFFERED="1"))
            if on_start is not None:
                on_start([p.pid for p in cluster.procs])
            cluster.wait(timeout, interrupted)
        finally:
            cluster.stop()  # on every way out: all exited (nothing to stop), a failure, a timeout, Ctrl-C
