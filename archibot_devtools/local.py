"""Start and stop the local pieces the demo, the bench and the tests run: the simulator
and worker processes. Each is a real child process; each ``stop`` leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import signal
import ssl
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg

DEFAULT_START_TIMEOUT_S = 60.0
#: Dramatiq reads these when it is imported, so they must be in the workers' environment
#: (the Procfile and supervisord.conf set them too). The queue prefetch is per process:
#: one message per thread (set from --threads), so a burst does not pile onto whichever
#: process fetched first; and few delayed messages held in memory.
WORKER_ENV = {"dramatiq_delay_queue_prefetch": "100"}
DEFAULT_STOP_TIMEOUT_S = 60.0
#: Dramatiq's limit for its graceful stop (the Procfile and supervisord.conf pass the same).
DEFAULT_WORKER_SHUTDOWN_TIMEOUT_MS = 45_000
#: The grace of workers whose start failed or was interrupted: still booting, they hold no
#: operation worth waiting for (one that did is redelivered and checked against the ERP).
BOOT_ABANDON_TIMEOUT_S = 5.0
#: prctl(2)'s option that has the kernel signal a child when its parent thread dies.
_PR_SET_PDEATHSIG = 1


def die_with_parent() -> Callable[[], None]:
    """A ``preexec_fn`` by which the child gets SIGTERM when the process that started it dies.

    Even a SIGKILLed bench or demo, which runs no cleanup of its own, then takes its
    simulator, Redis and worker group with it (the dramatiq CLI forwards SIGTERM to its
    workers, whose Chromium dies with them) instead of leaving orphans running. libc is
    loaded here, in the parent: between fork and exec the child only makes the one call
    (no import, no lock another thread may have held at the fork).
    """
    libc = ctypes.CDLL(None, use_errno=True)

    def preexec() -> None:
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)

    return preexec


@contextlib.contextmanager
def interrupts_ignored() -> Iterator[None]:
    """Ignore SIGINT and SIGTERM while the block runs (in the main thread; elsewhere a no-op).

    For cleanup: a second Ctrl+C or SIGTERM arriving while the children are being stopped
    would otherwise raise in the middle of it and leave the rest of them running.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {signum: signal.signal(signum, signal.SIG_IGN) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def fresh_database(url: str, name: str) -> str:
    """Drop and recreate database ``name`` on ``url``'s server; its URL (a bench's journal)."""
    with psycopg.connect(url, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")
    head, _, _ = url.rpartition("/")
    return f"{head}/{name}"


class LocalProcessError(RuntimeError):
    """A local child process did not start or answer as expected."""


@dataclass
class SimProcess:
    """A running erpsim child process."""

    proc: subprocess.Popen[str]
    url: str  # the /Archibald/ base
    admin_token: str | None = None
    #: Over HTTPS (--tls-cert): the PEM file its certificate verifies against.
    ca_file: str | None = None

    @property
    def root(self) -> str:
        """The server's origin (``http://host:port``), where ``/__sim/`` lives."""
        return self.url.split("/Archibald/", 1)[0]

    def call(self, method: str, path: str, body: Any = None, headers: Mapping[str, str] | None = None) -> Any:
        """A JSON request to the server (``path`` from the origin, e.g. ``/__sim/state``)."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.root + path, data=data, method=method, headers=dict(headers or {}))
        if data is not None:
            request.add_header("Content-Type", "application/json")
        if self.admin_token:
            request.add_header("X-Sim-Token", self.admin_token)
        context = ssl.create_default_context(cafile=self.ca_file) if self.ca_file else None
        with urllib.request.urlopen(request, timeout=30, context=context) as response:
            return json.loads(response.read() or b"null")

    def _request(self, method: str, path: str, body: Any = None) -> Any:
        return self.call(method, "/__sim/" + path, body)

    def reset(self, **options: Any) -> Any:
        """Re-seed the simulator (``seed``, ``agents``)."""
        return self._request("POST", "reset", options)

    def state(self, include: str | None = None) -> Any:
        """The simulator's state (agents, customers, orders, products)."""
        return self._request("GET", "state" + (f"?include={include}" if include else ""))

    def orders(self, agent: str | None = None) -> list[dict[str, Any]]:
        """The simulator's orders, of one agent or all."""
        rows: list[dict[str, Any]] = self.state(include="orders")["orders"]
        return [o for o in rows if agent is None or o["agent"] == agent]

    def counters(self) -> Any:
        """Logins per agent, requests, overlaps."""
        return self._request("GET", "counters")

    def request_times(self, agent: str | None = None, since_s: float | None = None) -> dict[str, Any]:
        """Each agent's answered requests, [start_s, end_s) wall time, ended at or after ``since_s``."""
        query = urllib.parse.urlencode(
            {k: v for k, v in (("agent", agent), ("since", since_s)) if v is not None}
        )
        times: dict[str, Any] = self._request("GET", "request-times" + (f"?{query}" if query else ""))["agents"]
        return times

    def writes(self) -> list[dict[str, Any]]:
        """The write log: committed writes with time, agent, kind, record and client address."""
        rows: list[dict[str, Any]] = self._request("GET", "writes")["writes"]
        return rows

    def faults(self) -> Any:
        """The fault settings now in force."""
        return self._request("GET", "faults")

    def set_faults(self, **faults: Any) -> Any:
        """Change fault settings at run time."""
        return self._request("PUT", "faults", faults)

    def list_state(self, agent: str, view: str) -> dict[str, Any]:
        """What the server remembers of an agent's list view (page size, page index, filter)."""
        rows = self._request("GET", "list-state")["list_state"]
        found = [r for r in rows if r["agent"] == agent and r["view"] == view]
        return found[0] if found else {"page_size": 20, "page_index": 0, "filter": ""}

    def set_list_state(self, agent: str, view: str, **prefs: Any) -> Any:
        """Set an agent's remembered list state (page_size, page_index, filter)."""
        return self._request("PUT", "list-state", {"agent": agent, "view": view, **prefs})

    def expire(self, agent: str) -> Any:
        """Expire the agent's ERP sessions now."""
        return self._request("POST", "expire", {"agent": agent})

    def stop(self) -> None:
        """Stop the simulator."""
        _stop(self.proc)


def start_sim(
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    profile: str = "fast",
    latency_ms: int | None = None,
    agents: int | None = None,
    seed: int | None = None,
    test_mode: bool = True,
    extra_args: list[str] | None = None,
    ca_file: str | None = None,
) -> SimProcess:
    """Start ``python -m erpsim`` and wait for it to listen (``ca_file``: what its HTTPS
    certificate verifies against, when ``extra_args`` hold ``--tls-cert``/``--tls-key``)."""
    args = [sys.executable, "-m", "erpsim", "--host", host, "--port", str(port), "--profile", profile]
    if latency_ms is not None:
        args += ["--latency-ms", str(latency_ms)]
    if agents is not None:
        args += ["--agents", str(agents)]
    if seed is not None:
        args += ["--seed", str(seed)]
    if test_mode:
        args.append("--test-mode")
    args += extra_args or []
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, text=True, start_new_session=True,
                            preexec_fn=die_with_parent())  # noqa: PLW1509 (one C call, see there)
    line = _read_line_matching(proc, "listening on ", DEFAULT_START_TIMEOUT_S)
    url = line.split("listening on ", 1)[1].strip()
    # Keep draining stdout so the child never blocks on a full pipe.
    threading.Thread(target=_drain, args=(proc,), daemon=True).start()
    return SimProcess(proc, url, ca_file=ca_file)


@dataclass
class Workers:
    """``dramatiq actors`` running as a child process group (N worker processes)."""

    proc: subprocess.Popen[str]
    processes: int
    log_lines: list[str] = field(default_factory=list)

    def worker_pids(self) -> list[int]:
        """The pids of the worker processes (the dramatiq CLI's children)."""
        return _children(self.proc.pid)

    def stop(self, timeout_s: float = DEFAULT_STOP_TIMEOUT_S) -> None:
        """Stop every worker (SIGTERM, then SIGKILL) and their Chromium processes."""
        _stop(self.proc, timeout_s)


def start_workers(
    env: Mapping[str, str], *, processes: int = 2, threads: int = 5, timeout_s: float = DEFAULT_START_TIMEOUT_S,
    log_path: str | None = None, prefix: Sequence[str] = (),
) -> Workers:
    """Start ``dramatiq actors --processes N --threads T`` and wait until every worker booted
    (``prefix``: a command the line runs under, e.g. ``ip netns exec NS`` for another host)."""
    args = [*prefix, sys.executable, "-m", "dramatiq", "actors", "--processes", str(processes), "--threads", str(threads),
            "--worker-shutdown-timeout", str(DEFAULT_WORKER_SHUTDOWN_TIMEOUT_MS)]
    full_env = {**os.environ, **WORKER_ENV, "dramatiq_queue_prefetch": str(threads), **env}
    proc = subprocess.Popen(
        args, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env=full_env, start_new_session=True,
        preexec_fn=die_with_parent(),  # noqa: PLW1509 (one C call, see there)
    )
    workers = Workers(proc, processes)
    log_file = open(log_path, "a", encoding="utf-8") if log_path else None  # noqa: SIM115
    ready = threading.Semaphore(0)

    def pump() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            workers.log_lines.append(line)
            if log_file is not None:
                log_file.write(line)
                log_file.flush()
            if "worker_ready" in line:
                ready.release()

    threading.Thread(target=pump, daemon=True).start()
    deadline = time.monotonic() + timeout_s
    try:
        for _ in range(processes):
            if not ready.acquire(timeout=max(0.0, deadline - time.monotonic())):
                tail = "".join(workers.log_lines[-30:])
                raise LocalProcessError(f"the workers did not boot within {timeout_s:g} s:\n{tail}")
    except BaseException:
        # Timed out, or interrupted (a SIGTERM to the bench while they boot): the caller
        # never gets them to stop.
        with interrupts_ignored():
            workers.stop(BOOT_ABANDON_TIMEOUT_S)
        raise
    return workers


def _read_line_matching(proc: subprocess.Popen[str], needle: str, timeout_s: float) -> str:
    assert proc.stdout is not None
    result: list[str] = []

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            if needle in line:
                result.append(line)
                return

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        reader.join(timeout_s)
        if not result:
            raise LocalProcessError(f"{proc.args!r} did not print {needle!r} within {timeout_s:g} s")
    except BaseException:
        # Timed out, or interrupted while it starts: the caller never gets it to stop.
        with interrupts_ignored():
            _stop(proc)
        raise
    return result[0]


def _drain(proc: subprocess.Popen[str]) -> None:
    assert proc.stdout is not None
    for _ in proc.stdout:
        pass


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children", encoding="ascii") as f:
            return [int(p) for p in f.read().split()]
    except OSError:
        return []


def _stop(proc: subprocess.Popen[str], timeout_s: float = DEFAULT_STOP_TIMEOUT_S) -> None:
    """SIGTERM the child, wait, then SIGKILL what is left of its process group.

    Only the group's leader gets SIGTERM: the dramatiq CLI forwards it to its workers,
    and a worker that gets a second SIGTERM gives up its graceful shutdown.
    """
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        pass
