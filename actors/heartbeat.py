"""Each worker process says it is alive: ``archibot:heartbeat:{host}:{pid}`` in Redis, with a TTL.

The body carries what the API's ``/metrics`` and ``/readyz`` need from this process
(browser contexts, the worker's and its Chromium's RSS), so those are right across
processes and hosts without any in-process counter. A dead worker's key expires; a
stopping one deletes it as its shutdown begins.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import time
from typing import TYPE_CHECKING, Any

import dramatiq
from dramatiq.asyncio import get_event_loop_thread
from dramatiq.middleware import Middleware

from actors.periodic import Periodic
from archibot.keys import heartbeat_key
from pool import procstat

if TYPE_CHECKING:
    from actors.services import WorkerProcess

log = logging.getLogger("archibot.heartbeat")

#: The longest one refresh of the key may take (the next one comes a third of the TTL later).
DEFAULT_BEAT_TIMEOUT_S = 5.0


class Heartbeat(Middleware):
    """Refreshes this worker's heartbeat key every third of ``ttl_s``, on the event loop,
    with the process's Redis client."""

    def __init__(self, process: WorkerProcess, ttl_s: int) -> None:
        self.process = process
        self.ttl_s = ttl_s
        self._key = ""
        self._started = 0.0
        self._slots = 0
        self._loop: Periodic | None = None

    def after_worker_boot(self, broker: dramatiq.Broker, worker_: Any) -> None:
        loop_thread = get_event_loop_thread()
        if loop_thread is None or self.process.services is None:
            return  # the boot failed (the process exits) or there is no event loop to beat on
        self._key = heartbeat_key(socket.gethostname(), os.getpid())
        # What it can run at once: a thread each, within its browser's contexts.
        self._slots = min(int(getattr(worker_, "worker_threads", 1)),
                          self.process.settings.contexts_per_browser)
        self._started = time.time()
        self._loop = Periodic(
            "heartbeat", self._beat, tick_s=self.ttl_s / 3, first_after_s=0,
            stopping=lambda: self.process.state.stopping, step_timeout_s=DEFAULT_BEAT_TIMEOUT_S,
            logger=log,
        )
        loop_thread.run_coroutine(self._start())

    def before_worker_shutdown(self, broker: dramatiq.Broker, worker_: Any) -> None:
        loop_thread = get_event_loop_thread()
        if loop_thread is not None and self._loop is not None:
            loop_thread.run_coroutine(self._stop())

    async def _start(self) -> None:
        assert self._loop is not None
        self._loop.start()

    async def _stop(self) -> None:
        assert self._loop is not None
        await self._loop.stop()
        services = self.process.services
        if services is None:
            return
        with contextlib.suppress(Exception):  # Redis unreachable: the key expires anyway
            await services.redis.delete(self._key)

    async def _beat(self) -> None:
        services = self.process.services
        if services is not None:
            await services.redis.set(self._key, json.dumps(self._body()), ex=self.ttl_s)

    def _body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "worker": f"{socket.gethostname()}:{os.getpid()}",
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "started_at": self._started,
            "at": time.time(),
            "worker_rss_bytes": procstat.rss_bytes([os.getpid()]),
            "slots": self._slots,
        }
        services = self.process.services
        if services is None:
            return body
        stats = services.pool.stats()
        body.update(
            contexts_open=stats.get("contexts_open", 0),
            contexts_in_use=stats.get("contexts_in_use", 0),
            browser_launches=stats.get("launches", 0),
            browser_recycles=stats.get("recycles", 0),
            new_pages=stats.get("new_pages", 0),
            new_page_ms_p50=stats.get("new_page_ms_p50"),
            new_page_ms_max=stats.get("new_page_ms_max"),
            chromium_rss_bytes=procstat.rss_bytes(services.pool.pids),
        )
        return body
