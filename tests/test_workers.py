"""The local multi-worker launcher: mnist-lab workers N -- COMMAND."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from mnist_lab.distributed import strategy as distribute, workers
from mnist_lab.tooling.cli import main
from conftest import process_alive

pytestmark = pytest.mark.skipif(os.name != "posix", reason="process groups are POSIX")

ROOT = Path(__file__).resolve().parents[1]
LAUNCHER = [sys.executable, "-m", "mnist_lab.tooling.cli", "workers"]


def recording(piddir, *command):
    """``command`` run through sh, which first writes its pid (kept by exec) into ``piddir``."""
    return ["sh", "-c", 'echo $$ > "$0/$$"; exec "$@"', str(piddir), *command]


def assert_all_gone(pids, within: float = 5.0):
    pids = [int(p) for p in pids]
    assert pids, "no process ids were recorded"
    deadline = time.monotonic() + within
    while any(process_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    left = [p for p in pids if process_alive(p)]
    assert not left, f"processes left running: {left}"


def recorded(piddir):
    return [int(p.name) for p in Path(piddir).iterdir() if p.name.isdigit()]


def run_launcher(args, timeout=60, **kwargs):
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run(LAUNCHER + args, capture_output=True, text=True, timeout=timeout, env=env,
                          cwd=ROOT, **kwargs)


# --- pieces ------------------------------------------------------------------


def test_tf_config_per_worker_on_loopback_only():
    ports = workers.free_ports(3)
    assert len(set(ports)) == 3 and all(0 < p < 65536 for p in ports)
    configs = [json.loads(workers.tf_config(ports, i)) for i in range(3)]
    for i, config in enumerate(configs):
        assert distribute.parse_tf_config(json.dumps(config)) == config  # valid for the strategy
        assert config["task"] == {"type": "worker", "index": i}
        assert config["cluster"] == {"worker": [f"127.0.0.1:{p}" for p in ports]}
    with pytest.raises(ValueError, match="out of range"):
        workers.tf_config(ports, 3)


@pytest.mark.parametrize("argv, message", [
    (["workers", "0", "--", "true"], "N must be at least 1, got 0"),
    (["workers", "-2", "--", "true"], "N must be at least 1, got -2"),
    (["workers", "2"], "missing the command to run"),
    (["workers", "2", "--"], "missing the command to run"),
    (["workers", "2", "--timeout", "5"], "put the command after --"),
    (["workers", "2", "--bogus", "1", "--", "true"], "unknown option '--bogus'"),
    (["workers", "2", "--timeout", "0", "--", "true"], "timeout must be a positive number"),
    (["workers", "65", "--", "true"], "at most 64 local workers"),
    (["workers", "1", "--", "/nonexistent/program"], "cannot start '/nonexistent/program'"),
])
def test_argument_errors(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("mnist-lab workers: ") and message in err
    assert err.count("\n") == 1  # one line, no traceback


def test_missing_n_is_an_argparse_error(capsys):
    with pytest.raises(SystemExit) as e:
        main(["workers", "--", "true"])
    assert e.value.code == 2


def test_run_workers_checks_its_arguments():
    for n in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="at least 1"):
            workers.run_workers(n, ["true"])
    with pytest.raises(ValueError, match="missing the command"):
        workers.run_workers(2, [])


# --- running -----------------------------------------------------------------


def test_all_succeed_with_prefixed_output_and_own_tf_config(capsys):
    script = ("import json, os; t = json.loads(os.environ['TF_CONFIG'])['task']; "
              "print('task', t['type'], t['index']); print('second line', t['index'])")
    assert main(["workers", "3", "--timeout", "60", "--", sys.executable, "-c", script]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("[workers] 3 workers at 127.0.0.1:")
    for i in range(3):
        assert f"[worker {i}] task worker {i}" in lines
        assert f"[worker {i}] second line {i}" in lines
        # each worker's lines stay in order
        assert lines.index(f"[worker {i}] task worker {i}") < lines.index(f"[worker {i}] second line {i}")


def test_inner_double_dash_and_options_belong_to_the_command(capsys):
    assert main(["workers", "1", "--timeout", "30", "--", sys.executable, "-c",
                 "import sys; print(sys.argv[1:])", "--timeout", "--", "x"]) == 0
    assert "[worker 0] ['--timeout', '--', 'x']" in capsys.readouterr().out


DEAD_PEER = textwrap.dedent("""
    import json, os, pathlib, sys, time
    index = json.loads(os.environ["TF_CONFIG"])["task"]["index"]
    flag = pathlib.Path(sys.argv[1]) / "waiting"
    if index == 1:                      # dies once worker 0 waits for it
        deadline = time.time() + 60
        while not flag.exists() and time.time() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)
        sys.exit(3)
    from mnist_lab import distributed as distribute
    flag.touch()
    print("waiting for worker 1", flush=True)
    distribute.choose_strategy()        # MultiWorkerMirroredStrategy waits for every worker: forever
    print("never printed", flush=True)
