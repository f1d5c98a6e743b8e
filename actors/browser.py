"""The middleware that owns this worker process's services and its one Chromium.

Chromium is launched at worker boot (on the AsyncIO middleware's event loop)
and closed at shutdown; the pool relaunches it if it dies in between.
"""

from __future__ import annotations

import logging
from typing import Any

import dramatiq
from dramatiq.asyncio import get_event_loop_thread
from dramatiq.middleware import Middleware

from actors import worker
from archibot.settings import Settings

log = logging.getLogger("archibot.worker")


class BrowserPoolMiddleware(Middleware):
    """Starts the worker context (store, lock, Chromium) at boot; closes it at shutdown."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def after_worker_boot(self, broker: dramatiq.Broker, worker_: Any) -> None:
        loop_thread = get_event_loop_thread()
        if loop_thread is None:
            raise RuntimeError("the AsyncIO middleware must come before BrowserPoolMiddleware")
        context = worker.WorkerContext(self.settings)
        loop_thread.run_coroutine(context.start())
        worker.set_current(context)
        log.info("worker_ready worker=%s chromium_pid=%s", context.name, context.pool.stats().get("chromium_pid"))

    def before_worker_shutdown(self, broker: dramatiq.Broker, worker_: Any) -> None:
        # Operations still running finish; nothing new is claimed.
        try:
            worker.current().stopping = True
        except RuntimeError:
            pass

    def after_worker_shutdown(self, broker: dramatiq.Broker, worker_: Any) -> None:
        # After-hooks run in reverse order: this runs before AsyncIO stops the event loop,
        # and after the worker threads (and so the operations) have finished.
        loop_thread = get_event_loop_thread()
        try:
            context = worker.current()
        except RuntimeError:
            return
        if loop_thread is not None:
            loop_thread.run_coroutine(context.close())
        worker.set_current(None)
        log.info("worker_stopped worker=%s", context.name)
