"""The middleware that boots this worker process's services and stops them at shutdown.

The services (PostgreSQL, Redis, Chromium: actors/services.py) are opened *before* the
worker threads take any message, retrying with backoff; a boot that cannot reach them within
``ARCHIBOT_BOOT_TIMEOUT_S`` exits non-zero so the supervisor starts it again.

Shutdown: a stop signal (SIGTERM to the CLI, which forwards it, or to the whole process
group, which delivers it twice; SIGINT) stops the worker once — repeats are ignored, since
Dramatiq's own handler would exit in the middle of its graceful stop and leave threads
taking messages from a closed loop. Running operations reach a safe point: a sync at its
next page, anything else within ``ARCHIBOT_SHUTDOWN_GRACE_S`` or else it is handed back to
the journal (a save already clicked always finishes). Then the services are closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import threading
import time
from typing import Any

import dramatiq
from dramatiq.asyncio import get_event_loop_thread
from dramatiq.middleware import Middleware

from actors.errors import BootFailed
from actors.services import WorkerProcess, WorkerState, open_services
from archibot.errors import ConfigError

log = logging.getLogger("archibot.worker")

#: The exit status of a worker that stopped because it cannot work (no Chromium…).
EXIT_UNHEALTHY = 3
#: The exit status of a worker whose boot gave up.
EXIT_BOOT_FAILED = 4
#: The exit status of a worker refused by its configuration (the development key…).
EXIT_CONFIG = 5
#: How often the shutdown looks whether the running operations have ended.
DEFAULT_HAND_BACK_POLL_S = 0.2
_STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


class WorkerBoot(Middleware):
    """Opens the process's services at boot (``process.services``); closes them at shutdown."""

    def __init__(self, process: WorkerProcess) -> None:
        self.process = process
        self._stop_requested = threading.Event()
        # Holds open_services() from the boot hook to the shutdown hook (entered and left
        # as a pair, on the event loop).
        self._stack = contextlib.AsyncExitStack()

    def before_worker_boot(self, broker: dramatiq.Broker, worker_: Any) -> None:
        # Runs after the AsyncIO middleware's (it comes first) and before any worker thread
        # exists: no message is taken before the services are up.
        self._install_signal_handlers()
        settings = self.process.settings
        try:
            settings.check_secret_key()
        except ConfigError as exc:
            log.error("worker_refused error=%s", exc)
            os._exit(EXIT_CONFIG)
        loop_thread = get_event_loop_thread()
        if loop_thread is None:
            raise RuntimeError("the AsyncIO middleware must come before WorkerBoot")
        opening = open_services(settings, broker, self.process.state,
                                should_stop=self._stop_requested.is_set)
        try:
            services = loop_thread.run_coroutine(self._stack.enter_async_context(opening))
        except BootFailed as exc:
            # os._exit: the event loop's thread is not a daemon; a SystemExit would hang.
            log.error("worker_boot_failed worker=%s:%s error=%s", socket.gethostname(), os.getpid(), exc)
            os._exit(EXIT_BOOT_FAILED)
        self.process.services = services
        log.info("worker_ready worker=%s chromium_pid=%s", services.name,
                 services.pool.stats().get("chromium_pid"))

    def _install_signal_handlers(self) -> None:
        """Let only the first stop signal through to Dramatiq's handler; SIGUSR2 logs the
        event loop's tasks (what every running operation is waiting for)."""
        if threading.current_thread() is not threading.main_thread():
            return
        signal.signal(signal.SIGUSR2, lambda sig, frame: _dump_tasks())
        for signum in _STOP_SIGNALS:
            previous = signal.getsignal(signum)

            def handler(sig: int, frame: Any, previous: Any = previous) -> None:
                if self._stop_requested.is_set():
                    log.info("stop_signal_ignored signal=%s (already stopping)", signal.Signals(sig).name)
                    return
                self._stop_requested.set()
                log.info("stop_signal signal=%s", signal.Signals(sig).name)
                if callable(previous):
                    previous(sig, frame)

            signal.signal(signum, handler)

    def before_worker_shutdown(self, broker: dramatiq.Broker, worker_: Any) -> None:
        # Nothing new is claimed; running operations get their grace, then are handed back.
        if self.process.services is None:
            return
        state = self.process.state
        state.stopping = True
        loop_thread = get_event_loop_thread()
        if loop_thread is not None:
            grace_s = self.process.settings.shutdown_grace_s
            loop_thread.loop.call_soon_threadsafe(
                lambda: loop_thread.loop.create_task(hand_back_after(state, grace_s))
            )

    def after_worker_shutdown(self, broker: dramatiq.Broker, worker_: Any) -> None:
        # After-hooks run in reverse order: this runs before AsyncIO stops the event loop,
        # and after the worker threads (and so the operations) have finished.
        services = self.process.services
        if services is None:
            return
        loop_thread = get_event_loop_thread()
        if loop_thread is not None:
            loop_thread.run_coroutine(self._stack.aclose())
        self.process.services = None
        log.info("worker_stopped worker=%s", services.name)
        if self.process.state.unhealthy:
            log.error("worker_exit_unhealthy worker=%s reason=%s", services.name, self.process.state.unhealthy)
            os._exit(EXIT_UNHEALTHY)


async def hand_back_after(state: WorkerState, grace_s: float) -> None:
    """Shutdown: after ``grace_s``, cancel the operations that have not reached their save
    (they go back to the journal unfailed); a save in flight is left to finish."""
    deadline = time.monotonic() + grace_s
    while state.running and time.monotonic() < deadline:
        await asyncio.sleep(DEFAULT_HAND_BACK_POLL_S)
    for op_id, task in list(state.running.items()):
        if op_id not in state.committing and not task.done():
            log.warning("op_handed_back op_id=%s reason=shutdown", op_id)
            state.handing_back.add(op_id)
            task.cancel()


def stop_this_worker() -> None:
    """Ask this worker process to stop gracefully, as a SIGTERM would."""
    os.kill(os.getpid(), signal.SIGTERM)


def _dump_tasks() -> None:
    loop_thread = get_event_loop_thread()
    if loop_thread is None:
        return

    def dump() -> None:
        for task in asyncio.all_tasks(loop_thread.loop):
            frames = " <- ".join(
                f"{f.f_code.co_name}:{f.f_lineno}" for f in reversed(task.get_stack(limit=30))
            )
            log.warning("task_dump task=%s at %s", task.get_name(), frames)

    loop_thread.loop.call_soon_threadsafe(dump)