""")


@pytest.mark.slow
def test_dead_worker_stops_the_blocked_peer(tmp_path):
    piddir = tmp_path / "pids"
    piddir.mkdir()
    result = run_launcher(["2", "--timeout", "90", "--",
                           *recording(piddir, sys.executable, "-c", DEAD_PEER, str(tmp_path))], timeout=120)
    assert result.returncode == 3, result.stderr  # the dead worker's code, not the timeout's 124
    assert result.stderr.strip().splitlines()[-1] == "mnist-lab workers: worker 1 exited with code 3; stopped the others"
    assert "[worker 0] waiting for worker 1" in result.stdout
    assert "[worker 0] never printed" not in result.stdout
    assert_all_gone(recorded(piddir))


def test_worker_killed_by_a_signal(capsys):
    code = main(["workers", "2", "--timeout", "60", "--", sys.executable, "-c",
                 "import json, os, signal, time\n"
                 "if json.loads(os.environ['TF_CONFIG'])['task']['index'] == 0: os.kill(os.getpid(), signal.SIGKILL)\n"
                 "time.sleep(60)"])
    assert code == 128 + signal.SIGKILL
    assert capsys.readouterr().err == "mnist-lab workers: worker 0 was killed by SIGKILL; stopped the others\n"


@pytest.mark.slow
def test_timeout_stops_workers_and_their_children(tmp_path):
    piddir = tmp_path / "pids"
    piddir.mkdir()
    # Each worker starts a background child of its own, which must not outlive it.
    worker = 'sleep 60 & echo $! > "$0/$!"; sleep 60'
    result = run_launcher(["2", "--timeout", "1.5", "--", *recording(piddir, "sh", "-c", worker, str(piddir))])
    assert result.returncode == 124
    assert result.stderr.strip() == "mnist-lab workers: timed out after 1.5 s; stopped 2 running workers"
    pids = recorded(piddir)
    assert len(pids) == 4  # two workers, two grandchildren
    assert_all_gone(pids)


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupting_the_launcher_stops_the_workers(tmp_path, sig):
    piddir = tmp_path / "pids"
    piddir.mkdir()
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    launcher = subprocess.Popen(LAUNCHER + ["2", "--", *recording(piddir, "sleep", "60")], cwd=ROOT, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while len(recorded(piddir)) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(recorded(piddir)) == 2
        launcher.send_signal(sig)
        out, err = launcher.communicate(timeout=30)
    finally:
        if launcher.poll() is None:
            launcher.kill()
    assert launcher.returncode == 130
    assert "mnist-lab workers: interrupted" in err
    assert_all_gone(recorded(piddir))


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_while_a_worker_starts_loses_no_worker(tmp_path, monkeypatch, sig):
    # The signal lands after the second worker has started but before run_workers holds it. The
    # launcher must still stop that worker, and start no third one.
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("Python sets signal handlers in the main thread only, and this test runs in another")
    real_popen, started = subprocess.Popen, []

    def popen_then_signal(*args, **kwargs):
        proc = real_popen(*args, **kwargs)
        started.append(proc.pid)
        if len(started) == 2:
            os.kill(os.getpid(), sig)
            time.sleep(0.2)  # Python code between the signal and the return: a raising handler fires here
        return proc

    monkeypatch.setattr(subprocess, "Popen", popen_then_signal)
    try:
        with pytest.raises(KeyboardInterrupt):
            workers.run_workers(3, ["sleep", "60"], out=open(os.devnull, "w"), announce=False)
        assert len(started) == 2
        assert_all_gone(started)
    finally:
        for pid in started:
            if process_alive(pid):
                os.kill(pid, signal.SIGKILL)


# --- processes that leave the worker's group, and a launcher that is killed -----------------------

def kill_survivors(piddir):
    """Clean up after a failed test: kill what it recorded and still runs."""
    for pid in recorded(piddir):
        if process_alive(pid):
            os.kill(pid, signal.SIGKILL)


LINUX_PROC = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="finding descendants needs Linux' /proc")


@LINUX_PROC
def test_timeout_stops_a_grandchild_that_left_the_group(tmp_path):
    """A worker's child that calls setsid is in no worker's process group; it is stopped all the same."""
    piddir = tmp_path / "pids"
    piddir.mkdir()
    worker = 'setsid sleep 60 & echo $! > "$0/$!"; sleep 60'
    try:
        with pytest.raises(workers.WorkerFailure, match="timed out") as failure:
            workers.run_workers(1, recording(piddir, "sh", "-c", worker, str(piddir)), timeout=1,
                                out=open(os.devnull, "w"), announce=False)
        assert failure.value.exit_code == 124
        assert len(recorded(piddir)) == 2  # the worker and its grandchild in a session of its own
        assert_all_gone(recorded(piddir))
    finally:
        kill_survivors(piddir)


@pytest.mark.slow
@LINUX_PROC
def test_killing_the_launcher_ends_what_its_workers_started(tmp_path):
    """SIGKILL gives the launcher no chance to stop anything: Linux ends the workers, its watchdog the rest."""
    piddir = tmp_path / "pids"
    piddir.mkdir()
    worker = 'sleep 60 & echo $! > "$0/$!"; setsid sleep 60 & echo $! > "$0/$!"; sleep 60'
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    launcher = subprocess.Popen(LAUNCHER + ["2", "--", *recording(piddir, "sh", "-c", worker, str(piddir))],
                                cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while len(recorded(piddir)) < 6 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(recorded(piddir)) == 6  # two workers, each with a child in its group and one outside
        time.sleep(2 * workers.TRACK_SECONDS + 0.5)   # the launcher has told its watchdog about them
        launcher.kill()
        launcher.wait(timeout=30)
        assert_all_gone(recorded(piddir))
    finally:
        kill_survivors(piddir)


@LINUX_PROC
def test_a_recorded_process_is_signalled_only_while_it_is_the_same_process():
    from mnist_lab.distributed import _reaper

    child = subprocess.Popen(["sleep", "60"])
    try:
        started = _reaper.descendants([os.getpid()])[child.pid]
        _reaper.kill({child.pid: started + 1}, signal.SIGKILL)   # a process that got a dead one's id
        time.sleep(0.2)
        assert child.poll() is None
        _reaper.kill({child.pid: started}, signal.SIGKILL)
        assert child.wait(timeout=10) == -signal.SIGKILL
    finally:
        child.kill()
        child.wait()


def test_the_watchdog_kills_only_when_the_launcher_did_not_say_done():
    from mnist_lab.distributed import _reaper

    groups = [subprocess.Popen(["sleep", "60"], start_new_session=True) for _ in range(2)]
    try:
        _reaper.watch([f"group {groups[0].pid}\n", "done\n"])   # the launcher stopped its workers itself
        _reaper.watch([f"group {groups[1].pid}\n"])             # its input ended: the launcher died
        assert groups[1].wait(timeout=10) == -signal.SIGKILL
        assert groups[0].poll() is None
    finally:
        for p in groups:
            p.kill()
            p.wait()
