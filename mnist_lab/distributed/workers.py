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
  killed as a whole: no worker or child of one survives an error, a
  timeout or Ctrl-C.

The launcher uses the loopback address only: it looks for free ports on
127.0.0.1, and the ``TF_CONFIG`` it writes names 127.0.0.1 and nothing else,
so the workers talk to each other inside the machine. Note, though, that
TensorFlow's gRPC server listens on its port on *every* interface (its bind
address is hard-coded as 0.0.0.0, with no setting to change it) and speaks unauthenticated gRPC: on a machine reachable from a
network, keep the ports firewalled while the workers run.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from typing import Sequence, TextIO

HOST = "127.0.0.1"
MAX_WORKERS = 64
POLL_SECONDS = 0.05
GRACE_SECONDS = 2.0


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


def _kill_group(proc: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(proc.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _stop(procs: list[subprocess.Popen], grace: float = GRACE_SECONDS) -> None:
    """SIGTERM every worker's process group, SIGKILL what is left after ``grace`` seconds, reap all."""
    for p in procs:
        if p.poll() is None:
            _kill_group(p, signal.SIGTERM)
    deadline = time.monotonic() + grace
    for p in procs:
        try:
            p.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass
    for p in procs:  # the leaders and anything they started in their groups
        _kill_group(p, signal.SIGKILL)
    for p in procs:
        try:
            p.wait(timeout=5)
        except subprocess.TimeoutExpired:  # pragma: no cover - a process stuck in the kernel
            pass


def _pump(index: int, stream, out: TextIO, lock: threading.Lock) -> None:
    prefix = f"[worker {index}] "
    for raw in iter(stream.readline, b""):
        line = raw.decode(errors="replace").rstrip("\r\n")
        with lock:
            out.write(prefix + line + "\n")
            out.flush()
    stream.close()


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
    All workers are stopped on every way out, Ctrl-C included.
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"the number of workers must be at least 1, got {n!r}")
    if n > MAX_WORKERS:
        raise ValueError(f"at most {MAX_WORKERS} local workers, got {n}")
    command = list(command)
    if not command:
        raise ValueError("missing the command to run: mnist-lab workers N -- COMMAND [ARG ...]")
    if timeout is not None and not timeout > 0:
        raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
    out = sys.stdout if out is None else out
    base = dict(os.environ if env is None else env)
    ports = free_ports(n)
    lock = threading.Lock()
    procs: list[subprocess.Popen] = []
    pumps: list[threading.Thread] = []
    start = time.monotonic()
    if announce:
        with lock:
            out.write(f"[workers] {n} worker{'s' if n != 1 else ''} at "
                      f"{', '.join(f'{HOST}:{p}' for p in ports)}: {' '.join(command)}\n")
            out.flush()
    # Ctrl-C and SIGTERM only take note here; the loops below stop at a safe point. A KeyboardInterrupt
    # raised at any bytecode could lose a worker started a moment before, or be swallowed where Python
    # ignores exceptions, and leave the launcher waiting.
    interrupted: list[int] = []
    previous = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, lambda signum, frame: interrupted.append(signum))
    try:
        for i in range(n):
            if interrupted:
                raise KeyboardInterrupt
            worker_env = dict(base, TF_CONFIG=tf_config(ports, i), PYTHONUNBUFFERED="1")
            try:
                proc = subprocess.Popen(command, env=worker_env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, start_new_session=True,
                                        preexec_fn=_set_parent_death_signal if _PRCTL is not None else None)
            except OSError as e:
                raise ValueError(f"cannot start {command[0]!r}: {e.strerror or e}") from None
            procs.append(proc)
            pump = threading.Thread(target=_pump, args=(i, proc.stdout, out, lock), daemon=True)
            pump.start()
            pumps.append(pump)
        if on_start is not None:
            on_start([p.pid for p in procs])
        while True:
            if interrupted:
                raise KeyboardInterrupt  # the finally below stops the workers
            codes = [p.poll() for p in procs]
            failed = [(i, c) for i, c in enumerate(codes) if c not in (None, 0)]
            if failed:
                i, code = failed[0]
                _stop(procs)
                stopped = "; stopped the others" if n > 1 else ""
                raise WorkerFailure(_describe_exit(i, code) + stopped, code if code > 0 else 128 - code)
            if all(c == 0 for c in codes):
                break
            if timeout is not None and time.monotonic() - start > timeout:
                running = sum(c is None for c in codes)
                _stop(procs)
                raise WorkerFailure(f"timed out after {timeout:g} s; stopped {running} running "
                                    f"worker{'s' if running != 1 else ''}", 124)
            time.sleep(POLL_SECONDS)
    finally:
        _stop(procs)  # no-op when all have exited; otherwise (Ctrl-C, errors) stop them now
        for pump in pumps:
            pump.join(timeout=5)
        for sig, handler in previous.items():
            signal.signal(sig, signal.SIG_DFL if handler is None else handler)
