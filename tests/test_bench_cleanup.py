"""`archibot bench` leaves nothing running: stopped by SIGTERM, SIGKILLed, or out of time.

Each test starts a real bench as a subprocess with a marker in its environment, which every
process it starts inherits (the simulator, Redis, the dramatiq CLI, its workers, their
Chromium); the process table read for that marker is the truth about what survived.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from archibot.settings import Settings
from archibot_devtools.local import start_workers
from pool.procstat import command_line, process_tree
from tests.fix_services import BASE_TEST_DATABASE

#: The benches' own journal databases (each dropped and recreated by its run): one per test,
#: since the tests of this module run at once on different xdist workers.
BENCH_TEST_DATABASE = f"{BASE_TEST_DATABASE}_bench_cleanup_{{}}"
#: Long enough for a bench to boot its simulator, Redis and a worker with its Chromium.
BOOT_BOUND_S = 120.0
#: How long a stopped bench's processes may take to end: the workers' graceful stop
#: (an operation in flight at a slow ERP) plus the SIGKILL that follows it.
END_BOUND_S = 90.0
MARKER_VAR = "ARCHIBOT_TEST_BENCH_MARKER"
#: Well inside a worker's boot (its imports alone take longer).
INTERRUPT_AFTER_S = 0.3
#: The console script of the interpreter running the tests (the package has no ``__main__``).
ARCHIBOT_CLI = str(Path(sys.executable).with_name("archibot"))


def _start_time(pid: int) -> str | None:
    """When ``pid`` started (ticks since boot), or None if it is gone or a zombie: with the
    pid it names one process, never a later one that reused the number."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return None if fields[0] == "Z" else fields[19]


def _marked(marker: str) -> dict[int, str]:
    """Live processes whose environment holds ``marker``: pid → command line."""
    needle = f"{MARKER_VAR}={marker}".encode()
    found = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/environ", "rb") as f:
                if needle not in f.read().split(b"\0"):
                    continue
        except OSError:
            continue
        if _start_time(int(name)) is not None:
            found[int(name)] = command_line(int(name))
    return found


class Stack:
    """What one bench started: the processes carrying its marker, and its descendants
    (redis-server rewrites its environment for its process title, so the marker alone
    misses it), each remembered with its start time."""

    def __init__(self, marker: str, bench_pid: int) -> None:
        self.marker = marker
        self.bench_pid = bench_pid
        self.seen: dict[int, tuple[str | None, str]] = {}

    def look(self) -> dict[int, str]:
        """Record and return what is running now."""
        now = _marked(self.marker)
        now.update({pid: command_line(pid) for pid in process_tree(self.bench_pid) if pid != self.bench_pid})
        for pid, command in now.items():
            self.seen.setdefault(pid, (_start_time(pid), command))
        return now

    def alive(self) -> dict[int, str]:
        """What it ever started that still runs (the same processes, not reused pids)."""
        alive = _marked(self.marker)
        for pid, (started, command) in self.seen.items():
            if started is not None and _start_time(pid) == started:
                alive[pid] = command
        alive.pop(self.bench_pid, None)
        return alive


@pytest.fixture
def bench_tmp() -> Iterator[Path]:
    """The bench's TMPDIR: outside pytest's private tmp_path, which the unprivileged user
    Chromium runs as (pool/browser.py) cannot enter."""
    path = Path(tempfile.mkdtemp(prefix="archibot-test-bench-"))
    path.chmod(0o1777)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _start_bench(tmp_path: Path, name: str, *options: str) -> tuple[subprocess.Popen[str], str]:
    marker = uuid.uuid4().hex
    env = {**os.environ, MARKER_VAR: marker, "TMPDIR": str(tmp_path),
           "ARCHIBOT_BENCH_DATABASE": BENCH_TEST_DATABASE.format(name)}
    proc = subprocess.Popen(
        [ARCHIBOT_CLI, "bench", "--agents", "1", "--ops-per-agent", "1",
         "--processes", "1", "--threads", "1", *options],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    return proc, marker


def _wait_for_stack(proc: subprocess.Popen[str], stack: Stack) -> dict[int, str]:
    """Wait until the bench runs its simulator, Redis, a worker and Chromium."""
    deadline = time.monotonic() + BOOT_BOUND_S
    wanted = ("erpsim", "redis-server", "dramatiq", "chrom")
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"the bench ended early:\n{proc.communicate()[1][-3000:]}"
        found = stack.look()
        if all(any(w in cmd for cmd in found.values()) for w in wanted):
            return found
        time.sleep(0.5)
    proc.kill()
    pytest.fail(f"the bench did not start all of {wanted} within {BOOT_BOUND_S:g} s: {stack.look()}")


def _survivors(stack: Stack) -> dict[int, str]:
    deadline = time.monotonic() + END_BOUND_S
    while time.monotonic() < deadline:
        if not stack.alive():
            return {}
        time.sleep(0.5)
    left = stack.alive()
    for pid in left:  # leave the machine clean for the next test
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return left


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "sigkill"])
def test_a_stopped_bench_leaves_no_process(bench_tmp: Path, signum: int) -> None:
    # Given a bench in the middle of a burst at a slow ERP
    proc, marker = _start_bench(bench_tmp, signal.Signals(signum).name.lower(), "--latency-ms", "2000")
    stack = Stack(marker, proc.pid)
    started = _wait_for_stack(proc, stack)
    # When it is signalled
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=END_BOUND_S)
    # Then nothing it started is still running
    assert _survivors(stack) == {}, f"started: {started}"
    if signum == signal.SIGTERM:
        # ...and its temporary directories (Redis's, the Chromium profiles) are gone too
        left = sorted(str(p) for p in bench_tmp.rglob("*"))
        assert list(bench_tmp.iterdir()) == [], f"exit {proc.returncode}, left {left[:20]}:\n{err[-3000:]}"
        assert proc.returncode == 130


def test_a_bench_out_of_time_says_what_is_pending(bench_tmp: Path) -> None:
    # Given a bench whose burst cannot end in time (each ERP request takes 3 s)
    proc, marker = _start_bench(bench_tmp, "timeout", "--latency-ms", "3000", "--timeout-s", "0")
    stack = Stack(marker, proc.pid)
    # When it runs out of time
    deadline = time.monotonic() + BOOT_BOUND_S + END_BOUND_S
    while proc.poll() is None and time.monotonic() < deadline:
        stack.look()
        time.sleep(0.5)
    out, err = proc.communicate(timeout=END_BOUND_S)
    # Then it prints what did not end, exits with its own code and leaves nothing behind
    assert proc.returncode == 3, err[-3000:]
    result = json.loads(out)
    assert result["timed_out"] is True
    assert sum(result["pending"].values()) == 1
    assert result["ops"] == 1
    assert _survivors(stack) == {}


class _Interrupted(Exception):
    """What the test's timer raises in the middle of a start (as SIGTERM does in the bench)."""


def test_workers_interrupted_while_they_boot_are_stopped(
    stack_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given workers starting (their boot takes seconds: Python's imports, Chromium's launch)
    marker = uuid.uuid4().hex
    monkeypatch.setenv(MARKER_VAR, marker)

    def interrupt(signum: int, frame: object) -> None:
        raise _Interrupted

    previous = signal.signal(signal.SIGALRM, interrupt)
    try:
        # When the start is interrupted before they are ready
        signal.setitimer(signal.ITIMER_REAL, INTERRUPT_AFTER_S)
        with pytest.raises(_Interrupted):
            start_workers(stack_settings.to_env(), processes=1, threads=1)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    # Then the start stopped what it had started (the caller never got it to stop)
    deadline = time.monotonic() + END_BOUND_S
    while _marked(marker) and time.monotonic() < deadline:
        time.sleep(0.5)
    left = _marked(marker)
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    assert left == {}
